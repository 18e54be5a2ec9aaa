"""The application factory: config -> extensions -> blueprints -> CLI -> error handlers."""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Flask, session
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config, config_from_env, settings_problems


def create_app(config: type[Config] | None = None, overrides: dict | None = None) -> Flask:
    """Build the Félag application."""
    config = config or config_from_env()
    problems = config.check()
    if problems:
        message = "Félag refuses to start:\n  - " + "\n  - ".join(problems)
        print(message, file=sys.stderr)
        raise SystemExit(message)

    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config)
    if overrides:
        app.config.update(overrides)
        problems = settings_problems(app.config)
        if problems:
            raise SystemExit("Félag refuses to start:\n  - " + "\n  - ".join(problems))
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["DEFAULT_LANGUAGE"]
    app.config["TRUSTED_HOSTS"] = app.config.get("TRUSTED_HOSTS") or None
    _configure_services(app)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_address(app.config["SQLALCHEMY_DATABASE_URI"])
    Path(app.config["STORAGE_DIR"]).mkdir(parents=True, exist_ok=True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///") :]).parent.mkdir(
            parents=True, exist_ok=True
        )

    if app.config["PROXY_HOPS"]:
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    from app.core.errors import register_error_handlers

    register_error_handlers(app)
    _configure_logging(app)
    return app


def redis_address(url: str, config) -> str:
    """REDIS_URL with a connect and a read timeout (REDIS_TIMEOUT_SECONDS) unless it sets its
    own: a Redis that stops answering (stuck, or behind a path that drops packets) costs each
    call of a request those seconds (redis-py's own default is 5, and a login makes several
    calls), after which the request goes on without it: its jobs wait for the relay, rate limits
    count in-process. The jobs worker's RQ raises the read timeout above its own blocking wait."""
    seconds = str(config["REDIS_TIMEOUT_SECONDS"])
    return _with_defaults(url, {"socket_connect_timeout": seconds, "socket_timeout": seconds})


# libpq's settings for a PostgreSQL connection whose network path dies without a word (a
# firewall's idle timeout, a failover that leaves the old address answering nothing): connect
# within 10 s; an idle pooled connection is probed after 30 s and found dead 30 s later, so the
# pool's check (app/core/db_ping.py) replaces it; a statement the server never acknowledged fails
# after 30 s instead of the kernel's 15 minutes. A query that runs long is not cut (its bytes were
# acknowledged). Each is kept when DATABASE_URL sets it.
POSTGRES_NETWORK = {
    "connect_timeout": "10",
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
    "tcp_user_timeout": "30000",
}


def database_address(url: str) -> str:
    """The database URL, with POSTGRES_NETWORK's settings for PostgreSQL unless it has its own."""
    return _with_defaults(url, POSTGRES_NETWORK) if url.startswith("postgresql") else url


def _with_defaults(url: str, defaults: dict[str, str]) -> str:
    """The URL with each of `defaults` in its query string, unless the URL sets it itself."""
    parts = urlsplit(url)
    query = defaults | dict(parse_qsl(parts.query))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _configure_services(app: Flask) -> None:
    """Redis, queues and rate-limit storage follow REDIS_URL; without it jobs run in-process."""
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        redis_url = redis_address(redis_url, app.config)
        app.config.setdefault("RQ_CONNECTION", redis_url)
        app.config.setdefault("RQ_ASYNC", True)
        app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url)
    else:
        # No queue is used: app/core/jobs.py runs each job right after its commit (JOBS_INLINE).
        app.config.setdefault("RQ_CONNECTION", {})
        app.config.setdefault("RQ_ASYNC", False)
        app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
        app.config["JOBS_INLINE"] = True


def _init_extensions(app: Flask) -> None:
    from app.core import db_ping, i18n, jobs, page_cache, ratelimit, relay, security, storage
    from app.extensions import babel, bootstrap, csrf, db, login, mail, rq

    db.init_app(app)  # Flask-Migrate (alembic) is set up by `flask db` only: app/cli.py
    db_ping.init_app(app)
    login.init_app(app)
    login.login_view = "auth.login"
    login.login_message_category = "info"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    mail.init_app(app)
    ratelimit.init_app(app)
    rq.init_app(app)
    bootstrap.init_app(app)
    storage.init_app(app)
    jobs.init_app(app)
    relay.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    page_cache.init_app(app)

    from flask_babel import lazy_gettext as _l

    login.login_message = _l("Please log in to see this page.")

    from app import models  # noqa: F401  (every model registered before the first query)
    from app.auth import sessions

    # Server-side sign-in sessions: the user, roles and session row in one query.
    sessions.init_app(app)

    @app.before_request
    def keep_session_alive():
        # Only a session with something in it: marking an empty one would sign and send a
        # cookie to every anonymous visitor (bench/README.md, "Foundation"); and only once, as
        # setting it marks the session changed, to be signed and sent again.
        if session and not session.permanent:
            session.permanent = True

    from app.core import fragments
    from app.core.http import remembered_url_for

    fragments.init_app(app)

    app.extensions["remembered_url_for"] = remembered_url_for(app)
    app.jinja_env.globals["url_for"] = app.extensions["remembered_url_for"]

    @app.context_processor
    def template_globals():
        from flask_babel import get_locale

        from app.core.glance import glance
        from app.core.i18n import LANGUAGE_NAMES
        from app.core.security import ROLE_LABELS, has_role

        return {
            "LANGUAGE_NAMES": LANGUAGE_NAMES,
            "has_role": has_role,
            "get_locale": get_locale,
            "glance": glance,
            "has_endpoint": lambda name: name in app.view_functions,
            "role_label": lambda role: ROLE_LABELS.get(role, role),
            "organisation": app.config["ORGANISATION_NAME"],
        }


def _register_blueprints(app: Flask) -> None:
    # The `noqa: F401` imports add views or commands to a blueprint defined in another module
    # of their package: imported here rather than by that module, so imports run one way only.
    from app.api import checkin, events, events_staff, me, members, polls, sign_in  # noqa: F401
    from app.api.routes import bp as api_bp
    from app.auth import passkey_routes, security_routes, sso_routes  # noqa: F401
    from app.auth.routes import account_bp
    from app.auth.routes import bp as auth_bp
    from app.checkin.routes import bp as checkin_bp
    from app.core.routes import bp as core_bp
    from app.events.routes import bp as events_bp
    from app.events.routes import tickets_bp
    from app.extensions import csrf
    from app.forms.routes import bp as forms_bp
    from app.inbox.routes import bp as inbox_bp
    from app.insights.routes import bp as insights_bp
    from app.members import cli, staff_actions, staff_groups, staff_import  # noqa: F401
    from app.members.routes import bp as members_bp
    from app.news.newsletter_routes import bp as newsletter_public_bp
    from app.news.routes import bp as news_bp
    from app.news.routes import pages_bp
    from app.polls.routes import bp as polls_bp
    from app.staff import tokens  # noqa: F401

    for blueprint in (
        core_bp,
        auth_bp,
        account_bp,
        checkin_bp,
        events_bp,
        tickets_bp,
        members_bp,
        polls_bp,
        news_bp,
        pages_bp,
        inbox_bp,
        newsletter_public_bp,
        forms_bp,
        insights_bp,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(_staff_area())
    from app.auth.login_flow import second_factor_gate

    app.extensions["staff_gate"] = second_factor_gate  # core.security.roles_required calls it
    csrf.exempt(api_bp)
    from app.api.spec import init_api

    init_api(app, api_bp)  # registers the blueprint and generates its OpenAPI description


@functools.cache
def _staff_area() -> Blueprint:
    """The staff blueprint with each domain's staff blueprint nested under it.

    Once per process: blueprints are module-level, and Flask refuses to nest into a blueprint
    that an app has already registered (tests build more than one app).
    """
    from app.checkin.staff import bp as checkin_staff
    from app.events.staff import bp as events_staff
    from app.forms.staff import bp as forms_staff
    from app.inbox.staff import bp as inbox_staff
    from app.insights.staff import bp as stats_staff
    from app.members.staff import bp as members_staff
    from app.news.newsletter_staff import bp as newsletters_staff
    from app.news.staff import bp as news_staff
    from app.news.staff import pages_bp as pages_staff
    from app.polls.staff import bp as polls_staff
    from app.staff.routes import bp as staff
    from app.webhooks.staff import bp as webhooks_staff

    for child in (
        checkin_staff,
        events_staff,
        members_staff,
        polls_staff,
        news_staff,
        pages_staff,
        newsletters_staff,
        inbox_staff,
        stats_staff,
        forms_staff,
        webhooks_staff,
    ):
        staff.register_blueprint(child)
    return staff


def _register_cli(app: Flask) -> None:
    from app.cli import register

    register(app)


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        if not root.handlers:
            root.addHandler(handler)
        root.setLevel(logging.INFO)
