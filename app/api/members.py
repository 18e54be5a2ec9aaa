"""The member-sync API: GET /api/v1/members, GET|PATCH /api/v1/members/<id> (role membership).

The national ID is read-only here; reading it in full is audit-logged (one entry per request).
Test records are left out unless ?include_test=1.
"""

from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import defaultload, subqueryload

from app.api.auth import token_required
from app.api.member_schemas import IncludeTestArgs, MemberListArgs, MemberSchema
from app.api.routes import bp
from app.api.schemas import page, page_of, patch_body
from app.api.spec import errors
from app.auth.models import User
from app.core import audit
from app.core.errors import DomainError, NotFound
from app.core.jobs import commit
from app.extensions import db
from app.members import national_id
from app.members.consents import consents_of, consents_of_many, set_consents
from app.members.directory import MemberFilter, member_query
from app.members.models import GroupMember, Membership
from app.members.records import ADDRESS_FIELDS, STAFF_FIELDS, update_record

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


def _get(member_id: int, include_test: bool) -> Membership:
    m = db.session.get(Membership, member_id)
    if m is None or (m.is_test and not include_test):
        raise NotFound(_("No such member."))
    return m


@bp.get("/members", tags=["members"])
@token_required("membership")
@bp.arguments(MemberListArgs, location="query", as_kwargs=True)
@bp.response(200, page_of(MemberSchema))
def members_list(limit: int, offset: int, **args):
    """List members (test records left out by default).

    Filters combine. The national IDs returned are audit-logged.
    """
    flt = MemberFilter.from_args(request.args)
    stmt = member_query(flt).order_by(None).order_by(Membership.id)
    if args.get("national_id"):
        stmt = stmt.where(Membership.national_id_hash == national_id.lookup(args["national_id"]))
    if args.get("updated_since"):
        stmt = stmt.where(Membership.updated_at >= args["updated_since"])
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
    return page(results, count, limit, offset)


@bp.get("/members/<int:member_id>", tags=["members"])
@token_required("membership")
@errors(404)
@bp.arguments(IncludeTestArgs, location="query", as_kwargs=True)
@bp.response(200, MemberSchema)
def member_get(member_id: int, include_test: bool):
    """One member."""
    m = _get(member_id, include_test)
    body = member_json(m, _number(m))
    if m.national_id_encrypted:
        _record_reveal([m.id], m.id, m.user_id)
    commit()
    return body


@bp.patch("/members/<int:member_id>", tags=["members"])
@token_required("membership")
@errors(404, 409)
@bp.arguments(IncludeTestArgs, location="query", as_kwargs=True)
@bp.arguments(patch_body(MemberSchema))
@bp.response(200, MemberSchema)
def member_patch(data: dict, member_id: int, include_test: bool):
    """Change fields of a member (field-level audit).

    Send only the fields to change. Read-only fields (national_id, email, id, ...) and unknown
    fields answer 422 with the field named in error.fields. DELETE answers 405.
    """
    m = _get(member_id, include_test)
    if m.anonymised_at is not None:
        raise DomainError(_("This record is anonymised and cannot be changed."))
    values = {**data.pop("address", {}), **data}
    unions = values.pop("unions", None)
    consents = values.pop("consents", None)
    try:
        update_record(
            m,
            values,
            g.api_user.id,
            allowed=WRITABLE,
            # (a partial body leaves out defaults, also inside the unions)
            unions=None
            if unions is None
            else [(u.get("union", ""), u.get("member_number", "")) for u in unions],
        )
        if consents is not None:
            set_consents(m.user, consents, actor_id=g.api_user.id, source="api")
    except DomainError:
        db.session.rollback()
        raise
    if m.national_id_encrypted:
        _record_reveal([m.id], m.id, m.user_id)
    commit()
    return member_json(m, _number(m))
