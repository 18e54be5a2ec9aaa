"""Text an API client sends must be text: a lone surrogate escape is valid JSON but no Unicode;
it is refused with the JSON error shape everywhere instead of failing deep in a hash or insert."""

import pytest

from app.api.services import create_token
from app.extensions import db
from tests.factories import make_event, make_user


@pytest.fixture()
def headers(app, ctx):
    user = make_user(roles=["admin"])
    _token, key = create_token(user, "app")
    db.session.commit()
    return {"Authorization": f"Token {key}", "Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/api/v1/me", '{"name": "\\ud800"}'),
        ("POST", "/api/v1/events", '{"title": "\\ud800", "starts_at": "2031-01-01T18:00:00Z"}'),
        ("POST", "/api/v1/auth/token", '{"email": "\\ud800", "password": "x"}'),
        ("POST", "/api/v1/checkin", '{"code": "\\ud800", "event_id": 1, "nonce": "n"}'),
        ("POST", "/api/v1/events/1/registration", '{"answers": {"1": ["ok", "\\udfff"]}}'),
        ("PATCH", "/api/v1/members/1", '{"city": "\\ud800"}'),
    ],
)
def test_a_lone_surrogate_is_refused_as_bad_input(client, headers, method, path, body):
    make_event()
    db.session.commit()
    response = client.open(path, method=method, data=body, headers=headers)
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and error["fields"]


def test_a_proper_surrogate_pair_is_text_and_accepted(client, headers):
    response = client.patch("/api/v1/me", data='{"name": "Jón \\ud83d\\ude00"}', headers=headers)
    assert response.status_code == 200
    assert response.get_json()["name"] == "Jón 😀"


@pytest.mark.parametrize(
    "body",
    [
        '{"code": "\\ud800", "event_id": 1, "nonce": "n"}'.encode("utf-16-le"),  # the escape
        b'{"code": "\xed\xa0\x80", "event_id": 1, "nonce": "n"}',  # the surrogate's own bytes
        '{"code": "S\u00f8ren \\udfff", "event_id": 1, "nonce": "n"}'.encode(),
    ],
    ids=["utf-16-escape", "utf-8-surrogate-bytes", "non-ascii-and-escape"],
)
def test_a_lone_surrogate_however_encoded_is_refused(client, headers, body):
    """The refusal skips only bodies of plain ASCII without a \\u escape: a body in UTF-16, or
    carrying a surrogate's bytes, is still read and refused."""
    response = client.post("/api/v1/checkin", data=body, headers=headers)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["fields"] == {"code": ["Give a text."]}
