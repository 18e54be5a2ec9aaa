"""Languages: locale selection, complete catalogs, no English left on Danish and Icelandic pages."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.extensions import db
from tests.factories import make_user
from tests.helpers import login
from tests.page_forms import page_urls

CATALOGS = Path(__file__).resolve().parent.parent / "translations"


@pytest.mark.parametrize("locale", ["da", "en", "is"])
def test_catalog_is_complete(locale):
    with (CATALOGS / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    missing = [
        m.id
        for m in catalog
        if m.id and (not all(m.string if isinstance(m.string, tuple) else [m.string]))
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not missing, f"{len(missing)} untranslated in {locale}: {missing[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy in {locale}: {fuzzy[:5]}"


def test_catalogs_cover_every_marked_string():
    """The catalogs are up to date with the code: nothing marked is missing from them."""
    from babel.messages.extract import extract_from_dir

    with (CATALOGS / "da" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    root = Path(__file__).resolve().parent.parent
    method_map = [
        ("app/**.py", "python"),
        ("app/templates/**.html", "jinja2"),
        ("app/templates/**.txt", "jinja2"),
    ]
    keywords = {
        "_": None,
        "_l": None,
        "gettext": None,
        "lazy_gettext": None,
        "ngettext": (1, 2),
        "lazy_ngettext": (1, 2),
    }
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(root), method_map=method_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    assert not (found - known), sorted(found - known)[:10]


def test_locale_from_cookie_then_accept_language_then_danish(client):
    client.delete_cookie("lang")
    assert '<html lang="da">' in client.get("/").get_data(as_text=True)
    page = client.get("/", headers={"Accept-Language": "is,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="is">' in page
    client.set_cookie("lang", "en")
    page = client.get("/", headers={"Accept-Language": "is"}).get_data(as_text=True)
    assert '<html lang="en">' in page


def test_templates_follow_force_locale_inside_a_request(app):
    """A page in one language can render a message in another (e-mails to other people)."""
    from flask import render_template_string
    from flask_babel import force_locale

    template = "{{ _('Log in') }} / {{ ngettext('%(num)d member', '%(num)d members', 2) }}"
    with app.test_request_context("/", headers={"Accept-Language": "da"}):
        danish = render_template_string(template)
        with force_locale("is"):
            icelandic = render_template_string(template)
        after = render_template_string("{{ _('Log in') }}")
        assert render_template_string(template) == danish
    assert danish.startswith("Log ind")
    assert icelandic == "Skrá inn / 2 félagar"
    assert after == "Log ind"


def test_saved_language_wins_and_switcher_saves_it(client, ctx):
    make_user("lang@example.org", locale="is")
    db.session.commit()
    login(client, "lang@example.org")
    client.set_cookie("lang", "en")
    assert '<html lang="is">' in client.get("/account").get_data(as_text=True)
    from tests.helpers import post_form

    post_form(client, "/language/da?next=/account", {}, page_url="/account")
    assert '<html lang="da">' in client.get("/account").get_data(as_text=True)


# Code, data and country names (the same in every language) are not sentences to translate.
SKIP_TAGS = ("script", "style", "code", "pre", "option")


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.chunks, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIP_TAGS:
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in SKIP_TAGS and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        text = " ".join(data.split())
        if not self._skip and len(text.split()) >= 3:
            self.chunks.append(text)


def _sentences(html: str) -> set[str]:
    parser = _Text()
    parser.feed(html)
    return set(parser.chunks)


def _leftovers(english, translated, urls, ignore=r"@") -> dict:
    found = {}
    for url in urls:
        en_response, tr_response = english.get(url), translated.get(url)
        if en_response.status_code in (301, 302, 303):
            continue  # a redirect, not a page (Werkzeug's body is never shown by a browser)
        en_html = en_response.get_data(as_text=True)
        tr_html = tr_response.get_data(as_text=True)
        same = {s for s in _sentences(en_html) & _sentences(tr_html) if not re.search(ignore, s)}
        if same:
            found[url] = sorted(same)
    return found


@pytest.mark.parametrize("locale", ["da", "is"])
def test_no_english_sentence_on_translated_pages(app, ctx, locale):
    """Render every page in English and in the locale; no visible sentence may be the same."""
    make_user("en-admin@example.org", name="Poly Glot", roles=["admin"], locale="en")
    make_user("tr-admin@example.org", name="Poly Glot", roles=["admin"], locale=locale)
    db.session.commit()
    english, translated = app.test_client(), app.test_client()
    english.set_cookie("lang", "en")
    translated.set_cookie("lang", locale)
    urls = page_urls(app)
    leftovers = _leftovers(english, translated, urls)
    login(english, "en-admin@example.org")
    login(translated, "tr-admin@example.org")
    leftovers.update(_leftovers(english, translated, urls, ignore=r"@|Poly Glot"))
    assert not leftovers, leftovers
