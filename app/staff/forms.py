"""Staff forms for users, roles and jobs."""

from flask_babel import lazy_gettext as _l
from wtforms import SubmitField, widgets
from wtforms.fields import SelectMultipleField

from app.core.forms import FlaskForm
from app.core.security import ROLE_LABELS


class RolesForm(FlaskForm):
    roles = SelectMultipleField(
        _l("Roles"),
        choices=list(ROLE_LABELS.items()),
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validate_choice=True,
    )
    submit = SubmitField(_l("Save roles"))


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("Confirm"))
