"""The association's look on every page: name, logo and colour from the one branding row
(core/mail_layout.py, which dresses the e-mails too), as a small stylesheet and template values."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from flask import has_request_context, url_for

from app.core import mail_layout


def _shade(colour: str, factor: float) -> str:
    """The colour darkened towards black by `factor` (0..1)."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c * (1 - factor)):02x}" for c in rgb)


@lru_cache(maxsize=8)
def stylesheet(colour: str) -> str:
    """CSS custom properties that make Bootstrap's primary colour the association's."""
    rgb = ",".join(str(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    text = mail_layout.text_colour_on(colour)
    hover, active = _shade(colour, 0.15), _shade(colour, 0.25)
    return f"""/* Generated from the branding settings: {colour} */
:root, [data-bs-theme=light] {{
  --bs-primary: {colour}; --bs-primary-rgb: {rgb};
  --bs-link-color: {colour}; --bs-link-color-rgb: {rgb};
  --bs-link-hover-color: {hover}; --bs-link-hover-color-rgb: {rgb};
  --focus-ring-colour: {colour};
}}
.btn-primary {{
  --bs-btn-bg: {colour}; --bs-btn-border-color: {colour}; --bs-btn-color: {text};
  --bs-btn-hover-bg: {hover}; --bs-btn-hover-border-color: {hover}; --bs-btn-hover-color: {text};
  --bs-btn-active-bg: {active}; --bs-btn-active-border-color: {active};
  --bs-btn-active-color: {text};
  --bs-btn-disabled-bg: {colour}; --bs-btn-disabled-border-color: {colour};
}}
.btn-outline-primary {{
  --bs-btn-color: {colour}; --bs-btn-border-color: {colour};
  --bs-btn-hover-bg: {colour}; --bs-btn-hover-border-color: {colour}; --bs-btn-hover-color: {text};
  --bs-btn-active-bg: {active}; --bs-btn-active-border-color: {active};
  --bs-btn-active-color: {text};
}}
.navbar.navbar-brand-colour {{
  background-color: {colour};
  --bs-navbar-color: {text}; --bs-navbar-hover-color: {text}; --bs-navbar-active-color: {text};
  --bs-navbar-brand-color: {text}; --bs-navbar-brand-hover-color: {text};
  --focus-ring-colour: {text};
}}
.text-bg-primary, .badge.text-bg-primary {{ color: {text} !important; }}
"""


def page_branding() -> dict:
    """Template values: the name, logo, colour, whether the navbar is dark, the stylesheet URL."""
    layout = mail_layout.current_layout()
    version = hashlib.sha256(layout.colour.encode()).hexdigest()[:10]
    return {
        "name": layout.name,
        "colour": layout.colour,
        "logo_url": layout.logo_url,
        "dark": mail_layout.text_colour_on(layout.colour) == "#ffffff",
        # E-mails rendered by the jobs worker have no request to build a relative URL from.
        "css_url": url_for("core.branding_css", v=version) if has_request_context() else None,
    }
