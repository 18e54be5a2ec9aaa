"""Helpers for the forms tests: a form with questions of every kind, built through the services."""

from __future__ import annotations

from app.forms import services
from app.forms.services import FormSettings, QuestionFields


def texts(da: str, en: str, is_: str, key: str = "text") -> dict:
    return {"da": {key: da}, "en": {key: en}, "is": {key: is_}}


def question(kind: str, en: str, required: bool = False, options=(), **fields) -> QuestionFields:
    """A question written in English, with Danish and Icelandic versions marked by a prefix."""
    return QuestionFields(
        kind=kind,
        required=required,
        texts=texts(f"DA {en}", en, f"IS {en}"),
        options={
            "da": [f"DA {o}" for o in options],
            "en": list(options),
            "is": [f"IS {o}" for o in options],
        },
        **fields,
    )


def make_form(
    kind: str = "survey",
    title: str = "Member survey",
    questions=(),
    status: str = "open",
    event=None,
    actor=None,
    **settings,
):
    """A form with the questions (QuestionFields), opened unless told otherwise."""
    settings.setdefault("audience", "users")
    form = services.create_form(
        kind,
        FormSettings(texts=texts(f"DA {title}", title, f"IS {title}", "title"), **settings),
        actor,
        event=event,
    )
    for fields in questions:
        services.add_question(form, fields)
    if status != "draft":
        services.set_status(form, "open")
        if status == "closed":
            services.set_status(form, "closed")
    return form


def every_kind() -> list[QuestionFields]:
    """One question of each kind; the first two are required."""
    return [
        question("short_text", "Your nickname", required=True),
        question("one_choice", "Diet", required=True, options=("Meat", "Fish", "Vegan")),
        question("many_choices", "Topics", options=("Python", "SQL", "Statistics")),
        question("number", "Years of experience", min_value=0, max_value=60),
        question("scale", "How happy are you"),
        question("date", "Arrival date"),
        question("yes_no", "Need a parking space"),
        question("long_text", "Anything else"),
    ]
