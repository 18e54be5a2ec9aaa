"""App tokens: JWT access tokens and rotating refresh tokens through /api/v1/auth/..."""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import timedelta

import jwt
import pytest
import requests

from app.api.models import RefreshToken
from app.auth import totp
from app.auth.services import change_password
from app.core import timeutil
from app.extensions import db
from tests.factories import make_user
from tests.helpers import PASSWORD


def sign_in(client, email: str, password: str = PASSWORD, **extra):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password, **extra})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_sign_in_gives_a_short_lived_access_token_and_a_refresh_token(client, ctx):
    user = make_user("app@example.org", roles=["organiser"])
    db.session.commit()
    answer = sign_in(client, "app@example.org")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert answer.headers["Cache-Control"] == "no-store"
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "HS256" and header["kid"]
    claims = claims_of(body["access_token"])
    assert claims["sub"] == str(user.id) and claims["roles"] == ["organiser"]
    assert claims["exp"] - claims["iat"] == 900 and claims["jti"]
    # The refresh token is opaque and only its hash is stored.
    assert body["refresh_token"].startswith("flr_")
    stored = db.session.scalars(db.select(RefreshToken.token_hash)).all()
    assert body["refresh_token"] not in stored and len(stored) == 1
    me = client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.get_json()["id"] == user.id


def test_access_tokens_act_with_the_users_roles(client, ctx):
    make_user("member@example.org")
    make_user("staff@example.org", roles=["membership"])
    db.session.commit()
    member = sign_in(client, "member@example.org").get_json()["access_token"]
    staff = sign_in(client, "staff@example.org").get_json()["access_token"]
    assert client.get("/api/v1/members", headers=bearer(member)).status_code == 403
    assert client.get("/api/v1/members", headers=bearer(staff)).status_code == 200


def test_staff_tokens_keep_working(client, ctx):
    from app.api.services import create_token

    user = make_user("scanner@example.org", roles=["door"])
    _token, key = create_token(user, "Scanner")
    db.session.commit()
    for scheme in ("Token", "Bearer"):
        answer = client.get("/api/v1/me", headers={"Authorization": f"{scheme} {key}"})
        assert answer.status_code == 200 and answer.get_json()["id"] == user.id


def test_refresh_rotates_and_reuse_revokes_the_family(client, ctx):
    make_user("rotate@example.org")
    db.session.commit()
    first = sign_in(client, "rotate@example.org").get_json()
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/me", headers=bearer(second["access_token"])).status_code == 200
    # The first refresh token is used up; showing it again is a theft signal ...
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert again.status_code == 401
    assert again.get_json()["error"]["code"] == "invalid_token"
    # ... so the whole family dies, the token handed out by the rotation included.
    later = client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert later.status_code == 401
    assert (
        db.session.scalar(
            db.select(db.func.count())
            .select_from(RefreshToken)
            .where(RefreshToken.revoked_at.is_(None))
        )
        == 0
    )


def test_another_sign_in_is_not_touched_by_a_reuse(client, ctx):
    make_user("two@example.org")
    db.session.commit()
    phone = sign_in(client, "two@example.org").get_json()
    laptop = sign_in(client, "two@example.org").get_json()
    client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    answer = client.post("/api/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    assert answer.status_code == 200


def test_revoke_ends_the_sign_in(client, ctx):
    make_user("revoke@example.org")
    db.session.commit()
    tokens = sign_in(client, "revoke@example.org").get_json()
    answer = client.post("/api/v1/auth/revoke", json={"refresh_token": tokens["refresh_token"]})
    assert answer.status_code == 200 and answer.get_json() == {"revoked": True}
    refused = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refused.status_code == 401
    # An unknown token gets the same answer (RFC 7009): revoking tells nothing.
    unknown = client.post("/api/v1/auth/revoke", json={"refresh_token": "flr_nothing"})
    assert unknown.status_code == 200


def test_revoking_a_sign_in_ends_its_access_tokens_at_once(client, ctx):
    make_user("signout@example.org")
    db.session.commit()
    phone = sign_in(client, "signout@example.org").get_json()
    laptop = sign_in(client, "signout@example.org").get_json()
    client.post("/api/v1/auth/revoke", json={"refresh_token": phone["refresh_token"]})
    refused = client.get("/api/v1/me", headers=bearer(phone["access_token"]))
    assert refused.status_code == 401  # not up to APP_ACCESS_TOKEN_SECONDS later
    assert client.get("/api/v1/me", headers=bearer(laptop["access_token"])).status_code == 200


def test_a_reused_refresh_token_ends_the_familys_access_tokens_at_once(client, ctx):
    make_user("stolen@example.org")
    db.session.commit()
    first = sign_in(client, "stolen@example.org").get_json()
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    access = second.get_json()["access_token"]
    assert client.get("/api/v1/me", headers=bearer(access)).status_code == 200
    client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})  # reuse
    assert client.get("/api/v1/me", headers=bearer(access)).status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "This field is required."),
        ({"refresh_token": ""}, "Give a text."),
        ({"refresh_token": 12}, "Give a text."),
        ({"refresh_token": "\ud800"}, "Give a text."),
        ({"refresh_token": "x", "extra": 1}, None),
    ],
)
def test_bad_refresh_bodies_are_422(client, ctx, body, message):
    answer = client.post("/api/v1/auth/refresh", json=body)
    assert answer.status_code == 422
    fields = answer.get_json()["error"]["fields"]
    if message:
        assert fields == {"refresh_token": [message]}
    else:
        assert fields == {"extra": ["Unknown field."]}


def test_second_factor_code_is_required_and_checked(app, client, ctx, monkeypatch):
    user = make_user("totp@example.org")
    secret = totp.start_setup(user)
    recovery = totp.confirm_setup(user, totp.current_code(secret))
    db.session.commit()
    missing = sign_in(client, "totp@example.org")
    assert missing.status_code == 401
    assert missing.get_json()["error"]["code"] == "second_factor_required"
    wrong = sign_in(client, "totp@example.org", code="000000")
    assert wrong.status_code == 401
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"
    # The next time step's code (the setup used this one's, and a code is accepted once).
    later = time.time() + totp.STEP_SECONDS
    monkeypatch.setattr(totp, "_now", lambda: later)
    right = sign_in(client, "totp@example.org", code=totp.current_code(secret, later))
    assert right.status_code == 200 and right.get_json()["access_token"]
    replayed = sign_in(client, "totp@example.org", code=totp.current_code(secret, later))
    assert replayed.status_code == 401
    assert sign_in(client, "totp@example.org", code=recovery[0]).status_code == 200


def test_staff_without_a_required_second_factor_get_no_app_token(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "REQUIRE_2FA_FOR_STAFF", True)
    make_user("staff-no-2fa@example.org", roles=["organiser"])
    make_user("member-no-2fa@example.org")
    db.session.commit()
    staff = sign_in(client, "staff-no-2fa@example.org")
    assert staff.status_code == 403
    assert staff.get_json()["error"]["code"] == "second_factor_required"
    assert sign_in(client, "member-no-2fa@example.org").status_code == 200


def test_wrong_second_factor_codes_count_to_the_lockout(client, ctx):
    user = make_user("totp-lock@example.org")
    secret = totp.start_setup(user)
    totp.confirm_setup(user, totp.current_code(secret))
    db.session.commit()
    statuses = [
        sign_in(client, "totp-lock@example.org", code="123456").status_code for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]


def test_lone_surrogates_are_422_not_500(client, ctx):
    body = '{"email": "\\ud800@example.org", "password": "\\udfff"}'
    answer = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert answer.status_code == 422
    assert set(answer.get_json()["error"]["fields"]) == {"email", "password"}


def test_not_json_is_400(client, ctx):
    answer = client.post("/api/v1/auth/token", data="email=x", content_type="text/plain")
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "bad_request"


def test_wrong_password_and_unknown_address_get_the_same_401_and_count_to_lockout(client, ctx):
    make_user("lock@example.org")
    db.session.commit()
    wrong = sign_in(client, "lock@example.org", "not the password")
    unknown = sign_in(client, "nobody@example.org", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"
    for _ in range(4):
        sign_in(client, "lock@example.org", "still wrong")
    locked = sign_in(client, "lock@example.org")  # the right password, too late
    assert locked.status_code == 429
    assert locked.get_json()["error"]["code"] == "locked_out"
    assert locked.headers["Retry-After"]


def test_unverified_account_is_refused(client, ctx):
    make_user("new@example.org", verified=False)
    db.session.commit()
    answer = sign_in(client, "new@example.org")
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "not_verified"


def test_sign_in_is_rate_limited_per_address(app, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "APP_TOKEN_RATE_LIMIT", "2 per minute")
    statuses = [
        client.post("/api/v1/auth/refresh", json={"refresh_token": "flr_x"}).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429]


def test_expired_access_token_is_refused(client, ctx, monkeypatch):
    make_user("old@example.org")
    db.session.commit()
    past = timeutil.utcnow() - timedelta(minutes=16)
    monkeypatch.setattr(timeutil, "clock", lambda: past)
    token = sign_in(client, "old@example.org").get_json()["access_token"]
    monkeypatch.undo()
    answer = client.get("/api/v1/me", headers=bearer(token))
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorized"


def test_tampered_token_is_refused(client, ctx):
    user = make_user("tamper@example.org")
    other = make_user("victim@example.org", roles=["admin"])
    db.session.commit()
    token = sign_in(client, "tamper@example.org").get_json()["access_token"]
    header, payload, signature = token.split(".")
    claims = claims_of(token)
    claims["sub"] = str(other.id)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert (
        client.get("/api/v1/me", headers=bearer(f"{header}.{forged}.{signature}")).status_code
        == 401
    )
    assert claims_of(token)["sub"] == str(user.id)
    assert client.get("/api/v1/me", headers=bearer(token[:-2] + "xx")).status_code == 401


def test_alg_none_and_foreign_keys_are_refused(client, ctx, app):
    from app.api.app_tokens import signing_keys

    make_user("none@example.org", roles=["admin"])
    db.session.commit()
    claims = claims_of(sign_in(client, "none@example.org").get_json()["access_token"])
    kid, secret = signing_keys()[0]
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": kid})
    assert client.get("/api/v1/me", headers=bearer(unsigned)).status_code == 401
    other_alg = jwt.encode(claims, secret, algorithm="HS512", headers={"kid": kid})
    assert client.get("/api/v1/me", headers=bearer(other_alg)).status_code == 401
    other_key = jwt.encode(claims, "x" * 40, algorithm="HS256", headers={"kid": kid})
    assert client.get("/api/v1/me", headers=bearer(other_key)).status_code == 401
    genuine = jwt.encode(claims, secret, algorithm="HS256", headers={"kid": kid})
    assert client.get("/api/v1/me", headers=bearer(genuine)).status_code == 200


def test_key_rotation_by_kid(app, client, ctx, monkeypatch):
    make_user("kid@example.org")
    db.session.commit()
    old_key, new_key = "old:" + "a" * 40, "new:" + "b" * 40
    monkeypatch.setitem(app.config, "JWT_SIGNING_KEYS", old_key)
    old_token = sign_in(client, "kid@example.org").get_json()["access_token"]
    assert jwt.get_unverified_header(old_token)["kid"] == "old"
    # A new key signs; the old one still verifies the tokens it signed.
    monkeypatch.setitem(app.config, "JWT_SIGNING_KEYS", f"{new_key},{old_key}")
    new_token = sign_in(client, "kid@example.org").get_json()["access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] == "new"
    assert client.get("/api/v1/me", headers=bearer(old_token)).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(new_token)).status_code == 200
    # The old key retired: its tokens stop working.
    monkeypatch.setitem(app.config, "JWT_SIGNING_KEYS", new_key)
    assert client.get("/api/v1/me", headers=bearer(old_token)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(new_token)).status_code == 200


def test_without_configured_keys_a_key_is_derived_from_the_secret_key(app, ctx):
    from app.api.app_tokens import signing_keys

    [(kid, secret)] = signing_keys()
    assert kid.startswith("d-") and len(secret) == 32
    assert secret != app.config["SECRET_KEY"].encode()


def test_password_change_kills_access_and_refresh_tokens(client, ctx):
    user = make_user("change@example.org")
    db.session.commit()
    tokens = sign_in(client, "change@example.org").get_json()
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 200
    change_password(user, PASSWORD, "another long passphrase 42")
    db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 401
    refused = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refused.status_code == 401
    assert sign_in(client, "change@example.org", "another long passphrase 42").status_code == 200


def test_closed_account_tokens_stop_working(client, ctx):
    user = make_user("closed@example.org")
    db.session.commit()
    token = sign_in(client, "closed@example.org").get_json()["access_token"]
    user.is_active_account = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def refresh_race(app, live_server, email: str, rounds: int) -> list[list[int]]:
    """Per round: sign in, then two refreshes with the same refresh token at the same moment."""
    with app.app_context():
        make_user(email)
        db.session.commit()
    results = []
    for _round in range(rounds):
        tokens = requests.post(
            f"{live_server}/api/v1/auth/token",
            json={"email": email, "password": PASSWORD},
            timeout=30,
        ).json()
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def refresh(refresh_token=tokens["refresh_token"], barrier=barrier, statuses=statuses):
            barrier.wait()
            answer = requests.post(
                f"{live_server}/api/v1/auth/refresh",
                json={"refresh_token": refresh_token},
                timeout=30,
            )
            statuses.append(answer.status_code)

        threads = [threading.Thread(target=refresh) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results.append(sorted(statuses))
    return results


@pytest.mark.live
def test_two_refreshes_at_once_with_one_token_exactly_one_succeeds(app, live_server, postgres):
    assert refresh_race(app, live_server, "race@example.org", 3) == [[200, 401]] * 3
    with app.app_context():
        # Each race was seen as a reuse: every family is revoked, no token of them lives on.
        alive = db.session.scalar(
            db.select(db.func.count())
            .select_from(RefreshToken)
            .where(RefreshToken.revoked_at.is_(None))
        )
        assert alive == 0


@pytest.mark.live
def test_two_refreshes_without_the_guard_both_succeed(app, live_server, postgres, monkeypatch):
    """The same race with `used_at IS NULL` taken out of the UPDATE: one token gives two pairs,
    so the test above fails without the guard."""
    from app.api import app_tokens

    monkeypatch.setattr(app_tokens, "usable", lambda now: usable_without_guard(now))
    assert refresh_race(app, live_server, "noguard@example.org", 1) == [[200, 200]]


def usable_without_guard(now):
    return (RefreshToken.revoked_at.is_(None), RefreshToken.expires_at > now)


def test_an_app_signs_in_registers_for_an_event_and_fetches_its_ticket(client, ctx, run_jobs):
    """End to end, as a mobile app: token, registration, ticket with its QR image."""
    from urllib.parse import urlsplit

    from tests.factories import make_event
    from tests.helpers import decode_qr

    make_user("phone@example.org")
    event = make_event("App evening", capacity=10)
    db.session.commit()
    tokens = sign_in(client, "phone@example.org").get_json()
    api = bearer(tokens["access_token"])
    registered = client.post(
        f"/api/v1/events/{event.id}/registration", json={"accept_terms": True}, headers=api
    )
    assert registered.status_code == 201 and registered.get_json()["state"] == "confirmed"
    run_jobs()
    # Fifteen minutes later the app refreshes and goes on with the new access token.
    pair = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    api = bearer(pair.get_json()["access_token"])
    [ticket] = client.get("/api/v1/me/tickets", headers=api).get_json()["results"]
    assert ticket["event"]["id"] == event.id and ticket["code"]
    png = client.get(urlsplit(ticket["qr_png"]).path, headers=api)
    assert png.status_code == 200 and png.content_type == "image/png"
    assert ticket["code"] in decode_qr(png.data) or ticket["short_code"] in decode_qr(png.data)


@pytest.mark.parametrize(
    "keys", ["no-colon-here", "k1:short", ":" + "x" * 40, "a:" + "x" * 40 + ",b"]
)
def test_malformed_signing_keys_stop_the_start(keys):
    from app import create_app
    from config import TestingConfig

    with pytest.raises(SystemExit, match="JWT_SIGNING_KEYS"):
        create_app(TestingConfig, {"JWT_SIGNING_KEYS": keys})
