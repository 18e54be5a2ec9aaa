"""Event text: the rich-text allow-list (nh3) and plain text from it."""

from __future__ import annotations

import re

import nh3
from markupsafe import escape

ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "s", "a", "ul", "ol", "li",
    "h2", "h3", "h4", "blockquote", "code", "pre", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}
TAG_RE = re.compile(r"<[a-zA-Z/][^>]*>")


def clean_html(text: str | None) -> str:
    """Allow-listed HTML: no scripts, no event handlers, no javascript: links.

    Plain text (no tags at all) becomes paragraphs, so organisers can also just type.
    """
    text = (text or "").strip()
    if not text:
        return ""
    if not TAG_RE.search(text):
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        text = "".join(
            "<p>" + "<br>".join(str(escape(line)) for line in p.splitlines()) + "</p>"
            for p in paragraphs
        )
    return nh3.clean(
        text,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


def plain_text(html: str | None) -> str:
    """The text of cleaned HTML, for calendar files and sharing tags."""
    text = re.sub(r"<(br|/p|/li|/h[2-4]|/blockquote)\s*/?>", "\n", html or "")
    text = nh3.clean(text, tags=set())
    import html as html_lib

    return re.sub(r"\n{3,}", "\n\n", html_lib.unescape(text)).strip()
