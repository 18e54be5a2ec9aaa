"""The member-sync API: GET /api/v1/members, GET|PATCH /api/v1/members/<id> (role membership).

The national ID is read-only here; reading it in full is audit-logged (one entry per request).
Test records are left out unless ?include_test=1.
"""

from __future__ import annotations

from datetime import datetime

from flask import g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import defaultload, subqueryload

from app.api.auth import token_required
from app.api.routes import bp, json_body, page_params, page_response
from app.auth.models import User
from app.core import audit
from app.core.errors import DomainError, NotFound
from app.core.jobs import commit
from app.extensions import db
from app.members import national_id
from app.members.consents import consents_of, consents_of_many, set_consents
from app.members.directory import MemberFilter, member_query
from app.members.models import GroupMember, Membership
from app.members.records import ADDRESS_FIELDS, STAFF_FIELDS, STATUS_NOT_EDITABLE, update_record

READ_ONLY = (
    "id",
    "user_id",
    "email",
    "national_id",
    "national_id_country",
    "national_id_masked",
    "ended_on",
    "groups",
    "updated_at",
)
WRITABLE = (*STAFF_FIELDS,)


def _iso(value):
    return value.isoformat() if value else None


def member_json(m: Membership, number: str, consents: dict[str, bool] | None = None) -> dict:
    """One member as the API shows it (consents looked up unless given, as for a whole page)."""
    return {
        "id": m.id,
        "user_id": m.user_id,
        "status": m.status,
        "full_name": m.full_name,
        "email": m.user.email,
        "national_id": number,
        "national_id_masked": m.national_id_masked,
        "national_id_country": m.national_id_country,
        "birthday": _iso(m.birthday),
        "gender": m.gender,
        "phone": m.phone,
        "secondary_email": m.secondary_email,
        "address": {f: getattr(m, f) for f in ADDRESS_FIELDS},
        "job_title": m.job_title,
        "housing": m.housing,
        "joined_on": _iso(m.joined_on),
        "ended_on": _iso(m.ended_on),
        "is_test": m.is_test,
        "unions": [{"union": u.union, "member_number": u.member_number} for u in m.unions],
        "consents": consents_of(m.user) if consents is None else consents,
        "groups": [{"slug": link.group.slug, "role": link.role} for link in m.group_links],
        "updated_at": _iso(m.updated_at),
    }


def _number(m: Membership) -> str:
    return national_id.display(m.national_id_country, national_id.decrypt(m.national_id_encrypted))


def _record_reveal(ids: list[int], object_id: int | None, subject_user_id: int | None) -> None:
    if ids:
        audit.record(
            "member.national_id_revealed",
            "membership",
            object_id,
            after={"via": "api", "membership_ids": ids},
            actor_id=g.api_user.id,
            subject_user_id=subject_user_id,
        )


def _get(member_id: int) -> Membership:
    m = db.session.get(Membership, member_id)
    include_test = request.args.get("include_test") in ("1", "true")
    if m is None or (m.is_test and not include_test):
        raise NotFound(_("No such member."))
    return m


@bp.get("/members")
@token_required("membership")
def members_list():
    limit, offset = page_params()
    flt = MemberFilter.from_args(request.args)
    stmt = member_query(flt).order_by(None).order_by(Membership.id)
    number = request.args.get("national_id")
    if number:
        stmt = stmt.where(Membership.national_id_hash == national_id.lookup(number))
    since = request.args.get("updated_since")
    if since:
        try:
            parsed = datetime.fromisoformat(since)
        except ValueError:
            raise DomainError(
                _("Give updated_since as an ISO 8601 time."), field="updated_since"
            ) from None
        if parsed.tzinfo is None:
            raise DomainError(
                _("Give updated_since with a timezone."), field="updated_since"
            ) from None
        stmt = stmt.where(Membership.updated_at >= parsed)
    count = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    # A page of up to 1,000 takes the same few queries: each collection is loaded with one query
    # (subqueryload; selectinload splits a page into IN lists of 500) and the consents with one.
    rows = db.session.scalars(
        stmt.limit(limit)
        .offset(offset)
        .options(
            subqueryload(Membership.unions),
            subqueryload(Membership.group_links).joinedload(GroupMember.group),
            defaultload(Membership.user).lazyload(User.roles),  # not shown here
        )
    ).all()
    consents = consents_of_many([m.user_id for m in rows])
    results = [member_json(m, _number(m), consents[m.user_id]) for m in rows]
    _record_reveal([m.id for m in rows if m.national_id_encrypted], None, None)
    commit()
    return page_response(results, count, limit, offset)


@bp.get("/members/<int:member_id>")
@token_required("membership")
def member_get(member_id: int):
    m = _get(member_id)
    body = member_json(m, _number(m))
    if m.national_id_encrypted:
        _record_reveal([m.id], m.id, m.user_id)
    commit()
    return jsonify(body)


def _patch_values(data: dict) -> tuple[dict, list | None, dict | None]:
    """Split a PATCH body into record fields, unions and consents; read-only or unknown keys
    answer 422 naming the field."""
    values: dict = {}
    unions = consents = None
    for key, value in data.items():
        if key in READ_ONLY:
            raise DomainError(_("This field is read-only."), field=key)
        if key == "status":
            raise DomainError(STATUS_NOT_EDITABLE, field=key)
        if key == "address":
            if not isinstance(value, dict):
                raise DomainError(_("The address is an object."), field="address")
            for part, part_value in value.items():
                if part not in ADDRESS_FIELDS:
                    raise DomainError(_("Unknown field."), field=f"address.{part}")
                values[part] = part_value
        elif key == "unions":
            if not isinstance(value, list) or not all(isinstance(u, dict) for u in value):
                raise DomainError(_("Unions are a list of objects."), field="unions")
            unions = [(str(u.get("union") or ""), str(u.get("member_number") or "")) for u in value]
        elif key == "consents":
            if not isinstance(value, dict) or not all(isinstance(v, bool) for v in value.values()):
                raise DomainError(_("Consents are an object of true/false values."), field=key)
            consents = value
        elif key in WRITABLE:
            values[key] = value
        else:
            raise DomainError(_("Unknown field."), field=key)
    return values, unions, consents


@bp.patch("/members/<int:member_id>")
@token_required("membership")
def member_patch(member_id: int):
    m = _get(member_id)
    if m.anonymised_at is not None:
        raise DomainError(_("This record is anonymised and cannot be changed."))
    values, unions, consents = _patch_values(json_body())
    try:
        update_record(m, values, g.api_user.id, allowed=WRITABLE, unions=unions)
        if consents is not None:
            set_consents(m.user, consents, actor_id=g.api_user.id, source="api")
    except DomainError:
        db.session.rollback()
        raise
    if m.national_id_encrypted:
        _record_reveal([m.id], m.id, m.user_id)
    commit()
    return jsonify(member_json(m, _number(m)))
