"""Forms for newsletters: the public subscribe form and the staff forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SubmitField
from wtforms.validators import DataRequired, Length


class SubscribeForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])
    submit = SubmitField(_l("Subscribe"))


class UnsubscribeForm(FlaskForm):
    submit = SubmitField(_l("Unsubscribe"))
