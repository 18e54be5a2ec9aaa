"""Forms of the inbox: the contact form, messages, staff replies, notes, state and assignee."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from app.core.forms import FlaskForm

MESSAGE_MAX = 5000


class ContactForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        _l("Your e-mail address"), validators=[DataRequired(), Email(), Length(max=320)]
    )
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    message = TextAreaField(
        _l("Message"),
        validators=[DataRequired(), Length(max=MESSAGE_MAX)],
        render_kw={"rows": 6},
    )
    # A field people never see (hidden by CSS, skipped by screen readers): bots fill it in.
    website = StringField(_l("Leave this field empty"), validators=[Optional()])
    # Signed: when the form was shown, and a one-time key against double submits.
    token = HiddenField()
    submit = SubmitField(_l("Send"))


class NewMessageForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    message = TextAreaField(
        _l("Message"),
        validators=[DataRequired(), Length(max=MESSAGE_MAX)],
        render_kw={"rows": 6},
    )
    submit = SubmitField(_l("Send"))


class ReplyForm(FlaskForm):
    message = TextAreaField(
        _l("Reply"),
        validators=[DataRequired(), Length(max=MESSAGE_MAX)],
        render_kw={"rows": 5},
    )
    submit = SubmitField(_l("Send reply"))


class NoteForm(FlaskForm):
    note = TextAreaField(
        _l("Internal note"),
        validators=[DataRequired(), Length(max=MESSAGE_MAX)],
        render_kw={"rows": 3},
        description=_l("Only staff see notes; the person never does."),
    )
    submit = SubmitField(_l("Add note"))


class StateForm(FlaskForm):
    state = SelectField(_l("State"), validators=[DataRequired()])
    submit = SubmitField(_l("Change state"))


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Assignee"))  # "" (nobody) is one of its choices
    submit = SubmitField(_l("Assign"))
