"""Staff home, users and roles, the audit log, failed jobs."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.auth import services as accounts
from app.auth.models import User
from app.auth.reauth import recent_auth_required
from app.core import relay
from app.core.audit import AuditEntry
from app.core.errors import DomainError
from app.core.forms import apply_error
from app.core.jobs import commit
from app.core.mail import OutboxMessage
from app.core.security import ROLE_LABELS, ROLES, has_role, roles_required, staff_required
from app.core.timeutil import utcnow
from app.extensions import db
from app.insights.dashboard import dashboard
from app.staff.forms import ConfirmForm, RolesForm

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("/")
@staff_required
def home():
    return render_template(
        "staff/home.html",
        parts=dashboard(current_user),
        now=utcnow(),
        stats_link=has_role(current_user, "membership", "organiser"),
    )


@bp.get("/users/")
@roles_required("admin")
def users():
    query = request.args.get("q", "").strip()[:100]
    role = request.args.get("role")
    if role not in ROLES:
        role = None
    page = db.paginate(accounts.search_users(query, role), per_page=50, error_out=False)
    return render_template(
        "staff/users.html", page=page, q=query, role=role, role_labels=ROLE_LABELS
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
@recent_auth_required(methods=("POST",))
def user_detail(user_id: int):
    user = db.get_or_404(User, user_id)
    form = RolesForm(roles=sorted(user.role_names))
    if form.validate_on_submit():
        try:
            accounts.set_roles(user, set(form.roles.data or []), current_user)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The roles are saved."), "success")
            return redirect(url_for("staff.user_detail", user_id=user.id))
    history = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject_user_id == user.id)
        .order_by(AuditEntry.at.desc())
        .limit(50)
    ).all()
    return render_template(
        "staff/user_detail.html", user=user, form=form, history=history, role_labels=ROLE_LABELS
    )


@bp.get("/audit/")
@roles_required("admin")
def audit_log():
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    action = request.args.get("action", "").strip()[:64]
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render_template("staff/audit.html", page=page, action=action)


JOB_STATE_LABELS = {
    "pending": _l("Waiting"),
    "running": _l("Running"),
    "failed": _l("Failed, will be retried"),
    "dead": _l("Dead (gave up)"),
}


@bp.get("/jobs/")
@roles_required("admin")
def jobs_list():
    state = request.args.get("state")
    states = (state,) if state in JOB_STATE_LABELS else ("failed", "dead", "running", "pending")
    failed_mail = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state == "failed")
        .order_by(OutboxMessage.created_at.desc())
        .limit(100)
    ).all()
    return render_template(
        "staff/jobs.html",
        overview=relay.overview(),
        rows=relay.open_jobs(states),
        state=state if state in JOB_STATE_LABELS else None,
        state_labels=JOB_STATE_LABELS,
        failed_mail=failed_mail,
        form=ConfirmForm(),
    )


@bp.post("/jobs/<int:job_id>/retry")
@roles_required("admin")
def job_retry(job_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if relay.retry(job_id):
        commit()
        flash(_("The job is queued again."), "success")
    else:
        flash(_("That job is no longer in the failed list."), "warning")
    return redirect(url_for("staff.jobs_list"))


@bp.post("/jobs/<int:job_id>/delete")
@roles_required("admin")
def job_delete(job_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if relay.discard(job_id):
        commit()
        flash(_("The job is deleted."), "success")
    else:
        flash(_("That job is running or already done, and was not deleted."), "warning")
    return redirect(url_for("staff.jobs_list"))
