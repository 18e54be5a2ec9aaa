"""Reading answers: results per question, tables for export, answers beside registrations and
on a member's record."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from statistics import mean, median

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.forms.models import CHOICE_KINDS, Answer, Form, Participation, Question, Response

TEXT_KINDS = ("short_text", "long_text")


def display(question: Question, value, locale: str) -> str:
    """An answer as a person reads it, in the locale (removed options keep their label)."""
    if value is None:
        return ""
    if question.kind in CHOICE_KINDS:
        labels = {option.id: option.label(locale) for option in question.options}
        ids = value if isinstance(value, list) else [value]
        return "; ".join(labels.get(i, "?") for i in ids)
    if question.kind == "yes_no":
        return _("Yes") if value else _("No")
    if question.kind == "date":
        try:
            return format_date(date.fromisoformat(value), "medium")
        except (TypeError, ValueError):
            return str(value)
    if question.kind in ("number", "scale"):
        return format_decimal(value)
    return str(value)


def question_label(question: Question, locale: str) -> str:
    """The question's text, marked when it has been taken off the form."""
    text = question.text(locale)
    return _("%(question)s (removed)", question=text) if question.removed_at else text


def shown_questions(form: Form) -> list[Question]:
    """The active questions, then removed ones that still have answers."""
    removed = [q for q in form.questions if q.removed_at is not None]
    answered = set()
    if removed:
        answered = set(
            db.session.scalars(
                select(Answer.question_id)
                .where(Answer.question_id.in_([q.id for q in removed]))
                .distinct()
            )
        )
    return form.active_questions + [q for q in removed if q.id in answered]


def response_counts(form_ids: list[int]) -> dict[int, int]:
    """How many people answered each form (participations for surveys, responses otherwise)."""
    if not form_ids:
        return {}
    counts = dict(
        db.session.execute(
            select(Response.form_id, func.count())
            .where(Response.form_id.in_(form_ids))
            .group_by(Response.form_id)
        ).all()
    )
    return counts


@dataclass
class QuestionResult:
    """One question's results: the answered count, and a chart's rows or the texts given."""

    question: Question
    label: str
    answered: int = 0
    rows: list[tuple[str, int]] = field(default_factory=list)  # (label, count) for the chart
    average: float | None = None
    lowest: float | None = None
    highest: float | None = None
    middle: float | None = None
    texts: list[str] = field(default_factory=list)

    @property
    def chart(self) -> dict:
        return {"labels": [label for label, _n in self.rows], "counts": [n for _l, n in self.rows]}


def summarise(form: Form, locale: str) -> tuple[int, list[QuestionResult]]:
    """(responses, a result per shown question)."""
    total = db.session.scalar(select(func.count()).where(Response.form_id == form.id)) or 0
    values: dict[int, list] = defaultdict(list)
    for question_id, value in db.session.execute(
        select(Answer.question_id, Answer.value)
        .join(Response, Response.id == Answer.response_id)
        .where(Response.form_id == form.id)
        .order_by(Answer.response_id)  # random keys: no order of arrival
    ):
        values[question_id].append(value)
    return total, [_summarise_question(q, values[q.id], locale) for q in shown_questions(form)]


def _summarise_question(question: Question, given: list, locale: str) -> QuestionResult:
    result = QuestionResult(question, question_label(question, locale), answered=len(given))
    kind = question.kind
    if kind in CHOICE_KINDS:
        counts = Counter(i for v in given for i in (v if isinstance(v, list) else [v]))
        options = [o for o in question.options if o.removed_at is None or counts[o.id]]
        result.rows = [(option.label(locale), counts[option.id]) for option in options]
    elif kind == "yes_no":
        counts = Counter(bool(v) for v in given)
        result.rows = [(_("Yes"), counts[True]), (_("No"), counts[False])]
    elif kind == "scale":
        counts = Counter(given)
        result.rows = [(str(point), counts[point]) for point in range(1, 6)]
    if kind in ("scale", "number") and given:
        numbers = [float(v) for v in given]
        result.average, result.middle = mean(numbers), median(numbers)
        result.lowest, result.highest = min(numbers), max(numbers)
    if kind in ("number", "date") and given:
        counts = Counter(given)
        result.rows = [(display(question, v, locale), counts[v]) for v in sorted(counts)][:30]
    if kind in TEXT_KINDS:
        result.texts = [v for v in given if v]
    return result


def table(form: Form, locale: str) -> tuple[list[str], list[list]]:
    """Headers and rows: one row per response, the questions as columns."""
    questions = shown_questions(form)
    responses = db.session.scalars(
        select(Response)
        .where(Response.form_id == form.id)
        .options(selectinload(Response.answers), selectinload(Response.user))
        .order_by(Response.id)  # random keys: the order tells nothing about who answered when
    ).all()
    people = not form.anonymous
    headers = [_("Answered"), _("Name"), _("E-mail address")] if people else []
    headers += [question_label(q, locale) for q in questions]
    rows = []
    for response in responses:
        answers = {a.question_id: a.value for a in response.answers}
        row = []
        if people:
            user = response.user
            row = [
                response.submitted_at,
                user.name if user else "",
                user.email if user else "",
            ]
        row += [_cell(q, answers.get(q.id), locale) for q in questions]
        rows.append(row)
    return headers, rows


def _cell(question: Question, value, locale: str):
    if value is None:
        return ""
    if question.kind in ("number", "scale"):
        return value
    if question.kind == "date":
        return value  # ISO (year-month-day): sorts, and every spreadsheet reads it
    return display(question, value, locale)


# Beside registrations ------------------------------------------------------------------------


def registration_answers(event_id: int, registration_ids: list[int], locale: str):
    """(the questions shown, {registration id: {question id: answer as text}})."""
    form = db.session.scalar(select(Form).where(Form.event_id == event_id))
    return form_answers(form, registration_ids, locale)


def form_answers(form: Form | None, registration_ids: list[int], locale: str):
    """`registration_answers` for an event form already read (the event page reads it with the
    event)."""
    if form is None:
        return [], {}
    questions = shown_questions(form)
    answers: dict[int, dict[int, str]] = defaultdict(dict)
    if registration_ids:
        by_id = {q.id: q for q in questions}
        for registration_id, question_id, value in db.session.execute(
            select(Response.registration_id, Answer.question_id, Answer.value)
            .join(Answer, Answer.response_id == Response.id)
            .where(Response.registration_id.in_(registration_ids))
        ):
            if question_id in by_id:
                answers[registration_id][question_id] = display(by_id[question_id], value, locale)
    return questions, answers


# On a member's record ------------------------------------------------------------------------


def intake_answers(user_id: int | None, locale: str) -> list[tuple[Form, Response, list]]:
    """The person's answers to intake forms: (form, response, [(question label, answer)])."""
    if user_id is None:
        return []
    responses = db.session.scalars(
        select(Response)
        .join(Form, Form.id == Response.form_id)
        .where(Response.user_id == user_id, Form.kind == "intake")
        .options(selectinload(Response.answers).selectinload(Answer.question))
        .order_by(Response.submitted_at.desc())
    ).all()
    shown = []
    for response in responses:
        answers = sorted(response.answers, key=lambda a: (a.question.position, a.question_id))
        rows = [
            (question_label(a.question, locale), display(a.question, a.value, locale))
            for a in answers
        ]
        shown.append((response.form, response, rows))
    return shown


def answered_forms(user_id: int) -> set[int]:
    """The ids of the surveys and intake forms this person has answered."""
    return set(
        db.session.scalars(select(Participation.form_id).where(Participation.user_id == user_id))
    )
