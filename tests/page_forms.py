"""The app's pages and the POST forms on them, for the tests that send every form (its messages
in every language; no 500 for anything a form can be made to send)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

SKIP_PREFIXES = ("/api", "/static", "/bootstrap", "/media", "/health", "/language", "/t/")
SKIP_SUFFIXES = (".json", ".ics", ".png", ".js", ".css", ".csv", ".xlsx", ".webmanifest")
# Forms whose sending ends the session or changes who may sign in: sent, they would sign the
# test's user out or away (their validation is the same as every other form's).
SKIP_ACTIONS = re.compile(r"logout|/delete|/close|/revoke|/resign|/erase|/end|/language")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def page_urls(app) -> list[str]:
    """Every page without URL parameters that answers GET (new domains are covered too)."""
    urls = {"/no-such-page"}
    for rule in app.url_map.iter_rules():
        if (
            "GET" in rule.methods
            and not rule.arguments
            and not rule.rule.startswith(SKIP_PREFIXES)
            and not rule.rule.endswith(SKIP_SUFFIXES)
        ):
            urls.add(rule.rule)
    return sorted(urls)


def object_pages(app, ids: dict[str, int]) -> list[str]:
    """The GET pages of the objects in `ids` (an event, member, poll...: their forms live there)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.arguments and rule.arguments <= set(ids):
            if not rule.rule.startswith(("/api", "/static")) and not rule.rule.endswith(".ics"):
                urls.append(rule.build(ids, append_unknown=False)[1])
    return sorted(urls)


class PostForms(HTMLParser):
    """The POST forms of a page: action and fields (name, type, attributes; a select's
    attributes have its options' values under "options")."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form = None
        self._select: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._form = {"action": a.get("action") or "", "fields": []}
            self.forms.append(self._form)
        elif self._form is not None and a.get("name"):
            if tag == "input":
                self._form["fields"].append((a["name"], (a.get("type") or "text").lower(), a))
            elif tag in ("textarea", "select"):
                self._form["fields"].append((a["name"], tag, a))
                if tag == "select":
                    self._select = a
                    a["options"] = []
        elif tag == "option" and self._select is not None:
            self._select["options"].append(a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def post_forms(client, urls: list[str]) -> Iterator[tuple[str, str, dict, str]]:
    """(page, action, form, CSRF token) for each form with visible fields on the pages, except
    those that would sign the client out or away, or post to another site."""
    for url in urls:
        page = client.get(url)
        if page.status_code != 200 or "text/html" not in page.content_type:
            continue
        html = page.get_data(as_text=True)
        token = CSRF.search(html)
        parser = PostForms()
        parser.feed(html)
        for form in parser.forms:
            action = form["action"] or url
            visible = [n for n, kind, _a in form["fields"] if kind not in ("hidden", "submit")]
            if token and visible and not SKIP_ACTIONS.search(action) and "://" not in action:
                yield url, action, form, token.group(1)
