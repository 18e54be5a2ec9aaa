"""Answering forms: checking each answer by its question's kind, and saving a response.

Registration questions are saved with the registration, in its transaction. Surveys and intake
forms take one answer per person: a Participation row (unique form and person) is inserted in
the response's transaction, so two simultaneous submits leave exactly one response.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, exists, insert, select
from sqlalchemy.exc import IntegrityError

from app.core.errors import Conflict, DomainError, Forbidden
from app.core.timeutil import utcnow
from app.extensions import db
from app.forms.models import CHOICE_KINDS, Answer, Form, Participation, Question, Response
from app.forms.services import NUMBER_LIMIT
from app.members.models import GroupMember, Membership

TEXT_LIMITS = {"short_text": 500, "long_text": 5000}
_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?$")


class InvalidAnswers(DomainError):
    """Some answers do not fit their questions; `errors` maps question id to a message."""

    def __init__(self, errors: dict[int, object]):
        super().__init__(_l("Some answers need a second look."), field="answers")
        self.errors = errors
        self.fields = {f"answers.{qid}": [str(message)] for qid, message in errors.items()}


class AlreadyAnswered(Conflict):
    code = "already_answered"


class NotInAudience(Forbidden):
    code = "not_eligible"


class FormClosed(Conflict):
    code = "closed"


def _empty(value) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or value == []


def _option_ids(question: Question, value) -> list[int] | None:
    """The chosen option ids, or None when one of them is not an option of the question."""
    values = value if isinstance(value, list | tuple) else [value]
    allowed = {option.id for option in question.active_options}
    chosen: list[int] = []
    for item in values:
        if isinstance(item, bool) or not isinstance(item, int | str):
            return None
        text = str(item).strip()
        if not text.isdigit() or int(text) not in allowed:
            return None
        if int(text) not in chosen:
            chosen.append(int(text))
    return chosen


def _number(question: Question, value):
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None, _l("Give a number.")
    text = str(value).strip()
    if not _NUMBER.match(text):
        return None, _l("Give a number.")
    number = float(text.replace(",", "."))
    if abs(number) > NUMBER_LIMIT:
        return None, _l("Give a number.")
    number = int(number) if number == int(number) else number
    if question.min_value is not None and number < question.min_value:
        return None, _l("Give a number of at least %(min)s.", min=question.min_value)
    if question.max_value is not None and number > question.max_value:
        return None, _l("Give a number of at most %(max)s.", max=question.max_value)
    return number, None


def check_answer(question: Question, value):
    """(the value to store, None) or (None, an error message) for one answer."""
    kind = question.kind
    if kind in TEXT_LIMITS:
        if not isinstance(value, str):
            return None, _l("Write your answer as text.")
        text = value.strip()
        if len(text) > TEXT_LIMITS[kind]:
            return None, _l("Write at most %(n)d characters.", n=TEXT_LIMITS[kind])
        return text, None
    if kind in CHOICE_KINDS:
        chosen = _option_ids(question, value)
        if chosen is None or (kind == "one_choice" and len(chosen) != 1):
            return None, _l("Choose one of the choices given.")
        return (chosen[0] if kind == "one_choice" else chosen), None
    if kind == "number":
        return _number(question, value)
    if kind == "scale":
        text = str(value).strip() if isinstance(value, int | str) and value is not True else ""
        if text not in ("1", "2", "3", "4", "5"):
            return None, _l("Choose a point from 1 to 5.")
        return int(text), None
    if kind == "date":
        try:
            return date.fromisoformat(str(value).strip()).isoformat(), None
        except ValueError:
            return None, _l("Give a date (year-month-day).")
    if kind == "yes_no":
        if value in (True, "yes", "true", "1", 1):
            return True, None
        if value in (False, "no", "false", "0", 0):
            return False, None
        return None, _l("Answer yes or no.")
    return None, _l("Choose one of the choices given.")


def validate(form: Form, raw: Mapping | None) -> dict[int, object]:
    """Check the answers ({question id: value}) against the form's questions, all at once.

    Keys may be ids or their text (the JSON API sends strings). Raises InvalidAnswers naming
    every answer that is missing or does not fit; unknown question ids are ignored.
    """
    if raw is not None and not isinstance(raw, Mapping):
        raise InvalidAnswers({0: _l("Send the answers as an object of question ids.")})
    given = {str(key).strip(): value for key, value in (raw or {}).items()}
    values: dict[int, object] = {}
    errors: dict[int, object] = {}
    for question in form.active_questions:
        value = given.get(str(question.id))
        if _empty(value):
            if question.required:
                errors[question.id] = _l("Answer this question.")
            continue
        if isinstance(value, list | tuple) and question.kind not in CHOICE_KINDS:
            value = value[0] if len(value) == 1 else value
        checked, error = check_answer(question, value)
        if error is not None:
            errors[question.id] = error
        elif not _empty(checked):
            values[question.id] = checked
    if errors:
        raise InvalidAnswers(errors)
    return values


def _store(form: Form, values: dict[int, object], **response) -> Response:
    record = Response(form_id=form.id, **response)
    db.session.add(record)
    db.session.flush()
    if values:
        db.session.execute(
            insert(Answer),
            [{"response_id": record.id, "question_id": q, "value": v} for q, v in values.items()],
        )
    return record


# Registration questions ----------------------------------------------------------------------


def event_form(event_id: int) -> Form | None:
    """The registration questions an event asks now (its form, when open), or None."""
    return db.session.scalar(select(Form).where(Form.event_id == event_id, Form.status == "open"))


def save_for_registration(form: Form, registration, values: dict[int, object]) -> Response:
    """Save the answers as part of the registration (replacing those of an earlier one)."""
    db.session.execute(delete(Response).where(Response.registration_id == registration.id))
    return _store(
        form,
        values,
        user_id=registration.user_id,
        registration_id=registration.id,
        locale=registration.locale or getattr(registration.user, "locale", None),
        submitted_at=utcnow(),
    )


# Surveys and intake forms --------------------------------------------------------------------


def audience_problem(form: Form, user) -> str | None:
    """Why this person may not answer the form ('login', 'not_verified', 'audience'), or None."""
    if not getattr(user, "is_authenticated", False):
        return "login"
    if not user.is_verified:
        return "not_verified"
    if form.audience == "users":
        return None
    member = select(Membership.id).where(
        Membership.user_id == user.id, Membership.status == "active"
    )
    if form.audience == "group":
        member = member.join(GroupMember, GroupMember.membership_id == Membership.id).where(
            GroupMember.group_id == form.group_id
        )
    return None if db.session.scalar(member.limit(1)) else "audience"


def has_answered(form: Form, user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(Participation.form_id == form.id, Participation.user_id == user.id)
            )
        )
    )


def _participate(form: Form, user) -> bool:
    """Insert the participation row; False when the person has one already (the guard)."""
    try:
        with db.session.begin_nested():
            db.session.execute(insert(Participation).values(form_id=form.id, user_id=user.id))
    except IntegrityError:
        return False
    return True


def submit(form: Form, user, raw: Mapping | None, locale: str) -> Response:
    """Answer a survey or intake form once. Anonymous: the response holds no person and no time."""
    if form.kind == "event" or form.status != "open":
        raise FormClosed(_l("This form is not open for answers."))
    if audience_problem(form, user) is not None:
        raise NotInAudience(_l("This form is not open to you."))
    values = validate(form, raw)
    if not _participate(form, user):
        raise AlreadyAnswered(_l("You have already answered this form."))
    if form.anonymous:
        return _store(form, values)
    return _store(form, values, user_id=user.id, locale=locale, submitted_at=utcnow())


def from_formdata(form: Form, formdata) -> tuple[dict[str, object], dict[str, object]]:
    """(answers by question id, values by field name to show again) from a posted web form."""
    raw: dict[str, object] = {}
    shown: dict[str, object] = {}
    for question in form.active_questions:
        name = f"q{question.id}"
        if question.kind == "many_choices":
            value: object = formdata.getlist(name)
        else:
            value = formdata.get(name, "")
        raw[str(question.id)] = value
        shown[name] = value
    return raw, shown
