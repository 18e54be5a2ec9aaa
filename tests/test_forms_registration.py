"""Registration questions: asked on the event page, checked by kind, saved with the registration
in its transaction; shown in the staff list and its CSV/XLSX; nothing at the door; old answers
readable after the questions change."""

from __future__ import annotations

import csv
import io
import re
import uuid

import openpyxl
import pytest
from sqlalchemy import func, select

from app.core.jobs import Job
from app.events import registrations
from app.events.models import Event, Registration
from app.extensions import db
from app.forms import answers as answers_module
from app.forms import services
from app.forms.answers import InvalidAnswers
from app.forms.models import Response
from tests.factories import make_event, make_user
from tests.forms_helpers import every_kind, make_form, question
from tests.helpers import csrf_from, login, post_form


@pytest.fixture
def setup(app, ctx):
    """An event asking every kind of question, a member who will register, an organiser."""
    event = make_event("Data camp", capacity=10)
    form = make_form("event", "Camp questions", every_kind(), event=event)
    member = make_user(name="Guðrún Member", email="gudrun@example.org")
    organiser = make_user(email="org@example.org", roles=["organiser"])
    db.session.commit()
    qs = {q.text("en"): q for q in form.active_questions}
    return type(
        "Setup",
        (),
        {"event": event, "form": form, "member": member, "qs": qs, "organiser": organiser},
    )


def _event_url(event: Event) -> str:
    return f"/events/{event.id}/{event.slug}"


def _good_answers(s) -> dict:
    q = s.qs
    return {
        f"q{q['Your nickname'].id}": "Gunna",
        f"q{q['Diet'].id}": str(q["Diet"].active_options[1].id),  # Fish
        f"q{q['Topics'].id}": [
            str(q["Topics"].active_options[0].id),
            str(q["Topics"].active_options[2].id),
        ],
        f"q{q['Years of experience'].id}": "7",
        f"q{q['How happy are you'].id}": "4",
        f"q{q['Arrival date'].id}": "2027-01-15",
        f"q{q['Need a parking space'].id}": "no",
        f"q{q['Anything else'].id}": '=HYPERLINK("x")',
    }


def _register(app, s, data: dict):
    client = app.test_client()
    login(client, s.member.email)
    page = client.get(_event_url(s.event)).get_data(as_text=True)
    response = client.post(
        f"/events/{s.event.id}/register", data={"csrf_token": csrf_from(page), **data}
    )
    return client, page, response


def test_the_event_page_asks_the_questions_in_the_readers_language(app, setup):
    client = app.test_client()
    login(client, setup.member.email)
    setup.member.locale = "is"
    db.session.commit()
    page = client.get(_event_url(setup.event)).get_data(as_text=True)
    assert "IS Diet" in page and "IS Fish" in page and "IS Your nickname" in page
    assert f'name="q{setup.qs["Topics"].id}"' in page
    # A closed form asks nothing.
    services.set_status(setup.form, "closed")
    db.session.commit()
    page = client.get(_event_url(setup.event)).get_data(as_text=True)
    assert "IS Diet" not in page


def test_answers_are_saved_with_the_registration(app, setup):
    _client, _page, response = _register(app, setup, _good_answers(setup))
    assert response.status_code == 303
    registration = db.session.scalar(select(Registration))
    assert registration.state == "confirmed"
    response_row = db.session.scalar(
        select(Response).where(Response.registration_id == registration.id)
    )
    values = {a.question.text("en"): a.value for a in response_row.answers}
    q = setup.qs
    assert values == {
        "Your nickname": "Gunna",
        "Diet": q["Diet"].active_options[1].id,
        "Topics": [q["Topics"].active_options[0].id, q["Topics"].active_options[2].id],
        "Years of experience": 7,
        "How happy are you": 4,
        "Arrival date": "2027-01-15",
        "Need a parking space": False,
        "Anything else": '=HYPERLINK("x")',
    }
    assert response_row.user_id == setup.member.id


def test_invalid_answers_are_refused_with_reasons_and_nothing_is_saved(app, setup):
    data = _good_answers(setup)
    q = setup.qs
    data[f"q{q['Your nickname'].id}"] = ""  # required
    data[f"q{q['Years of experience'].id}"] = "61"  # above the range
    data[f"q{q['Diet'].id}"] = "999999"  # not an option
    data[f"q{q['Arrival date'].id}"] = "15/01/2027"
    _client, _page, response = _register(app, setup, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Answer this question." in html
    assert "Give a number of at most 60." in html
    assert "Choose one of the choices given." in html
    assert "Give a date (year-month-day)." in html
    # What was sent is shown again (61, not the 7 of the good answers).
    years = re.search(rf'<input[^>]*name="q{q["Years of experience"].id}"[^>]*>', html).group(0)
    assert 'value="61"' in years
    assert db.session.scalar(select(func.count(Registration.id))) == 0
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0
    assert db.session.get(Event, setup.event.id).confirmed_count == 0
    assert db.session.scalar(select(func.count(Job.id))) == 0  # no ticket job asked for


def test_a_failure_while_saving_answers_leaves_no_registration(app, setup, monkeypatch):
    """The answers are written after the seat is taken, in the same transaction: when saving
    them fails, the seat and the registration go with them."""

    def failing_save(form, registration, values):
        raise services.DomainError("the answers could not be stored")

    monkeypatch.setattr(registrations, "save_for_registration", failing_save)
    _client, _page, response = _register(app, setup, _good_answers(setup))
    assert response.status_code == 303
    assert db.session.scalar(select(func.count(Registration.id))) == 0
    assert db.session.get(Event, setup.event.id).confirmed_count == 0


def test_the_service_takes_answers_keyed_by_id_text_as_the_api_sends_them(app, setup):
    q = setup.qs
    raw = {
        str(q["Your nickname"].id): "Bo",
        str(q["Diet"].id): q["Diet"].active_options[0].id,
        str(q["Topics"].id): [q["Topics"].active_options[1].id],
        str(q["Years of experience"].id): 2.5,
        str(q["Need a parking space"].id): True,
    }
    registration = registrations.register(setup.event.id, setup.member, False, answers=raw)
    assert registration.state == "confirmed"
    with pytest.raises(InvalidAnswers) as refused:
        registrations.register(
            setup.event.id, make_user(), False, answers={str(q["Diet"].id): "Fish"}
        )
    assert set(refused.value.fields) == {
        f"answers.{q['Your nickname'].id}",
        f"answers.{q['Diet'].id}",
    }
    with pytest.raises(InvalidAnswers):
        registrations.register(setup.event.id, make_user(), False, answers=["not", "a", "dict"])


def test_staff_list_and_exports_show_the_answers(app, setup):
    _register(app, setup, _good_answers(setup))
    staff = app.test_client()
    login(staff, setup.organiser.email)
    page = staff.get(f"/staff/events/{setup.event.id}/").get_data(as_text=True)
    assert "Gunna" in page and "Python; Statistics" in page
    assert f"/staff/forms/event/{setup.event.id}" in page  # the link to the questions

    body = staff.get(f"/staff/events/{setup.event.id}/registrations.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=","))
    header, row = rows[0], rows[1]
    cells = dict(zip(header, row, strict=True))
    assert cells["Diet"] == "Fish" and cells["Topics"] == "Python; Statistics"
    assert cells["Years of experience"] == "7" and cells["Need a parking space"] == "No"
    assert cells["Anything else"].startswith("'=")  # never run as a formula

    data = staff.get(f"/staff/events/{setup.event.id}/registrations.xlsx").get_data()
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert "Diet" in values[0] and "Fish" in values[1]


def test_changed_questions_keep_old_answers_readable(app, setup):
    _register(app, setup, _good_answers(setup))
    q = setup.qs
    services.update_question(
        q["Diet"], question("one_choice", "Diet", options=("Meat", "Pescetarian", "Vegan"))
    )
    services.remove_question(q["Need a parking space"])
    db.session.commit()
    staff = app.test_client()
    login(staff, setup.organiser.email)
    body = staff.get(f"/staff/events/{setup.event.id}/registrations.csv").get_data(as_text=True)
    header, row = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))[:2]
    cells = dict(zip(header, row, strict=True))
    assert cells["Diet"] == "Fish"  # the option chosen then, though it is no longer offered
    assert cells["Need a parking space (removed)"] == "No"
    page = staff.get(f"/staff/events/{setup.event.id}/").get_data(as_text=True)
    assert "Fish" in page and "(removed)" in page
    # New registrants are not asked the removed question, and see the new choices.
    other = make_user()
    db.session.commit()
    client = app.test_client()
    login(client, other.email)
    html = client.get(_event_url(setup.event)).get_data(as_text=True)
    assert "Pescetarian" in html and "Need a parking space" not in html


def test_the_door_shows_nothing_of_the_answers(app, setup):
    _register(app, setup, _good_answers(setup))
    registration = db.session.scalar(select(Registration))
    volunteer = make_user(roles=["door"])
    db.session.commit()
    client = app.test_client()
    login(client, volunteer.email)
    html = client.get(f"/door/{setup.event.id}").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    result = client.post(
        f"/door/{setup.event.id}/scan",
        json={"code": registration.ticket_code, "nonce": uuid.uuid4().hex, "device": "d1"},
        headers={"X-CSRFToken": token},
    )
    assert result.status_code == 200 and result.get_json()["status"] == "ok"
    for text in (html, result.get_data(as_text=True)):
        assert "Gunna" not in text and "Fish" not in text and "HYPERLINK" not in text


def test_registering_again_after_cancelling_replaces_the_answers(app, setup):
    client, _page, _response = _register(app, setup, _good_answers(setup))
    post_form(client, f"/events/{setup.event.id}/unregister", {}, page_url=_event_url(setup.event))
    data = _good_answers(setup)
    data[f"q{setup.qs['Your nickname'].id}"] = "Gunna again"
    page = client.get(_event_url(setup.event)).get_data(as_text=True)
    client.post(f"/events/{setup.event.id}/register", data={"csrf_token": csrf_from(page), **data})
    rows = db.session.scalars(select(Response)).all()
    assert len(rows) == 1
    nickname = next(a for a in rows[0].answers if a.question_id == setup.qs["Your nickname"].id)
    assert nickname.value == "Gunna again"


def test_an_event_without_questions_registers_as_before(app, ctx):
    event = make_event("Plain evening")
    user = make_user()
    registration = registrations.register(event.id, user, False)
    assert registration.state == "confirmed"
    assert answers_module.event_form(event.id) is None


@pytest.mark.live
def test_a_rush_with_answers_keeps_the_seats_and_saves_each_answer_once(app, live_server, postgres):
    """Twenty people answer and register at once for eight seats: no server error, eight
    confirmed and twelve waiting, and exactly one response per registration."""
    from tests.test_events_concurrency import all_at_once, make_people, post, seat_state, signed_in

    with app.app_context():
        event = make_event("Rush with questions", capacity=8)
        form = make_form("event", "Rush questions", every_kind()[:2], event=event)
        nickname, diet = form.active_questions
        data = {f"q{nickname.id}": "Rusher", f"q{diet.id}": str(diet.active_options[0].id)}
        ids = make_people(20, "rushq")
        db.session.commit()
        event_id = event.id
        sessions = [signed_in(app, uid, live_server) for uid in ids]
    url = f"{live_server}/events/{event_id}/register"
    responses = all_at_once([post(http, token=token, url=url, **data) for http, token in sessions])
    assert [r.status_code for r in responses] == [303] * 20
    state = seat_state(app, event_id)
    assert state["confirmed"] == 8 and state["counter"] == 8 and state["waiting"] == 12
    with app.app_context():
        per_registration = db.session.execute(
            select(Response.registration_id, func.count()).group_by(Response.registration_id)
        ).all()
        assert len(per_registration) == 20 and {n for _r, n in per_registration} == {1}


def test_a_duplicated_event_asks_the_same_questions_without_the_answers(app, setup):
    from app.events import services as event_services
    from app.forms.models import Form

    assert _register(app, setup, _good_answers(setup))[2].status_code == 303
    diet = setup.qs["Diet"]
    services.remove_question(setup.qs["Arrival date"])  # answered: kept, marked removed
    db.session.commit()

    copy = event_services.duplicate(setup.event, setup.organiser, "Data camp again")
    db.session.commit()

    form = db.session.scalar(select(Form).where(Form.event_id == copy.id))
    original = [q.text("en") for q in setup.form.active_questions]
    assert [q.text("en") for q in form.active_questions] == original
    assert "Arrival date" not in original and form.status == "open"
    copied_diet = next(q for q in form.questions if q.text("en") == "Diet")
    assert [o.label("en") for o in copied_diet.options] == [o.label("en") for o in diet.options]
    assert copied_diet.id != diet.id and copied_diet.required
    assert form.questions[0].text("da") == "DA Your nickname"
    responses = select(func.count(Response.id)).where(Response.form_id == form.id)
    assert db.session.scalar(responses) == 0


def test_the_registrant_reads_their_own_answers_on_the_event_page(app, setup):
    client, _page, response = _register(app, setup, _good_answers(setup))
    assert response.status_code == 303
    page = client.get(_event_url(setup.event)).get_data(as_text=True)
    mine = re.search(
        r'<dl class="small registration-my-answers" id="my-answers">(.*?)</dl>', page, re.S
    )
    assert mine is not None
    pairs = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", mine.group(1), re.S)
    assert ("Your nickname", "Gunna") in pairs and ("Diet", "Fish") in pairs
    assert ("Topics", "Python; Statistics") in pairs and ("Need a parking space", "No") in pairs
    other = app.test_client()
    login(other, setup.organiser.email)
    assert "my-answers" not in other.get(_event_url(setup.event)).get_data(as_text=True)


def test_staff_adding_a_person_by_hand_are_asked_the_questions(app, setup):
    client = app.test_client()
    login(client, setup.organiser.email)
    url = f"/staff/events/{setup.event.id}/registrations/add"
    page = client.get(url).get_data(as_text=True)
    assert 'id="registration-questions"' in page and "Your nickname" in page
    person = {"name": "Eva Hand", "email": "eva@example.org", "locale": "da"}
    refused = client.post(url, data={"csrf_token": csrf_from(page), **person})
    assert refused.status_code == 422 and "Answer this question." in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Registration.id))) == 0

    data = {"csrf_token": csrf_from(page), **person, **_good_answers(setup)}
    assert client.post(url, data=data).status_code == 302
    registration = db.session.scalar(select(Registration).where(Registration.name == "Eva Hand"))
    saved = db.session.scalar(select(Response).where(Response.registration_id == registration.id))
    values = {a.question.text("en"): a.value for a in saved.answers}
    assert values["Your nickname"] == "Gunna" and values["Years of experience"] == 7


def test_a_registration_reads_the_event_questions_once(app, setup):
    from tests.helpers import StatementCounter

    client = app.test_client()
    login(client, setup.member.email)
    page = client.get(_event_url(setup.event)).get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), **_good_answers(setup)}
    with StatementCounter(app) as counter:
        answer = client.post(f"/events/{setup.event.id}/register", data=data)
    assert answer.status_code == 303
    # With the event, in one statement.
    reads = [s for s in counter.statements if re.search(r"\b(FROM|JOIN) forms\b", s)]
    assert len(reads) == 1 and "FROM events" in reads[0], reads


def test_the_registrants_event_page_reads_the_event_questions_once(app, setup):
    from tests.helpers import StatementCounter

    client, _page, response = _register(app, setup, _good_answers(setup))
    assert response.status_code == 303
    client.get(_event_url(setup.event))  # warm up
    with StatementCounter(app) as counter:
        page = client.get(_event_url(setup.event))
    assert page.status_code == 200 and 'id="my-answers"' in page.get_data(as_text=True)
    # With the event, in one statement; the answers read beside them need no second look.
    reads = [s for s in counter.statements if re.search(r"\b(FROM|JOIN) forms\b", s)]
    assert len(reads) == 1 and "FROM events" in reads[0], reads
