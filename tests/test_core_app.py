"""Health, error pages in three languages, JSON errors under /api, production refusal, CLI."""

import os
from urllib.parse import parse_qs, urlsplit

import pytest

from app.extensions import db
from tests.factories import make_user


def test_health_reports_every_service(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {
        "database": "ok",
        "redis": "ok",
        "storage": "ok",
        "jobs": "ok",
    }


def test_health_answers_503_when_storage_fails(client, app, monkeypatch):
    storage = app.extensions["storage"]
    monkeypatch.setattr(storage, "check", lambda: (_ for _ in ()).throw(OSError("down")))
    response = client.get("/health")
    assert response.status_code == 503
    assert response.get_json()["checks"]["storage"] == "error"


@pytest.mark.parametrize("language", ["da", "en", "is"])
def test_404_page_in_each_language(client, language):
    client.set_cookie("lang", language)
    response = client.get("/no-such-page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert f'<html lang="{language}">' in html


def test_404_pages_differ_between_languages(client):
    pages = {}
    for language in ("da", "en", "is"):
        client.set_cookie("lang", language)
        pages[language] = client.get("/no-such-page").get_data(as_text=True)
    assert pages["da"] != pages["en"] != pages["is"]


def test_api_errors_are_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.post("/api/v1/me")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_405_page_for_people(client):
    assert client.get("/auth/logout").status_code == 405


def test_production_refuses_a_default_secret_key(monkeypatch):
    import importlib

    import config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("FELAG_ENV", "production")
    reloaded = importlib.reload(config)
    try:
        problems = reloaded.ProductionConfig.check()
        assert any("SECRET_KEY" in p for p in problems)
        assert any("TRUSTED_HOSTS" in p for p in problems)
        assert any("REDIS_URL" in p for p in problems)
        from app import create_app

        with pytest.raises(SystemExit, match="refuses to start"):
            create_app(reloaded.ProductionConfig)
    finally:
        monkeypatch.undo()
        importlib.reload(config)


def test_production_starts_when_configured(monkeypatch):
    import importlib

    import config

    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("TRUSTED_HOSTS", "felag.example.org")
    monkeypatch.setenv("FIELD_ENCRYPTION_KEY", "2D8ctxY8R8H9mXb2qLkPzB5pJc9nQ3vW4yT6uA1eF0g=")
    monkeypatch.setenv("FIELD_HASH_KEY", "h" * 40)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    reloaded = importlib.reload(config)
    try:
        assert reloaded.ProductionConfig.check() == []
        # Without Redis it starts only when in-process jobs are asked for on purpose.
        monkeypatch.delenv("REDIS_URL")
        assert any("REDIS_URL" in p for p in reloaded.ProductionConfig.check())
        monkeypatch.setenv("JOBS_INLINE", "1")
        assert reloaded.ProductionConfig.check() == []
    finally:
        monkeypatch.undo()
        importlib.reload(config)


def test_production_refuses_a_cheap_password_hash(monkeypatch):
    import importlib

    import config

    for name, value in {
        "SECRET_KEY": "x" * 48,
        "TRUSTED_HOSTS": "felag.example.org",
        "FIELD_ENCRYPTION_KEY": "2D8ctxY8R8H9mXb2qLkPzB5pJc9nQ3vW4yT6uA1eF0g=",
        "FIELD_HASH_KEY": "h" * 40,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
    }.items():
        monkeypatch.setenv(name, value)
    reloaded = importlib.reload(config)
    try:
        assert any("PASSWORD_HASH" in p for p in reloaded.ProductionConfig.check())
    finally:
        monkeypatch.undo()
        importlib.reload(config)


def test_passwords_are_hashed_at_the_configured_cost(app, ctx, monkeypatch):
    from app.auth.passwords import hash_password, needs_rehash, verify_password

    cheap = hash_password("correct horse battery")
    assert cheap.startswith("$argon2id$v=19$m=1024,t=1,p=1$")  # TestingConfig's cost
    assert verify_password(cheap, "correct horse battery")
    for name, value in {"TIME_COST": 3, "MEMORY_KIB": 65536, "PARALLELISM": 4}.items():
        monkeypatch.setitem(app.config, f"PASSWORD_HASH_{name}", value)
    assert needs_rehash(cheap)  # made again at the next sign-in
    assert hash_password("x" * 12).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_cli_creates_a_user_with_roles(app, ctx):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "cli@example.org",
            "--name",
            "Cli Person",
            "--password",
            "a long enough passphrase",
            "--role",
            "door",
            "--verified",
        ]
    )
    assert result.exit_code == 0, result.output
    from app.auth.services import find_user_by_email

    user = find_user_by_email("cli@example.org")
    assert user.role_names == {"door"} and user.is_verified


def test_cli_refuses_a_weak_password(app, ctx):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create", "weak@example.org", "--name", "W", "--password", "short"]
    )
    assert result.exit_code != 0
    assert "10" in result.output  # "Use at least 10 characters", in the default language


def test_cli_token_is_shown_once_and_works(app, client, ctx):
    make_user("api@example.org", roles=["door"])
    db.session.commit()
    result = app.test_cli_runner().invoke(
        args=["tokens", "create", "api@example.org", "--name", "scanner"]
    )
    key = result.output.strip()
    assert key.startswith("flg_")
    me = client.get("/api/v1/me", headers={"Authorization": f"Token {key}"})
    assert me.status_code == 200 and me.get_json()["roles"] == ["door"]
    bearer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert bearer.status_code == 200
    from app.api.models import ApiToken

    token = db.session.scalar(db.select(ApiToken))
    assert token.key_hash != key and key not in token.key_hash
    assert token.last_used_at is not None


def test_api_ignores_the_session_cookie(client, ctx):
    from tests.helpers import login

    make_user("sess@example.org", roles=["admin"])
    db.session.commit()
    login(client, "sess@example.org")
    assert client.get("/api/v1/me").status_code == 401


def test_openapi_describes_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    described = set(spec["paths"])
    import re

    for rule in app.url_map.iter_rules():
        if (
            rule.rule.startswith("/api/v1/")
            and "<path:" not in rule.rule
            and rule.rule != "/api/v1/"
        ):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            assert path in described, path


def test_unexpected_error_shows_the_500_page_and_json_under_api(app, client, monkeypatch):
    def boom():
        raise RuntimeError("kaboom")

    monkeypatch.setitem(app.view_functions, "core.home", boom)
    monkeypatch.setitem(app.view_functions, "api.openapi", boom)
    response = client.get("/")
    assert response.status_code == 500
    assert "kaboom" not in response.get_data(as_text=True)
    api = client.get("/api/v1/openapi.json")
    assert api.status_code == 500 and api.get_json()["error"]["code"] == "server_error"


def test_rate_limited_page_says_when_to_retry(app):
    app.config["AUTH_POST_LIMIT"] = "1 per minute"
    try:
        client = app.test_client()
        from tests.helpers import post_form

        post_form(client, "/auth/reset", {"email": "a@example.org"})
        response = post_form(client, "/auth/reset", {"email": "a@example.org"})
    finally:
        app.config["AUTH_POST_LIMIT"] = "30 per minute"
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many requests" in response.get_data(as_text=True)


def test_idle_session_expires(app, ctx):
    import time
    from datetime import timedelta

    from tests.helpers import login

    make_user("idle@example.org")
    db.session.commit()
    client = app.test_client()
    login(client, "idle@example.org")
    assert client.get("/account").status_code == 200
    original = app.config["PERMANENT_SESSION_LIFETIME"]
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=1)
    try:
        time.sleep(2.1)
        assert client.get("/account").status_code == 302
    finally:
        app.config["PERMANENT_SESSION_LIFETIME"] = original


def test_every_page_names_the_site_icon_and_favicon_ico_leads_to_it(client):
    page = client.get("/auth/login").get_data(as_text=True)
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in page
    answer = client.get("/favicon.ico")
    assert (answer.status_code, answer.headers["Location"]) == (301, "/static/img/favicon.svg")
    icon = client.get("/static/img/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert icon.get_data(as_text=True).startswith("<svg")


def test_the_app_waits_on_redis_only_redis_timeout_seconds(app):
    from app import create_app
    from config import TestingConfig

    made = create_app(
        TestingConfig,
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": "redis://127.0.0.1:6379/3",
            "REDIS_TIMEOUT_SECONDS": 0.5,
        },
    )
    for address in (made.config["RQ_CONNECTION"], made.config["RATELIMIT_STORAGE_URI"]):
        query = parse_qs(urlsplit(address).query)
        assert query["socket_connect_timeout"] == query["socket_timeout"] == ["0.5"]
    # A timeout written in REDIS_URL itself wins.
    made = create_app(
        TestingConfig,
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": "redis://127.0.0.1:6379/3?socket_timeout=9",
        },
    )
    query = parse_qs(urlsplit(made.config["RQ_CONNECTION"]).query)
    assert query["socket_timeout"] == ["9"] and query["socket_connect_timeout"] == ["2.0"]


@pytest.mark.usefixtures("postgres")
def test_postgres_connections_notice_a_dead_network_path(app):
    import socket

    from app import database_address
    from app.extensions import db

    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            fd = raw.driver_connection.fileno()
            sock = socket.socket(fileno=os.dup(fd))
            try:
                assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 10
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 30000
            finally:
                sock.close()
        finally:
            raw.close()
    own = parse_qs(urlsplit(database_address("postgresql+psycopg://h/db?keepalives_idle=5")).query)
    assert own["keepalives_idle"] == ["5"] and own["tcp_user_timeout"] == ["30000"]
    assert database_address("sqlite:///x.db") == "sqlite:///x.db"
