"""The organisation's today (TIMEZONE) and its default language (DEFAULT_LANGUAGE)."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime

import pytest
from flask.testing import FlaskClient

from app.core import timeutil
from app.extensions import db
from app.members import lifecycle, titles
from tests.factories import make_user
from tests.members_helpers import make_member

# 23:30 in UTC on 14 January is 00:30 on 15 January in Copenhagen (and on a UTC server's clock
# it is still the 14th): "today" must be the 15th.
LATE_UTC = datetime(2026, 1, 14, 23, 30, tzinfo=UTC)
LOCAL_DAY = date(2026, 1, 15)


@pytest.fixture
def late_evening(app, monkeypatch):
    assert app.config["TIMEZONE"] == "Europe/Copenhagen"
    monkeypatch.setattr(timeutil, "clock", lambda: LATE_UTC)


def test_today_is_the_organisations_date_at_2330_utc(ctx, late_evening):
    assert timeutil.local_today() == LOCAL_DAY


def test_membership_dates_at_2330_utc_are_the_local_day(ctx, late_evening):
    membership = make_member(status="applied")
    lifecycle.approve(membership, None)
    assert membership.joined_on == LOCAL_DAY
    staff = make_user(roles=["membership"])
    title = titles.add_title(membership, "chair", "2025-06-01", actor_id=staff.id)
    titles.end_title(title, "", staff.id)
    assert title.ends_on == LOCAL_DAY
    lifecycle.end_membership(membership, staff.id, "Moved away")
    assert membership.ended_on == LOCAL_DAY
    membership.joined_on = date(2020, 1, 1)
    lifecycle.reactivate(membership, staff.id)
    assert membership.joined_on == LOCAL_DAY


def test_the_staff_record_offers_the_local_day_as_end_of_a_title(app, client, ctx, late_evening):
    from tests.helpers import login

    membership = make_member()
    staff = make_user("records@example.org", roles=["membership"])
    titles.add_title(membership, "chair", "2025-06-01", actor_id=staff.id)
    db.session.commit()
    login(client, "records@example.org")
    html = client.get(f"/staff/members/{membership.id}").get_data(as_text=True)
    assert f'value="{LOCAL_DAY.isoformat()}"' in html


def test_the_door_marks_tonights_event_as_today_at_2330_utc(app, client, ctx, late_evening):
    from datetime import timedelta

    from tests.factories import make_event
    from tests.helpers import login

    # 18:00 on 15 January in Copenhagen; at 00:30 local time that is today, not tomorrow.
    starts = datetime(2026, 1, 15, 17, 0, tzinfo=UTC)
    make_event("Tonight's meeting", starts_at=starts, ends_at=starts + timedelta(hours=2))
    make_user("door@example.org", roles=["door"])
    db.session.commit()
    login(client, "door@example.org")
    html = client.get("/door/").get_data(as_text=True)
    card = html.split("Tonight&#39;s meeting", 1)[1].split("</a>", 1)[0]
    assert "Today" in card


def test_an_imported_active_member_joins_on_the_local_day_at_2330_utc(ctx):
    from app.members import import_write

    row = import_write._membership_values({"status": "active"}, user_id=1, now=LATE_UTC)
    assert row["joined_on"] == LOCAL_DAY


# -- DEFAULT_LANGUAGE -----------------------------------------------------------------------------


@pytest.fixture
def config_with(monkeypatch):
    """The config module re-read with the given environment; restored afterwards."""
    import config

    def load(**env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return importlib.reload(config)

    yield load
    monkeypatch.undo()
    importlib.reload(config)


def test_an_unknown_default_language_or_timezone_stops_the_start(config_with):
    from app import create_app

    reloaded = config_with(DEFAULT_LANGUAGE="fr", TIMEZONE="Europe/Nowhere")
    problems = reloaded.DevelopmentConfig.check()
    assert any("DEFAULT_LANGUAGE" in p for p in problems)
    assert any("TIMEZONE" in p for p in problems)
    with pytest.raises(SystemExit, match="DEFAULT_LANGUAGE"):
        create_app(reloaded.DevelopmentConfig)


def test_default_language_from_the_environment_is_the_fallback_and_the_cli_language(
    config_with, tmp_path
):
    from app import create_app

    reloaded = config_with(DEFAULT_LANGUAGE="is")
    other = create_app(
        reloaded.TestingConfig,
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'is.db'}",
            "STORAGE_DIR": str(tmp_path / "storage"),
            "REDIS_URL": "",
            "RQ_CONNECTION_CLASS": "fakeredis.FakeStrictRedis",
            "RQ_CONNECTION": {},
            "RQ_ASYNC": False,
            "RATELIMIT_STORAGE_URI": "memory://",
        },
    )
    with other.app_context():
        db.create_all()
    try:
        # A visitor with neither a cookie nor Accept-Language gets the organisation's language.
        page = FlaskClient(other).get("/auth/login")
        assert '<html lang="is">' in page.get_data(as_text=True)
        # Someone who asks for a language still gets it.
        page = FlaskClient(other).get("/auth/login", headers={"Accept-Language": "en"})
        assert '<html lang="en">' in page.get_data(as_text=True)

        result = other.test_cli_runner().invoke(
            args=["users", "create", "cli@example.is", "--name", "Jón", "--password", "x" * 20]
        )
        assert result.exit_code == 0, result.output
        with other.app_context():
            from app.auth.services import find_user_by_email

            assert find_user_by_email("cli@example.is").locale == "is"
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


# -- Dates and times as people read them (app/core/dates.py) --------------------------------------

# 19:00 UTC is 20:00 in Copenhagen in December.
START = datetime(2026, 12, 22, 19, 0, tzinfo=UTC)
END = datetime(2026, 12, 22, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "span", "medium", "short"),
    [
        ("da", "tirsdag 22. december 2026, 20.00–22.00", "22. dec. 2026 20.00", "22.12.2026 20.00"),
        ("en", "Tuesday, 22 December 2026, 20:00–22:00", "22 Dec 2026, 20:00", "22/12/2026, 20:00"),
        (
            "is",
            "þriðjudagur, 22. desember 2026, 20:00–22:00",
            "22. des. 2026, 20:00",
            "22.12.2026, 20:00",
        ),
    ],
)
def test_dates_read_naturally_in_each_language(app, locale, span, medium, short):
    from flask_babel import force_locale

    from app.core import dates

    with app.test_request_context("/"), force_locale(locale):
        assert dates.format_span(START, END) == span
        assert dates.format_datetime(START) == medium
        assert dates.format_datetime(START, "short") == short
        for width in dates.WIDTHS:  # never seconds, never a timezone's name
            text = dates.format_datetime(START, width)
            assert "20.00.00" not in text and "20:00:00" not in text, text
            assert "CET" not in text and "normaltid" not in text and "GMT" not in text, text


def test_an_event_over_two_days_names_both_days(app):
    from flask_babel import force_locale

    from app.core import dates

    with app.test_request_context("/"), force_locale("en"):
        text = dates.format_span(START, datetime(2026, 12, 23, 10, 0, tzinfo=UTC))
    assert text == "Tuesday, 22 December 2026, 20:00 – Wednesday, 23 December 2026, 11:00"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("da", "tirsdag 22. december 2026, 20.00–22.00"),
        ("en", "Tuesday, 22 December 2026, 20:00–22:00"),
    ],
)
def test_the_event_page_and_the_ticket_mail_show_start_and_end_together(
    app, client, ctx, mailbox, locale, expected
):
    from tests.factories import make_event
    from tests.helpers import body_text, login, post_form, run_jobs

    event = make_event("Juleaften", starts_at=START, ends_at=END)
    make_user(f"{locale}@example.org", locale=locale)
    db.session.commit()
    login(client, f"{locale}@example.org")
    page = f"/events/{event.id}/{event.slug}"
    assert expected in client.get(page).get_data(as_text=True)
    post_form(client, f"/events/{event.id}/register", {"accept_terms": "y"}, page_url=page)
    run_jobs(app)
    (mail,) = mailbox.to(f"{locale}@example.org")
    assert expected in body_text(mail)
