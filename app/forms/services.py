"""Building forms: settings and texts, questions and their options, order, removal, status."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select

from app.core import audit
from app.core.errors import Conflict, DomainError
from app.core.security import has_role
from app.core.text import slugify
from app.core.timeutil import utcnow
from app.events.models import Event
from app.extensions import db
from app.forms.models import (
    AUDIENCES,
    CHOICE_KINDS,
    FORM_KINDS,
    LOCALES,
    QUESTION_KINDS,
    Answer,
    Form,
    Option,
    Question,
    Response,
)
from app.members.models import Group

# Who builds and reads each kind of form (admin always: has_role treats admin as every role).
KIND_ROLES = {
    "event": ("organiser",),
    "survey": ("membership", "editor"),
    "intake": ("membership",),
}
MAX_OPTIONS = 50
NUMBER_LIMIT = 10**9  # answers and ranges stay well inside a 32-bit integer


def may_manage(user, kind: str) -> bool:
    """Whether the user builds and reads forms of this kind."""
    return has_role(user, *KIND_ROLES[kind])


def kinds_for(user) -> list[str]:
    """The kinds of form this user may build."""
    return [kind for kind in FORM_KINDS if may_manage(user, kind)]


@dataclass
class FormSettings:
    """What the settings page sets: texts per language and, for surveys and intake, who answers."""

    texts: dict  # {"da": {"title": ..., "intro": ...}, ...}
    audience: str = "members"
    group_id: int | None = None
    anonymous: bool = False
    slug: str = ""


@dataclass
class QuestionFields:
    """A question as the builder's form gives it; options are lines, one list per language."""

    kind: str
    required: bool
    texts: dict  # {"da": {"text": ..., "help": ...}, ...}
    options: dict = field(default_factory=dict)  # {"da": ["Fish", ...], ...}
    min_value: int | None = None
    max_value: int | None = None


def _clean_texts(texts: dict, keys: tuple[str, ...], limits: dict[str, int]) -> dict:
    return {
        locale: {key: (texts.get(locale, {}).get(key) or "").strip()[: limits[key]] for key in keys}
        for locale in LOCALES
    }


def _unique_slug(base: str, form_id: int | None = None) -> str:
    slug, n = base, 1
    while db.session.scalar(
        select(Form.id).where(Form.slug == slug, Form.id != (form_id or 0)).limit(1)
    ):
        n += 1
        slug = f"{base[:110]}-{n}"
    return slug


def _apply_settings(form: Form, settings: FormSettings) -> None:
    texts = _clean_texts(settings.texts, ("title", "intro"), {"title": 200, "intro": 4000})
    if not any(texts[locale]["title"] for locale in LOCALES):
        raise DomainError(_l("Give the form a title in at least one language."), field="title_da")
    form.texts = texts
    if form.kind == "event":
        return
    if settings.audience not in AUDIENCES:
        raise DomainError(_l("Choose who may answer."), field="audience")
    if settings.audience == "group" and not (
        settings.group_id and db.session.get(Group, settings.group_id)
    ):
        raise DomainError(_l("Choose the group that may answer."), field="group_id")
    if settings.anonymous and form.kind != "survey":
        raise DomainError(_l("Only a survey can be anonymous."))
    if form.id and form.anonymous != settings.anonymous and has_responses(form):
        raise Conflict(
            _l("People have answered already: the form cannot change between anonymous and named.")
        )
    form.audience = settings.audience
    form.group_id = settings.group_id if settings.audience == "group" else None
    form.anonymous = settings.anonymous
    wanted = slugify(settings.slug or texts["da"]["title"] or form.title("en"), 100, "form")
    form.slug = _unique_slug(wanted, form.id)


def create_form(kind: str, settings: FormSettings, actor, event: Event | None = None) -> Form:
    """A new draft form of the kind; an event form is attached to its event."""
    if kind not in FORM_KINDS:
        raise DomainError(_l("Choose what kind of form this is."), field="kind")
    if kind == "event":
        if event is None:
            raise DomainError(_l("Registration questions belong to an event."))
        if db.session.scalar(select(Form.id).where(Form.event_id == event.id)):
            raise Conflict(_l("This event has registration questions already."))
        settings.audience, settings.anonymous = "users", False
    form = Form(kind=kind, status="draft", created_by_id=getattr(actor, "id", None))
    if event is not None:
        form.event_id = event.id
        form.slug = _unique_slug(f"event-{event.id}-questions")
    _apply_settings(form, settings)
    db.session.add(form)
    db.session.flush()
    audit.record("form.created", "form", form.id, after={"kind": kind}, actor_id=form.created_by_id)
    return form


def copy_event_questions(source: Event, target: Event, actor) -> Form | None:
    """The registration questions of `source` asked again by `target` (a duplicated event):
    the texts and the questions and options as they are asked now (removed ones stay behind),
    in the same state (an open form asks as soon as the copy is published); no answers."""
    original = db.session.scalar(select(Form).where(Form.event_id == source.id))
    if original is None:
        return None
    form = Form(
        kind="event",
        status="draft" if original.status == "closed" else original.status,
        texts=dict(original.texts or {}),
        audience="users",
        anonymous=False,
        event_id=target.id,
        slug=_unique_slug(f"event-{target.id}-questions"),
        created_by_id=getattr(actor, "id", None),
    )
    for position, asked in enumerate(original.active_questions, start=1):
        copy = Question(
            position=position,
            kind=asked.kind,
            required=asked.required,
            texts=dict(asked.texts or {}),
            min_value=asked.min_value,
            max_value=asked.max_value,
        )
        copy.options = [
            Option(position=n, labels=dict(option.labels or {}))
            for n, option in enumerate(asked.active_options)
        ]
        form.questions.append(copy)
    db.session.add(form)
    db.session.flush()
    audit.record(
        "form.created",
        "form",
        form.id,
        after={"kind": "event", "copied_from": original.id},
        actor_id=form.created_by_id,
    )
    return form


def update_settings(form: Form, settings: FormSettings) -> Form:
    """Change the texts and, for surveys and intake forms, the audience and address."""
    _apply_settings(form, settings)
    db.session.flush()
    return form


def has_responses(form: Form) -> bool:
    return bool(db.session.scalar(select(exists().where(Response.form_id == form.id))))


def _answered(question: Question) -> bool:
    return bool(db.session.scalar(select(exists().where(Answer.question_id == question.id))))


def _clean_number(value, name: str) -> int | None:
    if value is None or value == "":
        return None
    if not isinstance(value, int) or abs(value) > NUMBER_LIMIT:
        raise DomainError(_l("Give a whole number."), field=name)
    return value


def _check_question(fields: QuestionFields) -> tuple[dict, list[dict]]:
    if fields.kind not in QUESTION_KINDS:
        raise DomainError(_l("Choose the kind of question."), field="kind")
    texts = _clean_texts(fields.texts, ("text", "help"), {"text": 500, "help": 1000})
    if not any(texts[locale]["text"] for locale in LOCALES):
        raise DomainError(_l("Write the question in at least one language."), field="text_da")
    fields.min_value = _clean_number(fields.min_value, "min_value")
    fields.max_value = _clean_number(fields.max_value, "max_value")
    if (
        fields.min_value is not None
        and fields.max_value is not None
        and fields.min_value > fields.max_value
    ):
        raise DomainError(_l("The lowest number is above the highest."), field="max_value")
    labels: list[dict] = []
    if fields.kind in CHOICE_KINDS:
        lines = {
            locale: [line.strip()[:200] for line in fields.options.get(locale, [])]
            for locale in LOCALES
        }
        count = max(len(lines[locale]) for locale in LOCALES)
        labels = [
            {locale: lines[locale][n] if n < len(lines[locale]) else "" for locale in LOCALES}
            for n in range(count)
        ]
        labels = [label for label in labels if any(label.values())]
        if len(labels) < 2:
            raise DomainError(_l("Give at least two choices."), field="options_da")
        if len(labels) > MAX_OPTIONS:
            raise DomainError(_l("A question has at most 50 choices."), field="options_da")
    return texts, labels


def _same(option: Option, label: dict) -> bool:
    """The option that the new line names: same text in some language (a translation may change)."""
    return any(
        text and (option.labels or {}).get(locale, "").strip().lower() == text.lower()
        for locale, text in label.items()
    )


def _set_options(question: Question, labels: list[dict]) -> None:
    """Options matched by their text: kept ones get the new order and translations, new lines
    become options, and missing ones go (or, once chosen, are marked removed, so that old
    answers keep meaning what they meant: a changed text is a new option, never a relabel)."""
    unmatched = list(question.active_options)
    for n, label in enumerate(labels):
        option = next((o for o in unmatched if _same(o, label)), None)
        if option is None:
            question.options.append(Option(labels=label, position=n))
        else:
            unmatched.remove(option)
            option.labels, option.position = label, n
    now = utcnow()
    for option in unmatched:
        _remove_option(option, now)


def _remove_option(option: Option, now) -> None:
    if _option_chosen(option):
        option.removed_at = now
    else:
        option.question.options.remove(option)
        db.session.delete(option)


def _option_chosen(option: Option) -> bool:
    values = db.session.scalars(
        select(Answer.value).where(Answer.question_id == option.question_id)
    )
    return any(isinstance(v, list) and option.id in v or v == option.id for v in values)


def add_question(form: Form, fields: QuestionFields) -> Question:
    """Add a question at the end of the form."""
    texts, labels = _check_question(fields)
    position = (
        db.session.scalar(select(func.max(Question.position)).where(Question.form_id == form.id))
        or 0
    ) + 1
    question = Question(
        position=position,
        kind=fields.kind,
        required=fields.required,
        texts=texts,
        min_value=fields.min_value if fields.kind == "number" else None,
        max_value=fields.max_value if fields.kind == "number" else None,
    )
    form.questions.append(question)
    for n, label in enumerate(labels):
        question.options.append(Option(labels=label, position=n))
    db.session.flush()
    return question


def update_question(question: Question, fields: QuestionFields) -> Question:
    """Change a question; its kind is fixed once it has answers (old answers must still read)."""
    if fields.kind != question.kind and _answered(question):
        raise Conflict(
            _l("People have answered this question, so its kind cannot change."), field="kind"
        )
    texts, labels = _check_question(fields)
    question.kind, question.required, question.texts = fields.kind, fields.required, texts
    is_number = fields.kind == "number"
    question.min_value = fields.min_value if is_number else None
    question.max_value = fields.max_value if is_number else None
    _set_options(question, labels)
    db.session.flush()
    return question


def remove_question(question: Question) -> bool:
    """Take a question off the form: deleted when unanswered, else kept as removed. True if kept."""
    if _answered(question):
        question.removed_at = utcnow()
        db.session.flush()
        return True
    for option in list(question.options):
        db.session.delete(option)
    question.form.questions.remove(question)
    db.session.delete(question)
    db.session.flush()
    return False


def move_question(question: Question, step: int) -> None:
    """Move a question one place up (step -1) or down (step 1) among the active ones."""
    active = question.form.active_questions
    index = active.index(question)
    other = index + step
    if other < 0 or other >= len(active):
        return
    active[index], active[other] = active[other], active[index]
    for n, item in enumerate(active, start=1):
        item.position = n
    db.session.flush()


STATUS_CHANGES = {"open": ("draft", "closed"), "closed": ("open",), "draft": ("open",)}


def set_status(form: Form, status: str) -> Form:
    """Open a form (people may answer), close it, or take it back to a draft."""
    if status not in STATUS_CHANGES or form.status not in STATUS_CHANGES[status]:
        raise Conflict(_l("The form cannot change to that state now."))
    if status == "open" and not form.active_questions:
        raise Conflict(_l("Add at least one question before you open the form."))
    if status == "draft" and has_responses(form):
        raise Conflict(_l("People have answered already; close the form instead."))
    form.status = status
    db.session.flush()
    audit.record("form.status", "form", form.id, after={"status": status})
    return form


def delete_form(form: Form) -> None:
    """Delete a form nobody has answered."""
    if has_responses(form):
        raise Conflict(_l("People have answered this form; close it instead of deleting it."))
    for question in list(form.questions):
        for option in list(question.options):
            db.session.delete(option)
        db.session.delete(question)
    db.session.delete(form)
    db.session.flush()
    audit.record("form.deleted", "form", form.id)
