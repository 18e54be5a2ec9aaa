"""Error pages after a broken transaction, and bad input that must never give a 500."""

import logging
import re

import pytest

from app.auth.models import User
from app.extensions import db
from tests.factories import make_event, make_user
from tests.helpers import login, post_form

HUGE = "99999999999999999999"
BIGINT_PLUS_ONE = "9223372036854775808"


@pytest.fixture
def staff(ctx):
    user = make_user("admin@example.org", roles=["admin"])
    db.session.commit()
    return user


def test_broken_transaction_while_signed_in_gets_the_translated_500_page(app, client):
    # No test session stays open across the request: the failed flush below ends savepoints
    # on the connection the tests share.
    with app.app_context():
        make_user("broken@example.org", locale="is")
        db.session.commit()
    login(client, "broken@example.org")

    def broken():
        # A unique violation in the flush leaves the session unusable until it is rolled back;
        # the error page must still render the signed-in header (name, roles).
        twin = User(email="broken@example.org", name="Twin", password_hash="x", locale="is")
        db.session.add(twin)
        db.session.flush()

    original = app.view_functions["account.home"]
    app.view_functions["account.home"] = broken
    try:
        client.set_cookie("lang", "is")
        response = client.get("/account")
    finally:
        app.view_functions["account.home"] = original
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Eitthvað fór úrskeiðis" in html  # the Icelandic title of the 500 page
    assert 'lang="is"' in html
    assert "Internal Server Error" not in html


@pytest.mark.parametrize(
    "path",
    [
        f"/events/{HUGE}/x",
        f"/events/{HUGE}/event.ics",
        f"/events/{BIGINT_PLUS_ONE}/x",
        "/events/2147483648/x",
        f"/door/{HUGE}",
        f"/door/{HUGE}/offline.json",
        f"/staff/events/{HUGE}/",
        f"/staff/members/{HUGE}",
        f"/staff/users/{HUGE}",
        f"/api/v1/members/{BIGINT_PLUS_ONE}",
        f"/api/v1/events/{HUGE}/checkin",
    ],
)
def test_integers_too_large_for_the_database_are_not_found(client, staff, path):
    login(client, "admin@example.org")
    response = client.get(path, headers={"Authorization": "Token nope"})
    assert response.status_code in (400, 401, 404), path


def test_too_large_integer_in_a_form_is_refused_not_a_crash(client, ctx):
    make_user("organiser@example.org", roles=["organiser"])
    db.session.commit()
    login(client, "organiser@example.org")
    response = post_form(
        client,
        "/staff/events/new",
        {
            "title": "Huge",
            "description": "x",
            "starts_at": "2030-01-01T18:00",
            "ends_at": "2030-01-01T20:00",
            "capacity": HUGE,
            "venue_name": "Hall",
        },
    )
    assert response.status_code in (200, 400, 422)
    assert "Something went wrong" not in response.get_data(as_text=True)


def test_too_large_page_number_is_not_a_crash(client, staff):
    login(client, "admin@example.org")
    response = client.get(f"/staff/audit/?page={HUGE}")
    assert response.status_code in (200, 400, 404)


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/events/?q=a%00b", None),
        ("get", "/staff/users/?q=a%00b", None),
        ("get", "/auth/login?next=/a%00b", None),
        ("get", "/events/1/x%00y", None),
        ("post", "/auth/login", {"email": "a\x00@example.org", "password": "x"}),
        ("post", "/auth/register", {"name": "A\x00B", "email": "n@example.org"}),
        ("post", "/auth/reset", {"email": "n\x00@example.org"}),
    ],
)
def test_nul_bytes_in_any_field_or_parameter_are_a_bad_request(
    app, client, staff, method, path, data
):
    if method == "get":
        login(client, "admin@example.org")
        response = client.get(path)
    else:  # the sign-in forms answer anonymous visitors
        response = post_form(app.test_client(), path, data)
    assert response.status_code == 400, path
    assert "Bad request" in response.get_data(as_text=True)


def test_nul_byte_in_api_json_is_a_json_400(client, ctx):
    response = client.post(
        "/api/v1/checkin",
        json={"code": "a\x00b", "event_id": 1, "nonce": "n"},
        headers={"Authorization": "Token whatever"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize(
    "path",
    ["/media/..%2f..%2fconfig.py", "/media/avatars/..%2f..%2f..%2fetc%2fpasswd", "/media/%2e%2e/x"],
)
def test_media_path_traversal_is_not_found(client, path):
    assert client.get(path).status_code == 404


def test_untrusted_host_is_a_bad_request_without_a_stack_trace(app, client, caplog):
    app.config["TRUSTED_HOSTS"] = ["felag.example.org"]
    try:
        with caplog.at_level(logging.INFO):
            bad = client.get("/", headers={"Host": "evil.example.com"})
            api = client.get("/api/v1/me", headers={"Host": "evil.example.com"})
            good = client.get("/", headers={"Host": "felag.example.org"})
    finally:
        app.config["TRUSTED_HOSTS"] = None
    assert bad.status_code == 400
    assert api.status_code == 400 and api.get_json()["error"]["code"] == "bad_request"
    assert good.status_code == 200
    assert not [r for r in caplog.records if r.exc_info]
    assert "Traceback" not in caplog.text


def test_event_page_with_huge_id_for_a_real_event_still_works(client, ctx):
    event = make_event()
    db.session.commit()
    assert client.get(f"/events/{event.id}/{event.slug}").status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/checkin", {"code": "1.abc.def", "event_id": 10**20, "nonce": "n"}),
        ("/api/v1/checkin", {"code": "1.abc.def", "event_id": 2**31, "nonce": "n"}),
        ("/api/v1/checkin/undo", {"registration_id": 10**20}),
    ],
)
def test_too_large_integers_in_api_json_are_a_client_error(client, ctx, path, body):
    from app.api.services import create_token

    volunteer = make_user(roles=["door"])
    _t, key = create_token(volunteer, "scanner")
    db.session.commit()
    response = client.post(path, json=body, headers={"Authorization": f"Token {key}"})
    assert response.status_code in (400, 404, 422), response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] != "server_error"


def test_too_large_integer_in_a_door_json_body_is_a_client_error(client, ctx):
    make_user("door@example.org", roles=["door"])
    event = make_event(days_ahead=0)
    db.session.commit()
    login(client, "door@example.org")
    page = client.get(f"/door/{event.id}").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    response = client.post(
        f"/door/{event.id}/undo",
        json={"registration_id": 10**20},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code in (400, 404, 422)


def test_when_the_error_page_itself_fails_the_answer_is_still_translated(app, client, monkeypatch):
    from app.core import errors

    def broken_render(*args, **kwargs):
        raise RuntimeError("the database is gone")

    def boom():
        raise RuntimeError("kaboom")

    monkeypatch.setattr(errors, "render_template", broken_render)
    monkeypatch.setitem(app.view_functions, "core.home", boom)
    client.set_cookie("lang", "is")
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Eitthvað fór úrskeiðis" in html and 'lang="is"' in html
    assert "kaboom" not in html and "Internal Server Error" not in html


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("[" * 100_000 + "]" * 100_000, 400),  # deeper than the JSON parser goes
        ('{"a": ' * 900 + "1" + "}" * 900, 401),  # parsed, walked without recursion, no NUL
        ('{"code\\u0000": "x", "event_id": 1}', 400),
        ('{"code": ["x", {"deep": "a\\u0000"}]}', 400),
    ],
)
def test_deeply_nested_or_nul_json_is_a_json_client_error(client, ctx, raw, status):
    response = client.post(
        "/api/v1/checkin",
        data=raw,
        content_type="application/json",
        headers={"Authorization": "Token whatever"},
    )
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == {400: "bad_request", 401: "unauthorized"}[status]


@pytest.mark.parametrize(
    "query", ["", "?event=", "?event=abc", f"?event={HUGE}", f"?event={BIGINT_PLUS_ONE}"]
)
def test_an_event_chart_download_without_a_real_event_is_not_found(client, staff, query):
    login(client, "admin@example.org")
    response = client.get(f"/staff/insights/event-fill.csv{query}")
    assert response.status_code == 404


@pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")  # a lookup by no id at all
@pytest.mark.parametrize("post_id", [None, "", "abc", "-1", HUGE])
def test_a_newsletter_from_a_post_that_is_not_there_is_not_found(client, staff, post_id):
    login(client, "admin@example.org")
    data = {} if post_id is None else {"post_id": post_id}
    response = post_form(client, "/staff/newsletters/from-post", data, "/staff/newsletters/")
    assert response.status_code == (400 if post_id == HUGE else 404)  # HUGE: any form's refusal


def test_a_staff_note_sent_without_its_tags_field_is_added_without_tags(client, staff):
    from app.members.models import StaffNote
    from tests.members_helpers import make_member

    member = make_member()
    db.session.commit()
    login(client, "admin@example.org")
    url = f"/staff/members/{member.id}"
    response = post_form(client, f"{url}/notes", {"text": "Called"}, url)
    assert response.status_code == 302
    note = db.session.scalar(db.select(StaffNote))
    assert (note.text, note.tags) == ("Called", [])


def _plausible(kind: str, attrs: dict) -> str:
    """A value a person could give the field (so that a form passes up to the field left out)."""
    if kind == "select":
        return next((o for o in attrs["options"] if o), "")
    if kind in ("checkbox", "radio", "hidden"):
        return attrs.get("value") or "y"
    samples = {"email": "someone@example.org", "number": "3", "date": "2030-06-01"}
    samples |= {"datetime-local": "2030-06-01T18:00", "time": "18:00", "url": "https://example.org"}
    return attrs.get("value") or samples.get(kind, "Plain words")


def _variants(form: dict, token: str):
    """The form filled in, then with each field left out in turn, then whitespace or junk (too
    large, negative, too long, impossible dates, control characters) in every field."""
    filled = {n: _plausible(kind, a) for n, kind, a in form["fields"] if kind != "submit"}
    filled["csrf_token"] = token
    visible = [n for n, kind, _a in form["fields"] if kind not in ("hidden", "submit")]
    yield "filled in", filled
    for name in visible:
        yield f"without {name}", {n: v for n, v in filled.items() if n != name}
    yield "whitespace", filled | {n: " \t " for n in visible}
    for junk in (HUGE, "-1", "x" * 5000, "2026-02-31T25:99", "\u202e<b>&#0;"):
        yield f"{junk[:8]!r} in all", filled | {n: junk for n in visible}


@pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")  # e.g. a lookup by no id at all
def test_no_form_answers_500_with_a_field_left_out_or_whitespace_or_junk(app, ctx):
    from sqlalchemy import func, select

    from app import demo
    from app.events.models import Event
    from app.forms.models import Form
    from app.inbox.models import Conversation
    from app.members.models import Group, Membership
    from app.news.models import Post
    from app.polls.models import Poll
    from tests.page_forms import object_pages, page_urls, post_forms

    admin_email, password = demo.seed(6)
    db.session.commit()
    models = {"event_id": Event, "poll_id": Poll, "member_id": Membership, "user_id": User}
    models |= {"conversation_id": Conversation, "form_id": Form, "post_id": Post}
    models["group_id"] = Group
    ids = {name: db.session.scalar(select(func.min(model.id))) for name, model in models.items()}
    urls = page_urls(app) + object_pages(app, ids)
    crashes, sent = [], 0
    for email in (None, "member001@felag.local", admin_email):  # a visitor, a member, an admin
        client = app.test_client()
        if email:
            login(client, email, password)
        for url, action, form, token in post_forms(client, urls):
            for label, data in _variants(form, token):
                sent += 1
                if client.post(action, data=data).status_code >= 500:
                    crashes.append(f"{email}: {url} -> {action}: {label}")
    assert sent > 400, sent  # the pages' forms were found and sent
    assert not crashes, crashes
