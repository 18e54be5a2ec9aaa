"""The membership part of the personal data export (/account/data.json).

Staff notes are included: they are data about the person, and the right of access (GDPR art. 15)
covers them. The author of a note is left out (that is data about a staff member, art. 15(4)).
"""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.members import national_id
from app.members.models import Consent, ConsentEvent, MemberImport, Membership


def _iso(value):
    return value.isoformat() if value else None


def personal_data(user: User) -> dict:
    """Membership, consents and their history, groups, titles and staff notes of one person."""
    membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
    consents = db.session.scalars(select(Consent).where(Consent.user_id == user.id)).all()
    consent_events = db.session.scalars(
        select(ConsentEvent).where(ConsentEvent.user_id == user.id).order_by(ConsentEvent.at)
    ).all()
    imports = db.session.scalars(
        select(MemberImport).where(MemberImport.created_by_id == user.id).order_by(MemberImport.id)
    ).all()
    data: dict = {
        # Member imports this person uploaded as staff: when and how they ended, not the rows
        # (those are about the people imported).
        "member_imports_uploaded": [
            {
                "id": i.id,
                "state": i.state,
                "rows": i.total_rows,
                "imported": i.imported_count,
                "created_at": _iso(i.created_at),
                "finished_at": _iso(i.finished_at),
            }
            for i in imports
        ],
        "membership": None,
        "consents": {
            c.kind: {"given": c.given, "changed_at": _iso(c.changed_at)} for c in consents
        },
        "consent_history": [
            {
                "consent": e.kind,
                "given": e.given,
                "at": _iso(e.at),
                "by_me": e.by_id == user.id,
                "source": e.source,
                "text": e.text,
            }
            for e in consent_events
        ],
        "groups": [],
        "titles": [],
        "staff_notes": [],
    }
    if membership is None:
        return data
    number = national_id.decrypt(membership.national_id_encrypted)
    data["membership"] = {
        "id": membership.id,
        "status": membership.status,
        "national_id": national_id.display(membership.national_id_country, number),
        "national_id_country": membership.national_id_country,
        "full_name": membership.full_name,
        "birthday": _iso(membership.birthday),
        "gender": membership.gender,
        "phone": membership.phone,
        "secondary_email": membership.secondary_email,
        "address": {
            "street": membership.street,
            "house_number": membership.house_number,
            "apartment": membership.apartment,
            "postal_code": membership.postal_code,
            "city": membership.city,
            "municipality": membership.municipality,
            "region": membership.region,
            "country": membership.country,
        },
        "job_title": membership.job_title,
        "housing": membership.housing,
        "joined_on": _iso(membership.joined_on),
        "ended_on": _iso(membership.ended_on),
        "applied_at": _iso(membership.applied_at),
        "decided_at": _iso(membership.decided_at),
        "decision_reason": membership.decision_reason,
        "erasure_requested_at": _iso(membership.erasure_requested_at),
        "unions": [{"union": u.union, "member_number": u.member_number} for u in membership.unions],
        "history": [
            {
                "action": e.action,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "reason": e.reason,
                "at": _iso(e.at),
                "by_me": e.by_id == user.id,
            }
            for e in membership.history
        ],
    }
    data["groups"] = [
        {
            "group": link.group.name,
            "slug": link.group.slug,
            "role": link.role,
            "custom_role": link.custom_role,
            "joined_at": _iso(link.joined_at),
        }
        for link in membership.group_links
    ]
    data["titles"] = [
        {
            "title": t.kind,
            "custom_title": t.custom_title,
            "group": t.group.name if t.group else None,
            "starts_on": _iso(t.starts_on),
            "ends_on": _iso(t.ends_on),
        }
        for t in membership.titles
    ]
    data["staff_notes"] = [
        {"text": n.text, "tags": n.tags, "created_at": _iso(n.created_at)} for n in membership.notes
    ]
    return data
