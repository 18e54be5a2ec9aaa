"""Helpers for the inbox tests: sending the contact form as a person would."""

from __future__ import annotations

import re
from datetime import timedelta

from app.core import timeutil
from tests.helpers import csrf_from

TOKEN_RE = re.compile(r'name="token" type="hidden" value="([^"]+)"')


def contact_page(client) -> tuple[str, str]:
    """The CSRF token and the form's signed token from a fresh contact page."""
    html = client.get("/contact").get_data(as_text=True)
    return csrf_from(html), TOKEN_RE.search(html).group(1)


def later(monkeypatch, seconds: float) -> None:
    """Move the app's clock on, as if the person spent this long on the form."""
    moved = timeutil.utcnow() + timedelta(seconds=seconds)
    monkeypatch.setattr(timeutil, "clock", lambda: moved)


def send_contact(client, monkeypatch, seconds: float = 30, **fields):
    """Open /contact, take `seconds` to fill it in, and send it."""
    csrf, token = contact_page(client)
    later(monkeypatch, seconds)
    data = {
        "csrf_token": csrf,
        "token": token,
        "name": "Sigrún Jónsdóttir",
        "email": "sigrun@example.is",
        "subject": "Aðild",
        "message": "Hvernig gerist ég félagi?",
        "website": "",
        **fields,
    }
    return client.post("/contact", data=data)
