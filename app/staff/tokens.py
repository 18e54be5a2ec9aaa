"""Admin pages for API tokens: create (the key is shown once) with scopes and expiry, revoke."""

from datetime import datetime, time

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField, SubmitField, widgets
from wtforms.fields import SelectMultipleField
from wtforms.validators import DataRequired, Length, Optional

from app.api import services
from app.api.models import SCOPES, ApiToken
from app.auth.models import User, UserRole
from app.auth.reauth import recent_auth_required
from app.core.errors import DomainError
from app.core.forms import FlaskForm, apply_error
from app.core.jobs import commit
from app.core.security import roles_required
from app.core.timeutil import organisation_tz
from app.extensions import db
from app.staff.forms import ConfirmForm
from app.staff.routes import bp

SCOPE_LABELS = {
    "members:read": _l("Read members"),
    "members:write": _l("Change members"),
    "checkin": _l("Check-in"),
    "polls": _l("Polls"),
    "events": _l("Events"),
}


class TokenForm(FlaskForm):
    user_id = SelectField(
        _l("Acts as"),
        coerce=int,
        description=_l("You, or a service account with the roles the system needs."),
    )
    name = StringField(
        _l("Token name"),
        validators=[DataRequired(), Length(max=100)],
        description=_l("For example the scanner app or the system that syncs."),
    )
    scopes = SelectMultipleField(
        _l("What the token may do"),
        choices=[(scope, SCOPE_LABELS[scope]) for scope in SCOPES],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validators=[DataRequired(message=_l("Choose at least one of the offered scopes."))],
    )
    expires_on = DateField(
        _l("Valid until"),
        validators=[Optional()],
        description=_l("Leave empty for a token that works until it is revoked."),
    )
    submit = SubmitField(_l("Create token"))


def _user_choices() -> list[tuple[int, str]]:
    """Me first, then the other active accounts holding a staff role (service accounts)."""
    others = db.session.scalars(
        select(User)
        .where(
            User.id != current_user.id,
            User.is_active_account.is_(True),
            User.roles.any(UserRole.id.is_not(None)),
        )
        .order_by(User.name, User.id)
    ).all()
    me = (current_user.id, _("Me (%(name)s)", name=current_user.name))
    return [me] + [(user.id, f"{user.name} <{user.email}>") for user in others]


@bp.route("/tokens/", methods=["GET", "POST"])
@roles_required("admin")
@recent_auth_required(methods=("POST",))
def tokens():
    form = TokenForm()
    form.user_id.choices = _user_choices()
    new_key = None
    if form.validate_on_submit():
        user = db.session.get(User, form.user_id.data)
        expires_at = (
            datetime.combine(form.expires_on.data, time.max, tzinfo=organisation_tz())
            if form.expires_on.data
            else None
        )
        try:
            _token, new_key = services.create_token(
                user, form.name.data, current_user, form.scopes.data, expires_at
            )
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            form = TokenForm(formdata=None)
            form.user_id.choices = _user_choices()
    rows = db.session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())).all()
    return render_template(
        "staff/tokens.html",
        form=form,
        tokens=rows,
        new_key=new_key,
        revoke_form=ConfirmForm(),
        scope_labels=SCOPE_LABELS,
    )


@bp.post("/tokens/<int:token_id>/revoke")
@roles_required("admin")
def token_revoke(token_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.revoke_token(token_id, current_user)
    except DomainError:
        abort(404)
    commit()  # every worker refuses the token from now on (app/api/services.look_up_token)
    flash(_("The token is revoked."), "success")
    return redirect(url_for("staff.tokens"))
