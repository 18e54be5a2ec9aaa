"""Signing in after a first factor: the second step, then a fresh server-side session.

The seam every way of signing in uses (password, single sign-on, passkeys):

- `begin_sign_in(user, remember=..., method=...)` after a first factor succeeded: a user with a
  second factor gets a short-lived pending sign-in and goes to /auth/2fa; otherwise a session
  starts (staff who must have a second factor and have none go to set one up first).
- `finish_second_factor(user, method=...)` after /auth/2fa (a code) or a passkey assertion.
- `pending_user()` is the person waiting at /auth/2fa.
- `start_session(user, remember=..., second_factor=..., method=...)` starts the session itself.

These helpers end a request's work: begin_sign_in and finish_second_factor commit and return the
redirect.
"""

from __future__ import annotations

import time

from flask import flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import lazyload
from werkzeug.wrappers import Response

from app.auth import sessions
from app.auth.factors import has_second_factor, second_factor_required
from app.auth.models import SignInSession, User
from app.core.jobs import commit
from app.core.security import is_safe_next
from app.core.timeutil import utcnow
from app.extensions import db

PENDING = "_pending_sign_in"
PENDING_SECONDS = 300
# Flask session keys that outlive a sign-in (the language chosen before it, messages to show).
KEPT_KEYS = ("_locale", "_flashes")


def safe_next() -> str | None:
    """The local `next` of this request (query or form), or None."""
    target = request.args.get("next") or request.form.get("next")
    return target if is_safe_next(target) else None


def start_session(user: User, *, remember: bool, second_factor: bool, method: str) -> SignInSession:
    """A fresh session for the user: the previous one (if any) ends, nothing of it survives."""
    previous = sessions.current()
    if previous is not None:
        sessions.end_session(previous.id)
    kept = {name: session[name] for name in KEPT_KEYS if name in session}
    session.clear()
    session.update(kept)
    remember_row = None
    if remember:
        remember_row, remember_key = sessions.create(
            user, kind="remember", second_factor=second_factor, remember=True, method=method
        )
        g.new_remember_key = remember_key
    row, key = sessions.create(
        user,
        second_factor=second_factor,
        remember=remember,
        method=method,
        remember_id=remember_row.id if remember_row else None,
    )
    session["_user_id"] = key
    session.permanent = True
    g._login_user = user  # current_user for the rest of this request
    g.sign_in_session = row
    return row


def end_current_session() -> None:
    """Logout: the session row and its remember row go; the cookies are cleared."""
    row = sessions.current()
    if row is not None:
        sessions.end_session(row.id)
    session.clear()
    g.new_remember_key = ""  # delete the remember cookie
    g.pop("_login_user", None)
    g.pop("sign_in_session", None)


def _landing(target: str | None) -> Response:
    return redirect(target or url_for("account.home"))


def begin_sign_in(user: User, *, remember: bool, method: str) -> Response:
    """After a first factor: to /auth/2fa, to second-factor setup, or signed in to `next`."""
    target = safe_next()
    if has_second_factor(user):
        session[PENDING] = {
            "user": user.id,
            "remember": bool(remember),
            "method": method[:30],
            "at": int(time.time()),
            "next": target,
        }
        commit()
        return redirect(url_for("auth.second_factor"))
    start_session(user, remember=remember, second_factor=False, method=method)
    commit()
    if second_factor_required(user):
        return redirect(url_for("account.totp_setup", next=target))
    return _landing(target)


def _pending() -> dict | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("user"), int):
        return None
    if time.time() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop(PENDING, None)
        return None
    return pending


def pending_user() -> User | None:
    """The person who passed the first factor and now owes the second one."""
    pending = _pending()
    if pending is None:
        return None
    # The roles load only if asked: finishing the second step never needs them.
    user = db.session.get(User, pending["user"], options=[lazyload(User.roles)])
    return user if user is not None and user.is_active else None


def finish_second_factor(user: User, *, method: str) -> Response:
    """After a second factor matched for the pending person: start the session, go on."""
    pending = _pending()
    if pending is None or pending["user"] != user.id:
        return redirect(url_for("auth.login"))
    target = pending.get("next") if is_safe_next(pending.get("next")) else None
    start_session(
        user,
        remember=pending.get("remember", False),
        second_factor=True,
        method=f"{pending.get('method', 'password')}+{method}",
    )
    commit()
    return _landing(target)


def mark_verified(second_factor: bool = False) -> None:
    """The current session's person just proved it again (re-authentication)."""
    row = sessions.current()
    if row is None:
        return
    row = db.session.merge(row, load=True)
    row.verified_at = utcnow()
    if second_factor:
        row.second_factor = True
    g.sign_in_session = row


def second_factor_gate() -> Response | None:
    """For staff pages: a redirect when the signed-in staff user lacks a required second factor."""
    from flask_login import current_user

    if not current_user.is_authenticated or not second_factor_required(current_user):
        return None
    row = sessions.current()
    if row is not None and row.second_factor:
        return None
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    if has_second_factor(current_user):
        return redirect(url_for("auth.confirm", next=target))
    flash(_("Your staff role needs a second factor. Set one up to go on."), "warning")
    return redirect(url_for("account.totp_setup", next=target))
