"""Markdown to safe HTML: markdown-it-py renders, nh3 sanitises (posts, pages, newsletters)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "s", "del", "a", "ul", "ol", "li", "h1", "h2", "h3", "h4",
    "h5", "h6", "blockquote", "code", "pre", "hr", "img", "table", "thead", "tbody", "tr", "th",
    "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "loading"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}
# The help under every Markdown field (posts, pages, newsletters, event descriptions).
MARKDOWN_HELP = _l("Markdown: **bold**, *italics*, # headings, - lists, [link](https://...).")
LINK_REL = "nofollow noopener noreferrer"
# The path our own public files are served under (core.media); S3 may add a public URL.
MEDIA_PATH = "/media/"


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Imported on first use: markdown-it and its rules are ~6 MB a web worker may never need.
    from markdown_it import MarkdownIt

    # "html": False escapes raw HTML in the text instead of passing it on: nh3 is the second
    # line, not the only one.
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("image", _render_image)
    return md


def _image_sources() -> tuple[str, ...]:
    """Prefixes an image may come from: our storage, or any https address."""
    sources = ["https://", MEDIA_PATH]
    if has_app_context():
        public = (current_app.config.get("S3_PUBLIC_URL") or "").rstrip("/")
        if public:
            sources.append(public + "/")
    return tuple(sources)


def image_allowed(src: str) -> bool:
    """True for an image from the storage layer or an https address."""
    src = (src or "").strip()
    if src.startswith("//") or "\\" in src or ".." in src:
        return False
    return src.lower().startswith("https://") or src.startswith(_image_sources())


def _render_image(self, tokens, idx, options, env) -> str:
    """An image from elsewhere (http:, data:, a path outside storage) is shown as its alt text."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env)
    if not image_allowed(src):
        return str(escape(alt))
    title = token.attrGet("title")
    title_attr = f' title="{escape(title)}"' if title else ""
    return f'<img src="{escape(src)}" alt="{escape(alt)}"{title_attr} loading="lazy">'


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not image_allowed(value):
        return None
    return value


def sanitize_html(html: str) -> str:
    """Allow-listed HTML: no scripts, styles, event handlers or javascript: links."""
    import nh3

    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    ).strip()


def render_markdown(text: str | None) -> Markup:
    """Markdown as sanitised HTML, safe to put into a page or an e-mail."""
    text = (text or "").strip()
    if not text:
        return Markup("")
    return Markup(sanitize_html(_parser().render(text)))


def markdown_to_text(text: str | None, limit: int | None = None) -> str:
    """Plain text of Markdown (for summaries, feeds and Open Graph descriptions)."""
    import html as html_lib

    html = render_markdown(text)
    import nh3

    plain = nh3.clean(re.sub(r"</(p|li|h[1-6]|blockquote|tr)>", "\n", str(html)), tags=set())
    plain = re.sub(r"\n{2,}", "\n", html_lib.unescape(plain)).strip()
    if limit and len(plain) > limit:
        plain = plain[: limit - 1].rsplit(" ", 1)[0] + "…"
    return plain
