"""The parts of every page that read the same in one language are rendered once per language
(app/core/fragments.py): each language still gets its own words."""

from __future__ import annotations


def _footer(client, lang: str) -> str:
    client.set_cookie("lang", lang)
    html = client.get("/auth/login").get_data(as_text=True)
    return html[html.index("<footer") : html.index("</footer>")]


def test_the_footer_is_rendered_in_each_language_and_kept(app, client):
    first = {lang: _footer(client, lang) for lang in ("en", "da", "is", "en")}
    assert "About us" in first["en"] and "Contact us" in first["en"]
    assert "Om foreningen" in _footer(client, "da") and "About us" not in _footer(client, "da")
    assert "Um félagið" in _footer(client, "is")
    kept = app.extensions["fragments"]
    assert {key[1] for key in kept if key[0] == "footer-links"} >= {"en", "da", "is"}
    assert _footer(client, "en") == first["en"]


def test_the_confirmation_dialog_and_scripts_follow_the_language(client):
    client.set_cookie("lang", "da")
    danish = client.get("/auth/login").get_data(as_text=True)
    client.set_cookie("lang", "en")
    english = client.get("/auth/login").get_data(as_text=True)
    assert 'id="confirm-dialog"' in danish and "js/app.js" in danish
    assert "Are you sure?" in english and "Are you sure?" not in danish
