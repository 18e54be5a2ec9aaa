"""Staff CSV import of members (role `membership`): upload, preview, then one write."""

from __future__ import annotations

import hashlib

from flask import abort, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from app.core.errors import DomainError
from app.core.jobs import commit
from app.core.security import roles_required
from app.core.storage import get_storage, new_key
from app.extensions import db
from app.members import importer
from app.members.forms import ImportConfirmForm, ImportForm
from app.staff import bp

PREVIEW_VALID_ROWS = 200

IMPORT_SESSION_KEY = "member_import"


@bp.route("/members/import", methods=["GET", "POST"])
@roles_required("membership")
def members_import():
    form = ImportForm()
    result = confirm_form = None
    if form.validate_on_submit():
        data = form.file.data.read()
        result = importer.preview(data)
        if result.ok:
            key = new_key("imports", "csv")
            get_storage().save("private", key, data, "text/csv")
            session[IMPORT_SESSION_KEY] = {"key": key, "sha": hashlib.sha256(data).hexdigest()}
            confirm_form = ImportConfirmForm(upload=key)
    return render_template(
        "members/staff/import.html",
        form=form,
        result=result,
        confirm_form=confirm_form,
        limit=PREVIEW_VALID_ROWS,
        columns=importer.IMPORT_COLUMNS,
        required=importer.REQUIRED_COLUMNS,
    ), (422 if result is not None and not result.ok else 200)


@bp.post("/members/import/confirm")
@roles_required("membership")
def members_import_confirm():
    form = ImportConfirmForm()
    pending = session.get(IMPORT_SESSION_KEY) or {}
    if not form.validate_on_submit() or form.upload.data != pending.get("key"):
        flash(_("This import is no longer waiting. Upload the file again."), "warning")
        return redirect(url_for("staff.members_import"))
    storage = get_storage()
    data = storage.read("private", pending["key"])
    if hashlib.sha256(data).hexdigest() != pending.get("sha"):
        abort(400)
    try:
        count = importer.write(data, current_user.id)
        commit()
    except (DomainError, IntegrityError) as exc:
        db.session.rollback()
        message = (
            exc.message
            if isinstance(exc, DomainError)
            else _(
                "Someone changed the members while you imported; nothing was imported. Try again."
            )
        )
        flash(str(message), "danger")
        return redirect(url_for("staff.members_import"))
    session.pop(IMPORT_SESSION_KEY, None)
    storage.delete("private", pending["key"])
    flash(
        ngettext("%(num)d member is imported.", "%(num)d members are imported.", count), "success"
    )
    return redirect(url_for("staff.members", sort="newest"))
