"""What pages remember between requests (issue 13) follows what it depends on: template links
their arguments, formatted dates the reader's language and the organisation's timezone."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import render_template_string
from flask_babel import force_locale

from app.core import dates

START = datetime(2026, 12, 22, 19, 0, tzinfo=UTC)
END = datetime(2026, 12, 22, 21, 0, tzinfo=UTC)


def test_template_links_follow_their_arguments(app):
    template = "{{ url_for('events.short', event_id=n) }}|{{ url_for('static', filename=f) }}"
    with app.test_request_context("/"):
        first = render_template_string(template, n=1, f="css/app.css")
        again = render_template_string(template, n=1, f="css/app.css")
        other = render_template_string(template, n=2, f="js/app.js")
        external = render_template_string("{{ url_for('events.index', _external=True) }}")
    assert first == again == "/events/1|/static/css/app.css"
    assert other == "/events/2|/static/js/app.js"
    assert external == "http://localhost/events/"


def test_template_links_follow_the_script_root(app):
    template = "{{ url_for('events.index') }}"
    with app.test_request_context("/"):
        plain = render_template_string(template)
    with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": "/felag"}):
        mounted = render_template_string(template)
    assert (plain, mounted) == ("/events/", "/felag/events/")


def test_a_remembered_date_follows_the_language(app):
    with app.test_request_context("/"):
        spans = {}
        for language in ("da", "en", "is", "da"):
            with force_locale(language):
                spans.setdefault(language, set()).add(dates.format_span(START, END))
    assert {language: len(found) for language, found in spans.items()} == {
        "da": 1,
        "en": 1,
        "is": 1,
    }
    assert spans["da"] == {"tirsdag 22. december 2026, 20.00\u201322.00"}
    assert spans["en"] == {"Tuesday, 22 December 2026, 20:00\u201322:00"}
    assert len({next(iter(found)) for found in spans.values()}) == 3


def test_a_remembered_date_follows_the_timezone(app, monkeypatch):
    with app.test_request_context("/"), force_locale("en"):
        copenhagen = dates.format_time(START)
        monkeypatch.setitem(app.config, "TIMEZONE", "Atlantic/Reykjavik")
        reykjavik = dates.format_time(START)
    assert (copenhagen, reykjavik) == ("20:00", "19:00")
    assert dates.format_time.uncached is not dates.format_time
