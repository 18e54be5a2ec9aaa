"""Admin pages for API tokens: create (the key is shown once) and revoke."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from app.api import services
from app.api.models import ApiToken
from app.auth.services import find_user_by_email
from app.core.errors import DomainError
from app.core.forms import apply_error
from app.core.jobs import commit
from app.core.security import roles_required
from app.extensions import db
from app.staff.forms import ConfirmForm
from app.staff.routes import bp


class TokenForm(FlaskForm):
    email = EmailField(_l("User's e-mail address"), validators=[DataRequired(), Length(max=320)])
    name = StringField(
        _l("Token name"),
        validators=[DataRequired(), Length(max=100)],
        description=_l("For example the scanner app or the system that syncs."),
    )
    submit = SubmitField(_l("Create token"))


@bp.route("/tokens/", methods=["GET", "POST"])
@roles_required("admin")
def tokens():
    form = TokenForm()
    new_key = None
    if form.validate_on_submit():
        user = find_user_by_email(form.email.data)
        if user is None:
            form.email.errors = [_("No user has that e-mail address.")]
        else:
            try:
                _token, new_key = services.create_token(user, form.name.data, current_user)
            except DomainError as exc:
                db.session.rollback()
                apply_error(form, exc)
            else:
                commit()
                form = TokenForm(formdata=None)
    rows = db.session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())).all()
    return render_template(
        "staff/tokens.html", form=form, tokens=rows, new_key=new_key, revoke_form=ConfirmForm()
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
    commit()  # every worker refuses the token from now on (app/api/services.token_user)
    flash(_("The token is revoked."), "success")
    return redirect(url_for("staff.tokens"))
