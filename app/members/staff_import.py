"""Staff CSV import of members (role `membership`): upload, a check job, confirm, a write job.

The page polls a small JSON status while a job runs (app/static/js/member-import.js).
"""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select, update

from app.core.exports import table_response
from app.core.jobs import commit, enqueue_after_commit
from app.core.security import roles_required
from app.extensions import db
from app.members import importer, tasks
from app.members.columns import column_label
from app.members.forms import ImportConfirmForm, ImportForm
from app.members.models import IMPORT_BUSY_STATES, MemberImport
from app.members.staff import bp


def _page(form: ImportForm, member_import: MemberImport | None = None, status: int = 200):
    waiting = None
    if member_import is None:  # back on the upload page: the import still running or waiting
        waiting = db.session.scalar(
            select(MemberImport)
            .where(
                MemberImport.created_by_id == current_user.id,
                MemberImport.state.in_((*IMPORT_BUSY_STATES, "ready")),
            )
            .order_by(MemberImport.id.desc())
            .limit(1)
        )
    confirm_form = None
    if member_import is not None and member_import.state == "ready":
        confirm_form = ImportConfirmForm(upload=str(member_import.id))
    return render_template(
        "members/staff/import.html",
        form=form,
        imp=member_import,
        waiting=waiting,
        confirm_form=confirm_form,
        columns=[column_label(c) for c in importer.IMPORT_COLUMNS],
        required=[column_label(c) for c in importer.REQUIRED_COLUMNS],
        column_choices=_column_choices(),
        column_names=dict(_column_choices()),
        skip=importer.SKIP,
        confirm_form_columns=ImportConfirmForm(),
    ), status


def _column_choices() -> list[tuple[str, str]]:
    """What an unknown header may be mapped to: a column the import reads, by its name."""
    return [(c, column_label(c)) for c in importer.IMPORT_COLUMNS]


# An example row for the template: a person the import accepts as it is.
TEMPLATE_EXAMPLE = {
    "full_name": "Anna Jensen",
    "email": "anna.jensen@example.org",
    "phone": "+45 12 34 56 78",
    "street": "Nørregade",
    "house_number": "12",
    "postal_code": "8000",
    "city": "Aarhus",
    "country": "DK",
    "joined_on": "2024-03-01",
    "newsletter": "yes",
    "language": "da",
}


@bp.get("/import/template.csv", defaults={"fmt": "csv"})
@bp.get("/import/template.xlsx", defaults={"fmt": "xlsx"})
@roles_required("membership")
def members_import_template(fmt: str):
    """A file to fill in: every column the import reads, headed in the reader's language."""
    headers = [column_label(c) for c in importer.IMPORT_COLUMNS]
    example = [TEMPLATE_EXAMPLE.get(c, "") for c in importer.IMPORT_COLUMNS]
    return table_response("members-template", headers, [example], fmt)


@bp.post("/import/<int:import_id>/columns")
@roles_required("membership")
def members_import_columns(import_id: int):
    """Headers staff mapped by hand to columns (or left out); the file is checked again."""
    form = ImportConfirmForm()
    if not form.validate_on_submit() or form.upload.data != str(import_id):
        abort(400)
    member_import = _import(import_id)
    result = dict(member_import.result or {})
    known = {c for c, _label in _column_choices()} | {importer.SKIP}
    mapping = dict(result.get("mapping") or {})
    for n, header in enumerate(result.get("unknown_columns") or []):
        chosen = request.form.get(f"column-{n}", "")
        if chosen in known:
            mapping[header] = chosen
    # Only an import waiting for its columns (file still kept) goes back to the check.
    return _move_on(import_id, "invalid", state="queued", result={**result, "mapping": mapping})


def _move_on(import_id: int, waiting_in: str, **values):
    """Move an import still in `waiting_in` with its file kept on to its next job (one
    conditional UPDATE, so a double submit moves it once), or say it no longer waits."""
    moved = db.session.execute(
        update(MemberImport)
        .where(
            MemberImport.id == import_id,
            MemberImport.state == waiting_in,
            MemberImport.file_key.is_not(None),
        )
        .values(progress=0, **values)
    ).rowcount
    if not moved:
        db.session.rollback()
        flash(_("This import is no longer waiting. Upload the file again."), "warning")
        return redirect(url_for(".members_import"))
    enqueue_after_commit(tasks.run_import, import_id)
    commit()
    return redirect(url_for(".members_import_show", import_id=import_id))


@bp.route("/import", methods=["GET", "POST"])
@roles_required("membership")
def members_import():
    form = ImportForm()
    if form.validate_on_submit():
        member_import = tasks.save_upload(form.file.data.read(), current_user.id)
        enqueue_after_commit(tasks.run_import, member_import.id)
        commit()
        return redirect(url_for(".members_import_show", import_id=member_import.id))
    return _page(form, status=422 if form.errors else 200)


def _import(import_id: int) -> MemberImport:
    return db.get_or_404(MemberImport, import_id)


@bp.get("/import/<int:import_id>")
@roles_required("membership")
def members_import_show(import_id: int):
    member_import = _import(import_id)
    failed = member_import.state in ("invalid", "failed")
    return _page(ImportForm(), member_import, status=422 if failed else 200)


@bp.get("/import/<int:import_id>/status")
@roles_required("membership")
def members_import_status(import_id: int):
    member_import = _import(import_id)
    return jsonify(
        {
            "state": member_import.state,
            "busy": member_import.busy,
            "progress": member_import.progress,
            "total_rows": member_import.total_rows,
            "imported": member_import.imported_count,
        }
    )


@bp.post("/import/<int:import_id>/confirm")
@roles_required("membership")
def members_import_confirm(import_id: int):
    form = ImportConfirmForm()
    if not form.validate_on_submit() or form.upload.data != str(import_id):
        abort(400)
    # Only a checked file that is still waiting can be confirmed, and only once.
    return _move_on(import_id, "ready", state="confirmed")
