"""The look of every e-mail Félag sends: the association's name, logo and colour, CSS inlined.

One settings row, edited by admins and editors in the staff area (/staff/newsletters/layout).
The HTML layout is templates/emails/base.html; its <style> is inlined into style attributes with
css-inline (mail programs drop <style> blocks), and the dark-mode rules stay in a kept <style>
for the programs that read them.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.errors import DomainError
from app.core.timeutil import UTCDateTime, utcnow
from app.extensions import db

DEFAULT_COLOUR = "#0b5ed7"  # Bootstrap blue, one shade darker: 5.8:1 on white (WCAG AA)
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_TYPES = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "GIF": ("gif", "image/gif"),
}
CACHE_SECONDS = 30


class MailLayout(db.Model):
    """The e-mail layout's settings (one row; none means the defaults)."""

    __tablename__ = "mail_layout_settings"
    __table_args__ = (CheckConstraint("length(colour) = 7", name="colour_is_hex"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")  # blank: ORGANISATION_NAME
    colour: Mapped[str] = mapped_column(String(7), default=DEFAULT_COLOUR)
    logo_key: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class Layout:
    name: str
    colour: str
    logo_url: str | None


_cache: tuple[float, Layout] | None = None


def forget() -> None:
    """Drop this process's copy after a change (other processes follow within CACHE_SECONDS)."""
    global _cache
    _cache = None


def _logo_url(key: str) -> str:
    from app.core.http import absolute_url
    from app.core.storage import get_storage

    storage = get_storage()
    if getattr(storage, "public_url", None):
        return storage.url("public", key)
    return absolute_url("core.media", key=key)  # e-mails need an absolute address


def current_layout() -> Layout:
    """The layout for e-mails now (cached briefly: a newsletter renders thousands of mails)."""
    global _cache
    if _cache is not None and time.monotonic() - _cache[0] < CACHE_SECONDS:
        return _cache[1]
    row = db.session.scalar(db.select(MailLayout).order_by(MailLayout.id).limit(1))
    layout = Layout(
        name=(row.name if row and row.name else current_app.config["ORGANISATION_NAME"]),
        colour=(row.colour if row else DEFAULT_COLOUR),
        logo_url=_logo_url(row.logo_key) if row and row.logo_key else None,
    )
    _cache = (time.monotonic(), layout)
    return layout


MIN_CONTRAST = 4.5  # WCAG AA for text: the colour is used for links and under button text


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_colour_on(colour: str) -> str:
    """Black or white, whichever reads better on the colour (WCAG relative luminance)."""
    return "#000000" if _luminance(colour) > 0.179 else "#ffffff"


def save_layout(name: str, colour: str, logo: bytes | None = None, remove_logo=False) -> MailLayout:
    """Change the name, colour and logo of the e-mails."""
    from PIL import Image, UnidentifiedImageError

    from app.core.storage import new_key, store

    colour = (colour or "").strip()
    if not COLOUR_RE.match(colour):
        raise DomainError(_l("Give the colour as #rrggbb."), field="colour")
    from flask_babel import format_decimal

    ratio = contrast(colour, "#ffffff")
    if ratio < MIN_CONTRAST:
        raise DomainError(
            _l(
                "This colour is too light to read on white (contrast %(ratio)s:1, at least 4.5:1 "
                "is needed): choose a darker shade.",
                ratio=format_decimal(ratio, format="0.0"),
            ),
            field="colour",
        )
    row = db.session.scalar(
        db.select(MailLayout).order_by(MailLayout.id).limit(1).with_for_update()
    )
    if row is None:
        row = MailLayout()
        db.session.add(row)
    row.name, row.colour, row.updated_at = (name or "").strip()[:200], colour.lower(), utcnow()
    if logo:
        try:
            with Image.open(io.BytesIO(logo)) as image:
                kind = image.format
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise DomainError(_l("Use a PNG, JPEG or GIF image."), field="logo") from exc
        if kind not in LOGO_TYPES:
            raise DomainError(_l("Use a PNG, JPEG or GIF image."), field="logo")
        extension, content_type = LOGO_TYPES[kind]
        row.logo_key = store("public", new_key("branding", extension), logo, content_type)
    elif remove_logo:
        row.logo_key = None
    db.session.flush()
    forget()
    return row


_inliner = None  # css_inline.CSSInliner, made (and imported) with the first e-mail


def inline_css(html: str) -> str:
    """The HTML with its <style> rules in style attributes; `data-css-inline="keep"` tags stay."""
    global _inliner
    if _inliner is None:
        import css_inline

        _inliner = css_inline.CSSInliner(load_remote_stylesheets=False)
    return _inliner.inline(html)
