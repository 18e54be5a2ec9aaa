"""Every page a visitor, a member and an admin can reach by following links has well-formed markup
for assistive technology: ids unique on the page (a label's `for` finds one control) and no empty
table header."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest

from app.demo import ADMIN
from app.extensions import db
from tests.helpers import login

# GETs that change state or leave the HTML site: never followed by the crawler.
SKIP = re.compile(
    r"^/(language/|auth/logout|static/|api/|unsubscribe/|auth/verify/|t/)|\.(csv|xlsx|json|ics|png|xml)$"
)
PER_PATTERN = 2  # /staff/members/12 and /staff/members/13 are the same page: two of each is enough
MAX_PAGES = 400


class _Markup(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.links: list[str] = []
        self.empty_headers = 0
        self._th_text: list[str] | None = None
        self._th_labelled = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids[attrs["id"]] += 1
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "th":
            self._th_text = []
            self._th_labelled = bool(attrs.get("aria-label"))
        elif self._th_text is not None and (attrs.get("aria-label") or attrs.get("alt")):
            self._th_labelled = True

    def handle_data(self, data):
        if self._th_text is not None:
            self._th_text.append(data)

    def handle_endtag(self, tag):
        if tag == "th" and self._th_text is not None:
            if not "".join(self._th_text).strip() and not self._th_labelled:
                self.empty_headers += 1
            self._th_text = None


def _pattern(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def crawl(client, seeds: list[str]) -> dict[str, _Markup]:
    """Follow same-site links from the seeds; returns each HTML page's parsed markup."""
    seen: dict[str, _Markup] = {}
    per_pattern: Counter[str] = Counter()
    queue = list(seeds)
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        path = urlsplit(url).path
        if url in seen or SKIP.search(path) or per_pattern[_pattern(path)] >= PER_PATTERN:
            continue
        per_pattern[_pattern(path)] += 1
        response = client.get(url)
        html = response.status_code == 200 and response.mimetype == "text/html"
        body = response.get_data(as_text=True) if html else ""
        response.close()  # a streamed download ends its request context here
        if not html:
            continue
        markup = _Markup()
        markup.feed(body)
        seen[url] = markup
        for href in markup.links:
            href = urldefrag(href)[0]
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return seen


@pytest.fixture()
def demo(app, ctx):
    from app.demo import seed

    seed(member_count=8)
    db.session.commit()


@pytest.mark.parametrize("who", ["visitor", "member", "admin"])
def test_every_reachable_page_has_unique_ids_and_no_empty_table_header(app, demo, who):
    client = app.test_client()
    seeds = ["/", "/events/", "/news/", "/contact"]
    if who == "member":
        login(client, "member001@felag.local", ADMIN[1])
        seeds += ["/account", "/members/me", "/account/profile", "/tickets/", "/polls/"]
    elif who == "admin":
        login(client, *ADMIN)
        seeds += ["/account", "/staff/", "/staff/members/", "/staff/events/", "/staff/users/"]
    pages = crawl(client, seeds)
    assert len(pages) > (60 if who == "admin" else 10), sorted(pages)
    duplicates = {
        url: sorted(name for name, n in markup.ids.items() if n > 1)
        for url, markup in pages.items()
        if any(n > 1 for n in markup.ids.values())
    }
    assert not duplicates
    empty = {url: m.empty_headers for url, m in pages.items() if m.empty_headers}
    assert not empty, sorted(empty)
