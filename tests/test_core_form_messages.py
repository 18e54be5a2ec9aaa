"""WTForms' own messages ("This field is required.", "Invalid email address.", lengths, numbers,
dates, choices) in Danish and Icelandic: every form on every page is sent empty and with bad
values, and no English validation message comes back."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale

from app.core.form_messages import MESSAGES, PLURALS
from app.extensions import db
from tests.factories import make_event, make_poll, make_user
from tests.helpers import login
from tests.members_helpers import make_member
from tests.page_forms import object_pages, page_urls, post_forms


def _english_patterns() -> list[re.Pattern]:
    """Every WTForms message in English, its numbers and names as wildcards."""
    msgids = [m._args[0] for m in MESSAGES]
    for plural in PLURALS:
        msgids += plural._args[:2]
    patterns = []
    for msgid in msgids:
        text = re.escape(msgid.replace("&", "&amp;").replace("'", "&#39;"))
        text = re.sub(r"%\\\(\w+\\\)[ds]", ".+?", text)
        patterns.append(re.compile(text))
        # The same message where Jinja did not escape it.
        patterns.append(re.compile(re.sub(r"%\\\(\w+\\\)[ds]", ".+?", re.escape(msgid))))
    return patterns


ENGLISH = _english_patterns()


def _bad(kind: str) -> str | None:
    """A value each kind of field refuses (None: leave the field out)."""
    return {
        "email": "not-an-address",
        "number": "many",
        "date": "2026-02-31",
        "datetime-local": "tomorrow",
        "time": "25:99",
        "url": "not a url",
        "select": "no-such-choice",
        "textarea": "x" * 70000,
        "text": "x" * 5000,
        "tel": "x" * 500,
        "password": "x",
        "search": None,
    }.get(kind)


def _submissions(form: dict, token: str) -> list[dict]:
    names = [(n, kind) for n, kind, _a in form["fields"] if kind not in ("hidden", "submit")]
    hidden = {n: a.get("value", "") for n, kind, a in form["fields"] if kind == "hidden"}
    hidden["csrf_token"] = token
    empty = dict(hidden)
    bad = dict(hidden)
    for name, kind in names:
        value = _bad(kind)
        if value is not None:
            bad[name] = value
    return [empty, bad]


def _english_in(html: str) -> list[str]:
    return sorted({m.group(0) for p in ENGLISH for m in p.finditer(html)})


def _check_forms(client, urls: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for url, action, form, token in post_forms(client, urls):
        for data in _submissions(form, token):
            leftovers = _english_in(client.post(action, data=data).get_data(as_text=True))
            if leftovers:
                found[f"{url} -> {action}"] = leftovers
    return found


@pytest.mark.parametrize("locale", ["da", "is"])
def test_every_form_sent_empty_or_wrong_answers_without_english(app, ctx, locale):
    admin_user = make_user("forms-admin@example.org", name="Form", roles=["admin"], locale=locale)
    event = make_event("Sommerfest", capacity=10)
    poll = make_poll(status="draft")
    member = make_member()
    db.session.commit()
    ids = {"event_id": event.id, "poll_id": poll.id, "member_id": member.id}
    ids["user_id"] = admin_user.id
    visitor, admin = app.test_client(), app.test_client()
    visitor.set_cookie("lang", locale)
    urls = page_urls(app)
    found = _check_forms(visitor, urls)
    login(admin, "forms-admin@example.org")
    found.update(_check_forms(admin, urls + object_pages(app, ids)))
    assert not found, found


def test_the_check_sees_english_messages(app):
    """The patterns catch WTForms' English (so the test above can fail)."""
    with app.test_request_context("/"), force_locale("en"):
        from wtforms import Form, IntegerField, StringField
        from wtforms.validators import DataRequired, Length

        from app.core.form_messages import translations

        class Sample(Form):
            name = StringField(validators=[DataRequired()])
            short = StringField(validators=[Length(max=3)])
            count = IntegerField()

            class Meta:
                def get_translations(self, form):
                    return translations

        form = Sample(data={"short": "toolong"}, meta={})
        form.process(formdata=_FormData({"short": "toolong", "count": "many"}))
        assert not form.validate()
        html = " ".join(e for errors in form.errors.values() for e in errors)
        assert "This field is required." in _english_in(html)
        assert "Field cannot be longer than 3 characters." in _english_in(html)
        assert "Not a valid integer value." in _english_in(html)


@pytest.mark.parametrize(
    ("locale", "required", "email"),
    [
        ("da", "Dette felt skal udfyldes.", "Ugyldig e-mailadresse."),
        ("is", "Þennan reit þarf að fylla út.", "Ógilt netfang."),
    ],
)
def test_the_registration_form_speaks_the_readers_language(client, locale, required, email):
    client.set_cookie("lang", locale)
    page = client.get("/auth/register").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    html = client.post(
        "/auth/register", data={"csrf_token": token, "email": "nope", "name": ""}
    ).get_data(as_text=True)
    assert required in html
    assert email in html
    assert not _english_in(html)


class _FormData(dict):
    def getlist(self, key):
        return [self[key]] if key in self else []


def test_every_listed_message_has_a_translation(app):
    """Each WTForms message listed for extraction reads differently in Danish and Icelandic."""
    for locale in ("da", "is"):
        with app.test_request_context("/"), force_locale(locale):
            from flask_babel import get_translations

            catalog = get_translations()
            for message in MESSAGES:
                msgid = message._args[0]
                assert catalog.ugettext(msgid) != msgid, (locale, msgid)
            for plural in PLURALS:
                singular, plural_id = plural._args[:2]
                assert catalog.ungettext(singular, plural_id, 2) != plural_id, (locale, plural_id)
