"""Demo forms: registration questions on the next event (answered by those registered), an
anonymous members' survey and an intake form, answered through the same services as the site."""

from __future__ import annotations

import random

from sqlalchemy import select

from app.core.timeutil import utcnow
from app.events.models import Event, Registration
from app.extensions import db
from app.forms import answers, services
from app.forms.models import Form
from app.forms.services import FormSettings, QuestionFields


def _t(da: str, en: str, is_: str, key: str) -> dict:
    return {"da": {key: da}, "en": {key: en}, "is": {key: is_}}


def _q(kind, da, en, is_, required=False, options=(), **fields) -> QuestionFields:
    return QuestionFields(
        kind=kind,
        required=required,
        texts=_t(da, en, is_, "text"),
        options={
            "da": [o[0] for o in options],
            "en": [o[1] for o in options],
            "is": [o[2] for o in options],
        },
        **fields,
    )


DIET = (("Kød", "Meat", "Kjöt"), ("Fisk", "Fish", "Fiskur"), ("Vegetar", "Vegetarian", "Grænmeti"))
SIZES = (("S", "S", "S"), ("M", "M", "M"), ("L", "L", "L"), ("XL", "XL", "XL"))
TOPICS = (
    ("Arrangementer", "Events", "Viðburðir"),
    ("Nyhedsbrev", "Newsletter", "Fréttabréf"),
    ("Afstemninger", "Polls", "Atkvæðagreiðslur"),
)


def _build(kind: str, title: tuple, questions: list, actor, **settings) -> Form:
    texts = {code: {"title": text} for code, text in zip(("da", "en", "is"), title, strict=True)}
    form = services.create_form(kind, FormSettings(texts=texts, **settings), actor, **_event(kind))
    for fields in questions:
        services.add_question(form, fields)
    services.set_status(form, "open")
    return form


def _event(kind: str) -> dict:
    if kind != "event":
        return {}
    event = db.session.scalar(
        select(Event)
        .where(Event.status == "published", Event.starts_at > utcnow())
        .order_by(Event.starts_at)
        .limit(1)
    )
    return {"event": event}


def seed_forms(organiser, membership_staff, people: list) -> list[Form]:
    """Add the demo forms and their answers; returns them."""
    rng = random.Random(15)
    made = []
    if _event("event")["event"] is not None:
        questions = _build(
            "event",
            ("Tilmeldingsspørgsmål", "Registration questions", "Skráningarspurningar"),
            [
                _q("one_choice", "Kost", "Diet", "Mataræði", True, DIET),
                _q("one_choice", "T-shirtstørrelse", "T-shirt size", "Bolastærð", False, SIZES),
                _q("short_text", "Tilgængelighed", "Accessibility", "Aðgengi"),
            ],
            organiser,
        )
        diet, size, _access = questions.active_questions
        for registration in db.session.scalars(
            select(Registration).where(Registration.event_id == questions.event_id)
        ):
            values = {
                diet.id: rng.choice(diet.active_options).id,
                size.id: rng.choice(size.active_options).id,
            }
            answers.save_for_registration(questions, registration, values)
        made.append(questions)
    survey = _build(
        "survey",
        ("Medlemsundersøgelse", "Members' survey", "Félagakönnun"),
        [
            _q("scale", "Hvor tilfreds er du?", "How satisfied are you?", "Hversu ánægð(ur)?"),
            _q(
                "many_choices",
                "Hvad bruger du?",
                "What do you use?",
                "Hvað notar þú?",
                False,
                TOPICS,
            ),  # fmt: skip
            _q("long_text", "Forslag", "Suggestions", "Tillögur"),
        ],
        membership_staff,
        audience="users",
        anonymous=True,
        slug="medlemsundersoegelse",
    )
    scale, topics, ideas = survey.active_questions
    for person in people[:15]:
        chosen = rng.sample([o.id for o in topics.active_options], rng.randint(1, 2))
        idea = rng.choice(["", "", "Flere foredrag", "Fleiri viðburði á Akureyri"])
        values = {scale.id: rng.choice([3, 4, 4, 5]), topics.id: chosen, ideas.id: idea}
        answers.submit(survey, person, values, person.locale or "da")
    made.append(survey)
    intake = _build(
        "intake",
        ("Indskrivning", "Intake", "Inntaka"),
        [
            _q("long_text", "Hvorfor melder du dig ind?", "Why do you join?", "Af hverju?"),
            _q("yes_no", "Vil du hjælpe til?", "Will you volunteer?", "Viltu hjálpa til?"),
        ],
        membership_staff,
        audience="users",
        slug="indskrivning",
    )
    why, volunteer = intake.active_questions
    for person in people[:3]:
        values = {why.id: "For fællesskabet", volunteer.id: rng.choice([True, False])}
        answers.submit(intake, person, values, person.locale or "da")
    made.append(intake)
    db.session.flush()
    return made
