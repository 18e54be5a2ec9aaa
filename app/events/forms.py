"""Event forms: the organiser's event form, registrations by hand, messages, registering."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from app.core.forms import FlaskForm
from app.core.i18n import LANGUAGE_NAMES
from app.core.markdown import MARKDOWN_HELP
from app.core.timeutil import organisation_tz
from app.events.services import EventFields

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def to_utc(local: datetime | None) -> datetime | None:
    """A time entered in the organisation's timezone, as an aware datetime."""
    if local is None:
        return None
    return local.replace(tzinfo=organisation_tz())


def to_local(value: datetime | None) -> datetime | None:
    """A stored time as the naive local time a datetime-local input shows."""
    if value is None:
        return None
    return value.astimezone(organisation_tz()).replace(tzinfo=None)


class EventForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    summary = StringField(
        _l("Summary"),
        validators=[Optional(), Length(max=500)],
        description=_l("One or two sentences, shown in lists and when the event is shared."),
    )
    description = TextAreaField(
        _l("Description"),
        render_kw={"rows": 10, "data-markdown-editor": "1"},
        description=MARKDOWN_HELP,
    )
    starts_at = DateTimeLocalField(_l("Starts"), format=LOCAL_FORMAT, validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Ends"), format=LOCAL_FORMAT, validators=[DataRequired()])
    venue_name = StringField(_l("Venue"), validators=[Optional(), Length(max=200)])
    street = StringField(_l("Street address"), validators=[Optional(), Length(max=200)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=20)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    country = StringField(_l("Country"), validators=[Optional(), Length(max=100)])
    online_url = URLField(
        _l("Online link"),
        validators=[Optional(), Length(max=500)],
        description=_l("For an online event, or as well as the venue."),
    )
    capacity = IntegerField(
        _l("Capacity"),
        validators=[Optional()],
        description=_l("Number of seats. Leave empty for no limit."),
    )
    registration_opens_at = DateTimeLocalField(
        _l("Registration opens"),
        format=LOCAL_FORMAT,
        validators=[Optional()],
        description=_l("Leave empty to open when the event is published."),
    )
    registration_closes_at = DateTimeLocalField(
        _l("Registration closes"),
        format=LOCAL_FORMAT,
        validators=[Optional()],
        description=_l("Leave empty to close when the event starts."),
    )
    members_only = BooleanField(_l("Members only (an active membership is needed to register)"))
    waiting_list_enabled = BooleanField(_l("Waiting list when the event is full"), default=True)
    terms = TextAreaField(
        _l("Registration terms"),
        render_kw={"rows": 4},
        description=_l(
            "People must accept these to register. A change makes a new version; "
            "each registration records the version accepted."
        ),
    )
    image = FileField(_l("Image"), description=_l("JPEG, PNG, WebP or GIF, at most 5 MB."))
    slug = StringField(
        _l("Web address"),
        validators=[Optional(), Length(max=80)],
        description=_l("The last part of the event's address. Old addresses keep working."),
    )
    submit = SubmitField(_l("Save"))

    def fields_data(self) -> EventFields:
        """The entered values, with local times converted to aware datetimes."""
        return EventFields(
            title=self.title.data or "",
            summary=self.summary.data or "",
            description=self.description.data or "",
            starts_at=to_utc(self.starts_at.data),
            ends_at=to_utc(self.ends_at.data),
            venue_name=self.venue_name.data or "",
            street=self.street.data or "",
            postal_code=self.postal_code.data or "",
            city=self.city.data or "",
            country=self.country.data or "",
            online_url=self.online_url.data or "",
            capacity=self.capacity.data,
            registration_opens_at=to_utc(self.registration_opens_at.data),
            registration_closes_at=to_utc(self.registration_closes_at.data),
            members_only=bool(self.members_only.data),
            waiting_list_enabled=bool(self.waiting_list_enabled.data),
            terms=self.terms.data or "",
            slug=(self.slug.data or "").strip() or None,
        )

    def fill_from(self, data: EventFields) -> None:
        for name in (
            "title", "summary", "description", "venue_name", "street", "postal_code", "city",
            "country", "online_url", "capacity", "members_only", "waiting_list_enabled",
            "terms", "slug",
        ):  # fmt: skip
            getattr(self, name).data = getattr(data, name)
        for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
            getattr(self, name).data = to_local(getattr(data, name))


class AddRegistrationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=320)])
    locale = SelectField(
        _l("Language for e-mails"),
        choices=list(LANGUAGE_NAMES.items()),
        description=_l("Used when the person has no account; otherwise their own language."),
    )
    submit = SubmitField(_l("Add"))


class MessageForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Message"), validators=[DataRequired()], render_kw={"rows": 8})
    preview = SubmitField(_l("Preview"))
    test = SubmitField(_l("Send a test to me"))
    submit = SubmitField(_l("Send to all confirmed attendees"))


class RegisterForm(FlaskForm):
    accept_terms = BooleanField(_l("I accept the registration terms"))
    submit = SubmitField(_l("Register"))


class ActionForm(FlaskForm):
    """A button that changes something (CSRF only)."""

    submit = SubmitField(_l("Confirm"))
