"""The forms part of the personal data export, and forgetting a person's answers."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import selectinload

from app.events.models import Registration
from app.extensions import db
from app.forms.models import Answer, Form, Participation, Response


def _iso(value):
    return value.isoformat() if value else None


def personal_data(user) -> dict:
    """My named answers (surveys, intake forms, registration questions), the forms I answered
    (of an anonymous one only that I did: its answers carry no link to me), forms I made."""
    responses = db.session.scalars(
        select(Response)
        .where(Response.user_id == user.id)
        .options(selectinload(Response.answers).selectinload(Answer.question))
        .order_by(Response.submitted_at)
    ).all()
    answered = db.session.scalars(
        select(Form)
        .join(Participation, Participation.form_id == Form.id)
        .where(Participation.user_id == user.id)
        .order_by(Form.id)
    ).all()
    created = db.session.scalars(
        select(Form).where(Form.created_by_id == user.id).order_by(Form.id)
    ).all()
    locale = user.locale or "da"
    return {
        "form_answers": [
            {
                "form_id": r.form_id,
                "form": r.form.title(locale),
                "kind": r.form.kind,
                "event_id": r.form.event_id,
                "submitted_at": _iso(r.submitted_at),
                "answers": [
                    {"question": a.question.text(locale), "value": a.value}
                    for a in sorted(r.answers, key=lambda a: (a.question.position, a.question_id))
                ],
            }
            for r in responses
        ],
        # Surveys and intake forms answered; of an anonymous one only that I answered it.
        "forms_answered": [
            {"form_id": f.id, "form": f.title(locale), "anonymous": f.anonymous} for f in answered
        ],
        "forms_created": [
            {
                "form_id": f.id,
                "form": f.title(locale),
                "kind": f.kind,
                "created_at": _iso(f.created_at),
            }
            for f in created
        ],
    }


def forget_respondent(user_id: int) -> None:
    """Delete the person's named answers (also those given with registrations); anonymous answers
    stay, and their participation rows lose the link to the person (the count stays)."""
    registration_ids = select(Registration.id).where(Registration.user_id == user_id)
    mine = select(Response.id).where(
        (Response.user_id == user_id) | Response.registration_id.in_(registration_ids)
    )
    db.session.execute(
        delete(Answer)
        .where(Answer.response_id.in_(mine))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        delete(Response).where(Response.id.in_(mine)).execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Participation)
        .where(Participation.user_id == user_id)
        .values(user_id=None)
        .execution_options(synchronize_session=False)
    )
