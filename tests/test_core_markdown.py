"""Markdown rendering (markdown-it-py) and sanitising (nh3): formatting survives, XSS does not."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from app.core.markdown import ALLOWED_TAGS, image_allowed, markdown_to_text, render_markdown

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)>",
    '![x" onerror="alert(1)](https://example.org/a.png)',
    "![x](javascript:alert(1))",
    "<style>body{display:none}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<form action=https://evil.example><input name=p></form>",
    "<details open ontoggle=alert(1)>",
    '[x](https://example.org "title" onmouseover=alert(1))',
]


class _Tags(HTMLParser):
    """Every tag and attribute a browser would build from the HTML."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_come_out_harmless(ctx, payload):
    html = str(render_markdown(f"Before\n\n{payload}\n\nAfter"))
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, html
        for name, value in attrs:
            assert not name.startswith("on"), html
            assert name != "style", html
            if name in ("href", "src"):
                scheme = "".join((value or "").split()).lower()
                assert not scheme.startswith(("javascript:", "vbscript:", "data:")), html
    assert "Before" in html and "After" in html


def test_markdown_formatting_is_kept(ctx):
    html = str(
        render_markdown(
            "## Árlegur fundur\n\nWe meet **on Friday** in *Þórshöfn*.\n\n"
            "- coffee\n- cake\n\n> quoted\n\n`code` and ~~gone~~\n\n| a | b |\n|---|---|\n| 1 | 2 |"
        )
    )
    assert "<h2>Árlegur fundur</h2>" in html
    assert "<strong>on Friday</strong>" in html and "<em>Þórshöfn</em>" in html
    assert "<li>coffee</li>" in html and "<blockquote>" in html
    assert "<code>code</code>" in html and "<s>gone</s>" in html
    assert "<td>1</td>" in html


def test_links_get_rel_attributes(ctx):
    html = str(render_markdown("[site](https://example.org/x) and [mail](mailto:a@example.org)"))
    assert 'href="https://example.org/x"' in html
    assert 'rel="nofollow noopener noreferrer"' in html
    assert 'href="mailto:a@example.org"' in html


def test_raw_html_is_shown_as_text_not_run(ctx):
    html = str(render_markdown("<b>bold?</b>"))
    assert "<b>" not in html and "&lt;b&gt;bold?&lt;/b&gt;" in html


def test_images_only_from_storage_or_https(ctx):
    html = str(
        render_markdown(
            "![ours](/media/news/abc.jpg) ![tls](https://cdn.example.org/a.png) "
            "![plain](http://example.org/a.png) ![inline](data:image/png;base64,AAAA) "
            "![rel](../../etc/passwd) ![proto](//evil.example/a.png)"
        )
    )
    assert '<img src="/media/news/abc.jpg" alt="ours"' in html
    assert '<img src="https://cdn.example.org/a.png" alt="tls"' in html
    assert html.count("<img") == 2
    # The refused images leave their alt text, not a broken image.
    assert "plain" in html and "inline" in html and "proto" in html


def test_image_allowed_rules():
    assert image_allowed("/media/news/a.jpg")
    assert image_allowed("HTTPS://example.org/a.png")
    assert not image_allowed("http://example.org/a.png")
    assert not image_allowed("/media/../auth/logout")
    assert not image_allowed("//evil.example/a.png")
    assert not image_allowed("javascript:alert(1)")


def test_result_is_markup_and_empty_text_is_empty(ctx):
    assert isinstance(render_markdown("x"), Markup)
    assert render_markdown("") == "" and render_markdown(None) == ""


def test_markdown_to_text_for_summaries(ctx):
    text = markdown_to_text("# Title\n\nSome *text* with [a link](https://x.example).", limit=200)
    assert text == "Title\nSome text with a link."
    assert markdown_to_text("word " * 100, limit=30).endswith("…")
    assert len(markdown_to_text("word " * 100, limit=30)) <= 30
