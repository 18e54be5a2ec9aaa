"""Forms for newsletters: the public subscribe form and the staff forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.core.forms import FlaskForm
from app.news.forms import MARKDOWN


def _int_or_none(value):
    return int(value) if value not in (None, "", "None") else None


class SubscribeForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])
    submit = SubmitField(_l("Subscribe"))


class UnsubscribeForm(FlaskForm):
    submit = SubmitField(_l("Unsubscribe"))


class NewsletterForm(FlaskForm):
    """A newsletter: the original language, a subject and Markdown body per language, audience."""

    language = SelectField(_l("Original language"), choices=[])
    subject_da = StringField(_l("Subject (Danish)"), validators=[Optional(), Length(max=200)])
    body_da = TextAreaField(_l("Text (Danish)"), render_kw=MARKDOWN)
    subject_en = StringField(_l("Subject (English)"), validators=[Optional(), Length(max=200)])
    body_en = TextAreaField(_l("Text (English)"), render_kw=MARKDOWN)
    subject_is = StringField(_l("Subject (Icelandic)"), validators=[Optional(), Length(max=200)])
    body_is = TextAreaField(_l("Text (Icelandic)"), render_kw=MARKDOWN)
    audience = SelectField(_l("Send to"), choices=[])
    group_id = SelectField(_l("Group"), coerce=_int_or_none, choices=[])
    event_id = SelectField(_l("Event"), coerce=_int_or_none, choices=[])
    required_notice = BooleanField(
        _l("Required notice to members (a general meeting): sent without the newsletter consent")
    )
    members_only = BooleanField(_l("Members only in the archive"))
    submit = SubmitField(_l("Save"))

    def texts(self) -> dict[str, tuple[str, str]]:
        return {
            locale: (
                getattr(self, f"subject_{locale}").data or "",
                getattr(self, f"body_{locale}").data or "",
            )
            for locale in ("da", "en", "is")
        }


class ActionForm(FlaskForm):
    submit = SubmitField(_l("Go"))


class MailLayoutForm(FlaskForm):
    """The look of every e-mail: the association's name, colour and logo."""

    name = StringField(_l("Name in e-mails"), validators=[Optional(), Length(max=200)])
    colour = StringField(
        _l("Colour"), validators=[DataRequired(), Length(min=7, max=7)], render_kw={"type": "color"}
    )
    logo = FileField(_l("Logo (PNG, JPEG or GIF)"))
    remove_logo = BooleanField(_l("Remove the logo"))
    submit = SubmitField(_l("Save"))
