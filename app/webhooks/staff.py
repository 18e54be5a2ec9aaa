"""Staff pages of webhooks (/staff/webhooks/...), for admins."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from app.core.errors import DomainError
from app.core.forms import apply_error
from app.core.jobs import commit
from app.core.security import roles_required
from app.extensions import db
from app.staff.forms import ConfirmForm
from app.webhooks import services
from app.webhooks.forms import EndpointForm
from app.webhooks.models import EVENTS, WebhookDelivery, WebhookEndpoint

# Nested under the staff blueprint by the factory: /staff/webhooks/...
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

DELIVERIES_PER_PAGE = 25


@bp.get("/")
@roles_required("admin")
def endpoints():
    rows = db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()
    failed = dict(
        db.session.execute(
            select(WebhookDelivery.endpoint_id, func.count())
            .where(WebhookDelivery.state == "failed")
            .group_by(WebhookDelivery.endpoint_id)
        ).all()
    )
    return render_template(
        "webhooks/endpoints.html", endpoints=rows, failed=failed, event_labels=EVENTS
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def endpoint_new():
    form = EndpointForm()
    if form.validate_on_submit():
        try:
            endpoint, secret = services.create_endpoint(
                form.url.data, form.events.data, form.description.data, current_user.id
            )
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The webhook endpoint is saved."), "success")
            return _detail(endpoint, secret=secret, new=True)
    return render_template("webhooks/form.html", form=form, endpoint=None)


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    return db.get_or_404(WebhookEndpoint, endpoint_id)


def _detail(endpoint: WebhookEndpoint, secret: str | None = None, new: bool = False):
    page = db.paginate(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc()),
        page=request.args.get("page", 1, type=int) if request.method == "GET" else 1,
        per_page=DELIVERIES_PER_PAGE,
        error_out=False,
    )
    return render_template(
        "webhooks/detail.html",
        endpoint=endpoint,
        page=page,
        secret=secret,
        new=new,
        event_labels=EVENTS,
        confirm=ConfirmForm(),
    )


@bp.get("/<int:endpoint_id>")
@roles_required("admin")
def endpoint_detail(endpoint_id: int):
    return _detail(_endpoint_or_404(endpoint_id))


@bp.route("/<int:endpoint_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def endpoint_edit(endpoint_id: int):
    endpoint = _endpoint_or_404(endpoint_id)
    form = EndpointForm(obj=endpoint)
    if form.validate_on_submit():
        try:
            services.update_endpoint(
                endpoint,
                form.url.data,
                form.events.data,
                form.description.data,
                form.active.data,
                current_user.id,
            )
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The webhook endpoint is saved."), "success")
            return redirect(url_for("staff.webhooks.endpoint_detail", endpoint_id=endpoint.id))
    return render_template("webhooks/form.html", form=form, endpoint=endpoint)


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.post("/<int:endpoint_id>/secret")
@roles_required("admin")
def endpoint_secret(endpoint_id: int):
    """Show the secret to an admin (audited)."""
    _confirmed()
    endpoint = _endpoint_or_404(endpoint_id)
    secret = services.reveal_secret(endpoint, current_user.id)
    commit()
    return _detail(endpoint, secret=secret)


@bp.post("/<int:endpoint_id>/rotate")
@roles_required("admin")
def endpoint_rotate(endpoint_id: int):
    """Give the endpoint a new secret, shown once."""
    _confirmed()
    endpoint = _endpoint_or_404(endpoint_id)
    secret = services.rotate_secret(endpoint, current_user.id)
    commit()
    flash(_("The endpoint has a new secret. Deliveries are signed with it from now on."), "success")
    return _detail(endpoint, secret=secret, new=True)


@bp.post("/<int:endpoint_id>/delete")
@roles_required("admin")
def endpoint_delete(endpoint_id: int):
    _confirmed()
    services.delete_endpoint(_endpoint_or_404(endpoint_id), current_user.id)
    commit()
    flash(_("The webhook endpoint is deleted."), "success")
    return redirect(url_for("staff.webhooks.endpoints"))


@bp.post("/deliveries/<int:delivery_id>/redeliver")
@roles_required("admin")
def delivery_redeliver(delivery_id: int):
    _confirmed()
    try:
        again = services.redeliver(delivery_id, current_user.id)
    except DomainError:
        abort(404)
    commit()
    flash(_("The event is sent again."), "success")
    return redirect(url_for("staff.webhooks.endpoint_detail", endpoint_id=again.endpoint_id))
