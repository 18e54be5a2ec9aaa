"""The builder's web forms: a form's settings and texts, and a question with its choices."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from app.core.forms import FlaskForm
from app.core.security import MAX_ID
from app.forms.models import LOCALES
from app.forms.services import NUMBER_LIMIT, FormSettings, QuestionFields

QUESTION_KIND_LABELS = {
    "short_text": _l("Short text"),
    "long_text": _l("Long text"),
    "one_choice": _l("One choice"),
    "many_choices": _l("Several choices"),
    "number": _l("Number"),
    "scale": _l("Scale 1–5"),
    "date": _l("Date"),
    "yes_no": _l("Yes or no"),
}
FORM_KIND_LABELS = {
    "event": _l("Registration questions"),
    "survey": _l("Survey"),
    "intake": _l("Intake form"),
}
AUDIENCE_LABELS = {
    "users": _l("Everyone with an account"),
    "members": _l("Members"),
    "group": _l("A group"),
}
STATUS_LABELS = {"draft": _l("Draft"), "open": _l("Open"), "closed": _l("Closed")}


class ActionForm(FlaskForm):
    """A button that changes something (only the CSRF token)."""


def _per_language(cls, name: str, field_factory) -> None:
    for locale in LOCALES:
        setattr(cls, f"{name}_{locale}", field_factory())


class SettingsForm(FlaskForm):
    """Title and introduction per language; who may answer, anonymous or not, the address."""

    audience = SelectField(
        _l("Who may answer"), choices=[(k, v) for k, v in AUDIENCE_LABELS.items()]
    )
    group_id = SelectField(_l("Group"), choices=[], validate_choice=False)
    anonymous = BooleanField(
        _l("Anonymous: answers are not linked to the person"),
    )
    slug = StringField(
        _l("Address (/forms/...)"),
        validators=[Optional(), Length(max=100)],
        description=_l("Leave empty to make one from the title."),
    )

    def settings(self) -> FormSettings:
        texts = {
            locale: {
                "title": getattr(self, f"title_{locale}").data or "",
                "intro": getattr(self, f"intro_{locale}").data or "",
            }
            for locale in LOCALES
        }
        group = self.group_id.data
        return FormSettings(
            texts=texts,
            audience=self.audience.data,
            group_id=int(group) if str(group or "").isdigit() and int(group) <= MAX_ID else None,
            anonymous=bool(self.anonymous.data),
            slug=self.slug.data or "",
        )

    def fill_from(self, form) -> None:
        for locale in LOCALES:
            texts = (form.texts or {}).get(locale, {})
            getattr(self, f"title_{locale}").data = texts.get("title", "")
            getattr(self, f"intro_{locale}").data = texts.get("intro", "")
        self.audience.data = form.audience
        self.group_id.data = str(form.group_id or "")
        self.anonymous.data = form.anonymous
        self.slug.data = form.slug


_per_language(SettingsForm, "title", lambda: StringField(_l("Title"), validators=[Length(max=200)]))
_per_language(
    SettingsForm,
    "intro",
    lambda: TextAreaField(_l("Introduction"), validators=[Length(max=4000)], render_kw={"rows": 4}),
)


class QuestionForm(FlaskForm):
    """One question: kind, required, text and help per language, choices, number range."""

    kind = SelectField(_l("Kind"), choices=[(k, v) for k, v in QUESTION_KIND_LABELS.items()])
    required = BooleanField(_l("An answer is required"))
    min_value = IntegerField(
        _l("Lowest number"),
        validators=[Optional(), NumberRange(-NUMBER_LIMIT, NUMBER_LIMIT)],
        description=_l("Only for numbers."),
    )
    max_value = IntegerField(
        _l("Highest number"),
        validators=[Optional(), NumberRange(-NUMBER_LIMIT, NUMBER_LIMIT)],
        description=_l("Only for numbers."),
    )

    def fields(self) -> QuestionFields:
        return QuestionFields(
            kind=self.kind.data,
            required=bool(self.required.data),
            texts={
                locale: {
                    "text": getattr(self, f"text_{locale}").data or "",
                    "help": getattr(self, f"help_{locale}").data or "",
                }
                for locale in LOCALES
            },
            options={
                locale: [
                    line
                    for line in (getattr(self, f"options_{locale}").data or "").splitlines()
                    if line.strip()
                ]
                for locale in LOCALES
            },
            min_value=self.min_value.data,
            max_value=self.max_value.data,
        )

    def fill_from(self, question) -> None:
        self.kind.data, self.required.data = question.kind, question.required
        self.min_value.data, self.max_value.data = question.min_value, question.max_value
        for locale in LOCALES:
            texts = (question.texts or {}).get(locale, {})
            getattr(self, f"text_{locale}").data = texts.get("text", "")
            getattr(self, f"help_{locale}").data = texts.get("help", "")
            getattr(self, f"options_{locale}").data = "\n".join(
                (option.labels or {}).get(locale, "") for option in question.active_options
            )


_per_language(
    QuestionForm, "text", lambda: StringField(_l("Question"), validators=[Length(max=500)])
)
_per_language(
    QuestionForm, "help", lambda: StringField(_l("Help text"), validators=[Length(max=1000)])
)
_per_language(
    QuestionForm,
    "options",
    lambda: TextAreaField(
        _l("Choices, one per line"),
        validators=[Length(max=10000)],
        render_kw={"rows": 5},
        description=_l("Only for one choice and several choices; same order in each language."),
    ),
)
