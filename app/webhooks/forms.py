"""Forms of the webhook staff pages."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, SubmitField, URLField, widgets
from wtforms.fields import SelectMultipleField
from wtforms.validators import DataRequired, Length

from app.core.forms import FlaskForm
from app.webhooks.models import EVENTS


class EndpointForm(FlaskForm):
    url = URLField(
        _l("URL"),
        validators=[DataRequired(), Length(max=500)],
        description=_l("The address that receives the events, starting with https://."),
    )
    description = StringField(_l("Description"), validators=[Length(max=200)])
    events = SelectMultipleField(
        _l("Events to send"),
        choices=list(EVENTS.items()),
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validate_choice=True,
    )
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))
