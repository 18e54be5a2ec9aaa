"""Forms of passkeys and single sign-on."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length

from app.core.forms import FlaskForm


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class PasskeyNameForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("Rename"))


class ConfirmLinkForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField(_l("Link and log in"))


class CompleteSignUpForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    accept_privacy = BooleanField(
        _l("I have read and accept the privacy policy"),
        validators=[InputRequired(message=_l("You must accept the privacy policy."))],
    )
    submit = SubmitField(_l("Create account"))
