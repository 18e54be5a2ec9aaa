"""Server-side sign-in sessions: the cookie holds a random key, the row its hash.

Flask's signed cookie session keeps the CSRF token, flashes and the language; its `_user_id`
holds the session key, which Flask-Login hands to `load_session_user` (one query joining the
session row, the user and the roles). A row ends at logout, after SESSION_IDLE_MINUTES without
use, and SESSION_ABSOLUTE_HOURS after it began. "Keep me logged in" is a row of its own
(kind "remember", REMEMBER_DAYS) in its own cookie: when no session is alive it starts a new
one and its key is replaced, so a copied old remember cookie is worth nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import joinedload

from app.auth.models import SignInSession, User
from app.core.timeutil import utcnow
from app.extensions import db

LAST_SEEN_RESOLUTION = timedelta(minutes=1)
BROWSER_MAX = 120


def hash_key(key: str) -> str:
    """Keys are long random values: a fast hash keeps a stolen table useless."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return secrets.token_urlsafe(32)


def browser_summary(user_agent: str | None) -> str:
    """A short name of the browser and system for the sessions list ("Firefox on Linux")."""
    agent = user_agent or ""
    browser = next(
        (
            name
            for marker, name in (
                ("Edg/", "Edge"),
                ("OPR/", "Opera"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Chromium/", "Chromium"),
                ("Safari/", "Safari"),
            )
            if marker in agent
        ),
        "",
    )
    system = next(
        (
            name
            for marker, name in (
                ("Android", "Android"),
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("Linux", "Linux"),
            )
            if marker in agent
        ),
        "",
    )
    if browser and system:
        return f"{browser} / {system}"[:BROWSER_MAX]
    return (browser or system or agent[:60])[:BROWSER_MAX]


def _limits():
    config = current_app.config
    return (
        timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
        timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]),
        timedelta(days=config["REMEMBER_DAYS"]),
    )


def create(
    user: User,
    *,
    kind: str = "session",
    second_factor: bool,
    remember: bool,
    method: str,
    remember_id: int | None = None,
) -> tuple[SignInSession, str]:
    """A new session (or remember) row for the user; the plain key is returned once."""
    _idle, absolute, remember_life = _limits()
    now = utcnow()
    key = new_key()
    row = SignInSession(
        user_id=user.id,
        kind=kind,
        key_hash=hash_key(key),
        remember_id=remember_id,
        created_at=now,
        last_seen_at=now,
        verified_at=now,
        expires_at=now + (remember_life if kind == "remember" else absolute),
        address=(request.remote_addr or "")[:64] or None,
        browser=browser_summary(request.headers.get("User-Agent")) or None,
        second_factor=second_factor,
        remember=remember,
        method=method[:40],
    )
    db.session.add(row)
    db.session.flush()
    return row, key


def _alive(row: SignInSession, now) -> bool:
    idle, _absolute, _remember = _limits()
    if row.expires_at <= now:
        return False
    return row.kind == "remember" or now - row.last_seen_at <= idle


# Built once: a signed-in request only binds the key's hash.
_SESSION_USER = (
    select(SignInSession, User)
    .join(User, User.id == SignInSession.user_id)
    .options(joinedload(User.roles))
    .where(SignInSession.key_hash == bindparam("key_hash"), SignInSession.kind == "session")
)


def load_session_user(key: str) -> User | None:
    """The user of a live session key (Flask-Login's user_loader); ends a dead one."""
    now = utcnow()
    found = db.session.execute(_SESSION_USER, {"key_hash": hash_key(key)}).unique().first()
    if found is None:
        return None
    row, user = found
    if not user.is_active or not _alive(row, now):
        end_rows([row.id])
        db.session.commit()
        return None
    if now - row.last_seen_at > LAST_SEEN_RESOLUTION:
        # Committed at once: the user is loaded before the request does its own work (see
        # init_app), so nothing of the request's goes with it.
        row.last_seen_at = now
        db.session.commit()
        session.modified = True  # the cookie's expiry moves with the idle clock
    g.sign_in_session = row
    return user


def restore_from_remember(key: str) -> tuple[User, SignInSession, str, str] | None:
    """Start a session from a remember key: (user, session, session key, new remember key).

    The remember row's key is replaced at once (a conditional UPDATE on the old hash, so two
    requests presenting the same key cannot both use it).
    """
    now = utcnow()
    row = db.session.scalar(
        select(SignInSession).where(
            SignInSession.key_hash == hash_key(key), SignInSession.kind == "remember"
        )
    )
    if row is None:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active or not _alive(row, now):
        end_rows([row.id])
        db.session.commit()
        return None
    fresh = new_key()
    claimed = db.session.execute(
        update(SignInSession)
        .where(SignInSession.id == row.id, SignInSession.key_hash == row.key_hash)
        .values(key_hash=hash_key(fresh), last_seen_at=now)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        return None
    session_row, session_key = create(
        user,
        second_factor=row.second_factor,
        remember=True,
        method=row.method,
        remember_id=row.id,
    )
    session_row.verified_at = row.verified_at  # re-authentication counts from the real check
    db.session.commit()
    return user, session_row, session_key, fresh


def end_rows(ids: list[int]) -> None:
    """Delete these rows and the sessions started from them."""
    if ids:
        db.session.execute(
            delete(SignInSession).where(
                or_(SignInSession.id.in_(ids), SignInSession.remember_id.in_(ids))
            )
        )


def end_session(row_id: int) -> None:
    """Logout: the session and the remember row it belongs to."""
    row = db.session.get(SignInSession, row_id)
    if row is None:
        return
    end_rows([row.id] + ([row.remember_id] if row.remember_id else []))


def end_all(user_id: int, keep: SignInSession | None = None) -> int:
    """End every session and remember row of the user except `keep` (and its remember row)."""
    kept = [keep.id, keep.remember_id] if keep is not None else []
    kept = [i for i in kept if i]
    stmt = delete(SignInSession).where(SignInSession.user_id == user_id)
    if kept:
        stmt = stmt.where(SignInSession.id.not_in(kept))
    return db.session.execute(stmt).rowcount or 0


def sessions_of(user_id: int) -> list[SignInSession]:
    """The user's live sessions, the most recent first."""
    now = utcnow()
    idle, _absolute, _remember = _limits()
    rows = db.session.scalars(
        select(SignInSession)
        .where(
            SignInSession.user_id == user_id,
            SignInSession.kind == "session",
            SignInSession.expires_at > now,
            SignInSession.last_seen_at > now - idle,
        )
        .order_by(SignInSession.last_seen_at.desc())
    ).all()
    return list(rows)


def current() -> SignInSession | None:
    """This request's session row (after current_user was loaded)."""
    return g.get("sign_in_session")


def current_key() -> str | None:
    return session.get("_user_id")


def _load_from_remember_cookie(_request) -> User | None:
    """Flask-Login's request_loader: no live session, but a remember cookie may start one."""
    key = request.cookies.get(current_app.config["REMEMBER_KEY_COOKIE"])
    if not key:
        return None
    restored = restore_from_remember(key)
    if restored is None:
        g.new_remember_key = ""  # a dead or reused key: drop the cookie
        return None
    user, row, session_key, remember_key = restored
    kept = {name: session[name] for name in ("_locale", "_flashes") if name in session}
    session.clear()
    session.update(kept)
    session["_user_id"] = session_key
    session.permanent = True
    g.sign_in_session = row
    g.new_remember_key = remember_key
    return user


STATIC_ENDPOINTS = ("static", "bootstrap.static")


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, not sent again with static files: a stylesheet or an icon
    has nothing to say about the session, and a response to it could otherwise put back a cookie
    the browser dropped meanwhile (a logout in another tab)."""

    def should_set_cookie(self, app, session) -> bool:
        if request.endpoint in STATIC_ENDPOINTS:  # saving a session happens in a request
            return False
        return super().should_set_cookie(app, session)


def init_app(app) -> None:
    """Sessions behind Flask-Login; the remember cookie set or cleared after a request."""
    from app.extensions import login

    app.session_interface = SessionCookies()

    login.session_protection = None  # the session row is the protection
    login.user_loader(load_session_user)
    login.request_loader(_load_from_remember_cookie)

    @app.before_request
    def _load_signed_in_user():
        # Before the view's own work, so the loader's writes (last seen, an ended or restored
        # session) commit alone; static files skip it.
        if request.endpoint in STATIC_ENDPOINTS:
            return
        if "_user_id" in session or app.config["REMEMBER_KEY_COOKIE"] in request.cookies:
            current_user._get_current_object()

    @app.after_request
    def _write_remember_cookie(response):
        key = g.pop("new_remember_key", None)
        if key is None:
            return response
        config = app.config
        name = config["REMEMBER_KEY_COOKIE"]
        if key:
            response.set_cookie(
                name,
                key,
                max_age=int(timedelta(days=config["REMEMBER_DAYS"]).total_seconds()),
                path="/",
                secure=config["SESSION_COOKIE_SECURE"],
                httponly=True,
                samesite="Lax",
            )
        else:
            response.delete_cookie(
                name, path="/", secure=config["SESSION_COOKIE_SECURE"], samesite="Lax"
            )
        return response
