"""The form builder: settings and texts in da/en/is, questions of every kind, validation of the
builder's input, reordering and removing, states, and who may build which kind of form."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.forms import answers, services
from app.forms.models import Form, Question
from tests.factories import make_event, make_user
from tests.forms_helpers import every_kind, make_form, question
from tests.helpers import csrf_from, login, post_form, statements_of


def _staff(app, *roles, email=None, locale="en"):
    user = make_user(email=email, roles=list(roles), locale=locale)
    db.session.commit()
    client = app.test_client()
    login(client, user.email)
    return client, user


def _question_data(kind, en, options="", required=False, **extra):
    data = {
        "kind": kind,
        "text_da": f"DA {en}",
        "text_en": en,
        "text_is": f"IS {en}",
        "help_en": f"Help for {en}",
        "options_da": "\n".join(f"DA {o}" for o in options.split("|") if o),
        "options_en": "\n".join(o for o in options.split("|") if o),
        "options_is": "\n".join(f"IS {o}" for o in options.split("|") if o),
        **extra,
    }
    if required:
        data["required"] = "y"
    return data


def test_membership_staff_build_a_survey_in_three_languages(app, ctx):
    client, _user = _staff(app, "membership")
    response = post_form(
        client,
        "/staff/forms/new/survey",
        {
            "title_da": "Lønundersøgelse",
            "title_en": "Salary survey",
            "title_is": "Launakönnun",
            "intro_en": "Tell us about your work.",
            "audience": "members",
            "group_id": "",
            "anonymous": "y",
        },
    )
    assert response.status_code == 303
    form = db.session.scalar(select(Form).where(Form.kind == "survey"))
    assert form.slug == "loenundersoegelse" and form.status == "draft" and form.anonymous
    url = f"/staff/forms/{form.id}/questions/new"
    for data in (
        _question_data("one_choice", "Field", "Data|Web|Research", required=True),
        _question_data("number", "Monthly salary", min_value="0", max_value="500000"),
        _question_data("scale", "Job satisfaction"),
        _question_data("long_text", "Comments"),
    ):
        assert post_form(client, url, data).status_code == 303
    db.session.expire_all()
    kinds = [q.kind for q in form.active_questions]
    assert kinds == ["one_choice", "number", "scale", "long_text"]
    field = form.active_questions[0]
    assert [o.label("is") for o in field.active_options] == ["IS Data", "IS Web", "IS Research"]
    assert form.active_questions[1].max_value == 500000

    # The builder lists the questions in the staff member's language.
    for locale, title, salary in (
        ("is", "Launakönnun", "IS Monthly salary"),
        ("da", "Lønundersøgelse", "DA Monthly salary"),
        ("en", "Salary survey", ">Monthly salary<"),
    ):
        _user.locale = locale
        db.session.commit()
        page = client.get(f"/staff/forms/{form.id}/").get_data(as_text=True)
        assert title in page and salary in page


def test_builder_refuses_bad_questions_with_the_reason_beside_the_field(app, ctx):
    client, user = _staff(app, "membership")
    form = make_form(status="draft", actor=user)
    db.session.commit()
    url = f"/staff/forms/{form.id}/questions/new"
    cases = [
        (_question_data("short_text", ""), "Write the question in at least one language."),
        (_question_data("one_choice", "Only one", "Alone"), "Give at least two choices."),
        (
            _question_data("number", "Age", min_value="50", max_value="10"),
            "The lowest number is above the highest.",
        ),
        (_question_data("nonsense", "Odd"), "Not a valid choice"),
    ]
    for data, message in cases:
        if not data["text_en"]:
            data.update(text_da="", text_is="")
        response = post_form(client, url, data)
        assert response.status_code == 200
        assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert form.questions == []  # nothing half-saved


def test_reorder_edit_and_remove_questions(app, ctx):
    client, user = _staff(app, "membership")
    form = make_form(questions=every_kind()[:3], status="draft", actor=user)
    db.session.commit()
    first, second, third = form.active_questions
    first_id = first.id
    page = client.get(f"/staff/forms/{form.id}/").get_data(as_text=True)
    token = csrf_from(page)
    base = f"/staff/forms/{form.id}/questions"
    assert client.post(f"{base}/{third.id}/up", data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert [q.id for q in form.active_questions] == [first.id, third.id, second.id]

    # Edit: new texts and one choice fewer.
    response = post_form(
        client,
        f"{base}/{second.id}",
        _question_data("one_choice", "Food", "Meat|Fish", required=True),
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert second.text("en") == "Food" and len(second.active_options) == 2

    # Removing an unanswered question deletes it.
    client.post(f"{base}/{first.id}/remove", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Question, first_id) is None
    assert [q.id for q in form.active_questions] == [third.id, second.id]


def test_an_answered_question_is_kept_when_removed_and_its_kind_is_fixed(app, ctx):
    user = make_user()
    form = make_form(questions=every_kind()[:2])
    nickname, diet = form.active_questions
    meat, fish, vegan = diet.active_options
    answers.submit(form, user, {nickname.id: "Bo", diet.id: fish.id}, "en")
    db.session.flush()
    with pytest.raises(services.Conflict):
        services.update_question(diet, question("short_text", "Diet"))
    # New choices: Fish (chosen once) is kept but marked removed; Vegan (never chosen) goes; a
    # changed text is a new option, so the old answer still reads "Fish".
    services.update_question(diet, question("one_choice", "Diet", options=("Meat", "Veggie")))
    db.session.expire_all()
    assert [o.label("en") for o in diet.active_options] == ["Meat", "Veggie"]
    assert fish.removed_at is not None and db.session.get(type(fish), vegan.id) is None
    assert services.remove_question(diet) is True
    assert diet.removed_at is not None and db.session.get(Question, diet.id) is not None
    assert [q.id for q in form.active_questions] == [nickname.id]


def test_states_open_close_and_delete(app, ctx):
    user = make_user(roles=["membership"])
    form = make_form(status="draft", actor=user)
    with pytest.raises(services.Conflict):
        services.set_status(form, "open")  # no questions yet
    services.add_question(form, question("yes_no", "Coming?"))
    services.set_status(form, "open")
    services.set_status(form, "closed")
    assert form.status == "closed"
    services.delete_form(form)
    assert db.session.get(Form, form.id) is None


@pytest.mark.parametrize(
    ("roles", "kind", "allowed"),
    [
        (["organiser"], "survey", False),
        (["organiser"], "event", True),
        (["editor"], "survey", True),
        (["editor"], "intake", False),
        (["membership"], "intake", True),
        (["membership"], "event", False),
        (["admin"], "intake", True),
        (["door"], "survey", False),
    ],
)
def test_who_builds_which_kind(app, ctx, roles, kind, allowed):
    client, _user = _staff(app, *roles)
    event = make_event("Roles party") if kind == "event" else None
    form = make_form(kind=kind, event=event, status="draft")
    db.session.commit()
    status = client.get(f"/staff/forms/{form.id}/").status_code
    assert status == (200 if allowed else 403)
    list_status = client.get("/staff/forms/").status_code
    assert list_status == (403 if roles == ["door"] else 200)


def test_a_member_without_a_staff_role_cannot_reach_the_builder(app, ctx):
    client, _user = _staff(app)
    form = make_form(status="draft")
    db.session.commit()
    assert client.get("/staff/forms/").status_code == 403
    assert client.get(f"/staff/forms/{form.id}/").status_code == 403
    response = client.post(f"/staff/forms/{form.id}/delete", data={})
    assert response.status_code in (400, 403)
    assert db.session.get(Form, form.id) is not None


def test_settings_need_a_title_and_a_group_for_group_surveys(app, ctx):
    client, _user = _staff(app, "membership")
    response = post_form(client, "/staff/forms/new/survey", {"audience": "members"})
    assert "Give the form a title in at least one language." in response.get_data(as_text=True)
    response = post_form(
        client, "/staff/forms/new/survey", {"title_en": "Cell survey", "audience": "group"}
    )
    assert "Choose the group that may answer." in response.get_data(as_text=True)
    for bogus in ("987654", "99999999999", "x"):  # no such group, beyond an integer, not a number
        response = post_form(
            client,
            "/staff/forms/new/survey",
            {"title_en": "Cell survey", "audience": "group", "group_id": bogus},
        )
        assert response.status_code == 200
        assert "Choose the group that may answer." in response.get_data(as_text=True)
    response = post_form(
        client,
        "/staff/forms/new/intake",
        {"title_en": "Intake", "audience": "members", "anonymous": "y"},
    )
    assert "Only a survey can be anonymous." in response.get_data(as_text=True)
    assert db.session.scalar(select(Form.id)) is None


def test_answered_forms_keep_their_anonymity_and_refuse_odd_states(app, ctx):
    client, user = _staff(app, "membership")
    form = make_form(questions=[question("yes_no", "Coming?")], anonymous=True, actor=user)
    answers.submit(form, make_user(), {form.active_questions[0].id: "yes"}, "en")
    db.session.commit()
    response = post_form(
        client,
        f"/staff/forms/{form.id}/settings",
        {"title_en": "Now named", "audience": "users"},  # the anonymous box left empty
    )
    assert "cannot change between anonymous and named" in response.get_data(as_text=True)
    db.session.expire_all()
    assert form.anonymous and form.title("en") == "Member survey"
    page = client.get(f"/staff/forms/{form.id}/").get_data(as_text=True)
    token = csrf_from(page)
    for status in ("draft", "bogus"):
        response = client.post(
            f"/staff/forms/{form.id}/status/{status}", data={"csrf_token": token}
        )
        assert response.status_code == 303
    response = client.post(f"/staff/forms/{form.id}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Form, form.id).status == "open"


def test_a_forms_pages_read_the_same_statements_for_eight_questions_or_thirty_two(app, ctx):
    make_user("staff@example.org", roles=["admin"])
    counts = []
    for times in (1, 4):
        form = make_form(title=f"Survey {times}", questions=every_kind() * times)
        event = make_event(f"Evening {times}")
        make_form(
            kind="event", title=f"Questions {times}", questions=every_kind() * times, event=event
        )
        db.session.commit()
        staff = app.test_client()
        login(staff, "staff@example.org")
        pages = (
            f"/forms/{form.slug}",
            f"/staff/forms/{form.id}/",
            f"/staff/forms/{form.id}/results",
        )
        pages += (f"/events/{event.id}/{event.slug}",)
        counts.append([statements_of(app, staff, url) for url in pages])
    assert counts[0] == counts[1], counts
