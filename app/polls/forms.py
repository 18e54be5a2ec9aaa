"""Staff forms for polls: the poll's settings, a question with its options, and action buttons."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.core.forms import FlaskForm
from app.core.timeutil import organisation_tz
from app.polls.setup import PollFields, QuestionFields

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"

ELECTORATE_LABELS = {
    "members": _l("Active members"),
    "group": _l("Members of a group"),
    "event": _l("People confirmed for an event"),
    "users": _l("Every verified user"),
}
RESULTS_LABELS = {
    "after_close": _l("After voting closes"),
    "live": _l("Live, while voting is open"),
}
KIND_LABELS = {
    "yes_no": _l("Yes / no / abstain"),
    "single": _l("One choice"),
    "multiple": _l("Up to a number of choices"),
    "ranked": _l("Ranked (order the options)"),
}
STATUS_LABELS = {
    "draft": _l("Draft"),
    "scheduled": _l("Scheduled"),
    "open": _l("Open"),
    "closed": _l("Closed"),
    "published": _l("Results published"),
}


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _to_utc(local: datetime | None) -> datetime | None:
    return local.replace(tzinfo=organisation_tz()) if local else None


def _to_local(value: datetime | None) -> datetime | None:
    return value.astimezone(organisation_tz()).replace(tzinfo=None) if value else None


class PollForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), render_kw={"rows": 4})
    electorate_kind = SelectField(
        _l("Who may vote"),
        choices=list(ELECTORATE_LABELS.items()),
        description=_l(
            "In brackets: how many it admits now. The electorate is fixed when voting opens."
        ),
    )
    group_id = SelectField(
        _l("Group"), coerce=_optional_int, validate_choice=False, validators=[Optional()]
    )
    event_id = SelectField(
        _l("Event"), coerce=_optional_int, validate_choice=False, validators=[Optional()]
    )
    opens_at = DateTimeLocalField(_l("Voting opens"), format=LOCAL_FORMAT, validators=[Optional()])
    closes_at = DateTimeLocalField(
        _l("Voting closes"), format=LOCAL_FORMAT, validators=[Optional()]
    )
    secret = BooleanField(_l("Secret ballot (nobody can see who voted what)"), default=True)
    results_mode = SelectField(_l("Results are shown"), choices=list(RESULTS_LABELS.items()))
    may_change_vote = BooleanField(
        _l("Voters may change their vote until voting closes (open ballots only)")
    )
    reminder_hours_before = IntegerField(
        _l("Reminder, hours before closing"),
        validators=[Optional(), NumberRange(min=1, max=24 * 60)],
        description=_l("To those who have not voted yet. Leave empty for no reminder."),
    )
    submit = SubmitField(_l("Save"))

    def set_choices(self, groups, events, sizes: dict[str, int]) -> None:
        """The electorates, groups and events to choose from, each with how many it holds now."""
        self.electorate_kind.choices = [
            (kind, f"{label} ({sizes[kind]})" if kind in sizes else label)
            for kind, label in ELECTORATE_LABELS.items()
        ]
        self.group_id.choices = [("", "—")] + [
            (g.id, f"{g.name} ({g.member_count})") for g in groups
        ]
        self.event_id.choices = [("", "—")] + [
            (e.id, f"{e.title} ({e.confirmed_count})") for e in events
        ]

    def fields_data(self) -> PollFields:
        """The entered values, with local times as aware datetimes."""
        return PollFields(
            title=self.title.data or "",
            description=self.description.data or "",
            secret=bool(self.secret.data),
            results_mode=self.results_mode.data,
            may_change_vote=bool(self.may_change_vote.data),
            electorate_kind=self.electorate_kind.data,
            group_id=self.group_id.data,
            event_id=self.event_id.data,
            reminder_hours_before=self.reminder_hours_before.data,
            opens_at=_to_utc(self.opens_at.data),
            closes_at=_to_utc(self.closes_at.data),
        )

    def fill_from(self, data: PollFields) -> None:
        """Show a stored poll's settings."""
        for name in (
            "title", "description", "secret", "results_mode", "may_change_vote",
            "electorate_kind", "group_id", "event_id", "reminder_hours_before",
        ):  # fmt: skip
            getattr(self, name).data = getattr(data, name)
        self.opens_at.data = _to_local(data.opens_at)
        self.closes_at.data = _to_local(data.closes_at)


class QuestionForm(FlaskForm):
    text = StringField(_l("Question"), validators=[DataRequired(), Length(max=500)])
    kind = SelectField(_l("Kind"), choices=list(KIND_LABELS.items()))
    max_choices = IntegerField(
        _l("Most choices"),
        default=1,
        validators=[Optional(), NumberRange(min=1, max=100)],
        description=_l("For “up to a number of choices”."),
    )
    seats = IntegerField(
        _l("Seats"),
        default=1,
        validators=[Optional(), NumberRange(min=1, max=99)],
        description=_l(
            "For ranked questions: 1 is counted by instant runoff, more by the Single "
            "Transferable Vote (Droop quota)."
        ),
    )
    options = TextAreaField(
        _l("Options"),
        render_kw={"rows": 6},
        description=_l("One per line (candidates or answers). Not used for yes/no questions."),
    )
    submit = SubmitField(_l("Save question"))

    def fields_data(self) -> QuestionFields:
        """The entered question."""
        return QuestionFields(
            text=self.text.data or "",
            kind=self.kind.data,
            max_choices=self.max_choices.data or 1,
            seats=self.seats.data or 1,
            options=[line for line in (self.options.data or "").splitlines() if line.strip()],
        )

    def fill_from(self, question) -> None:
        """Show a stored question."""
        self.text.data = question.text
        self.kind.data = question.kind
        self.max_choices.data = question.max_choices
        self.seats.data = question.seats
        if question.kind != "yes_no":
            self.options.data = "\n".join(option.text for option in question.options)


class ActionForm(FlaskForm):
    """A button that changes something (CSRF only)."""

    submit = SubmitField(_l("Confirm"))
