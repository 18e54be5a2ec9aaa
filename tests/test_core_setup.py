"""Setting up: seed-demo prints every demo login, BASE_URL follows the development server's host
and port, and the organisation's country is one setting (a Danish association's members are not
Icelandic by default)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.auth.models import User
from app.extensions import db
from app.members.models import Membership

ROOT = Path(__file__).resolve().parent.parent


def test_seed_demo_prints_every_demo_login_and_each_works(app, ctx):
    from app import demo

    result = app.test_cli_runner().invoke(args=["seed-demo", "--members", "8"])
    assert result.exit_code == 0, result.output
    for who, email in demo.logins():
        assert email in result.output, who
        assert db.session.scalar(db.select(User).filter_by(email=email)) is not None, email
    assert "felag-demo-admin" in result.output
    assert {"admin", "organiser", "door", "membership", "member"} <= {w for w, _e in demo.logins()}
    user = db.session.scalar(db.select(User).filter_by(email=demo.MEMBER))
    member = db.session.scalar(db.select(Membership).filter_by(user_id=user.id))
    assert member.status == "active"
    # Run again on a filled database: nothing is added, the logins are printed again.
    again = app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
    assert "no demo data added" in again.output and demo.MEMBER in again.output


SETTINGS = ("BASE_URL", "FLASK_RUN_HOST", "FLASK_RUN_PORT", "DEFAULT_COUNTRY")


def _config(env: dict) -> list:
    """BASE_URL and the country as config.py reads them from this environment (a fresh process:
    the settings are read when config.py is imported)."""
    code = (
        "import json, config; c = config.Config; "
        "print(json.dumps([c.BASE_URL, c.DEFAULT_COUNTRY, c.MEMBERSHIP_DEFAULT_COUNTRY]))"
    )
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in SETTINGS and k != "MEMBERSHIP_DEFAULT_COUNTRY"
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def test_base_url_follows_the_host_and_port_flask_run_serves_on():
    assert _config({})[0] == "http://127.0.0.1:5000"
    served = _config({"FLASK_RUN_HOST": "0.0.0.0", "FLASK_RUN_PORT": "5050"})
    assert served[0] == "http://0.0.0.0:5050"
    fixed = _config({"BASE_URL": "https://felag.example.org/", "FLASK_RUN_PORT": "5050"})
    assert fixed[0] == "https://felag.example.org"


def test_the_organisations_country_is_one_setting_defaulting_to_denmark():
    assert _config({})[1:] == ["DK", "DK"]
    assert _config({"DEFAULT_COUNTRY": "is"})[1:] == ["IS", "IS"]
    assert _config({"MEMBERSHIP_DEFAULT_COUNTRY": "NO"})[1:] == ["NO", "NO"]


def test_an_application_starts_in_the_organisations_country(app, client, ctx, monkeypatch):
    from tests.factories import make_user
    from tests.helpers import login

    monkeypatch.setitem(app.config, "DEFAULT_COUNTRY", "DK")
    make_user("ansoeger@example.org")
    db.session.commit()
    login(client, "ansoeger@example.org")
    html = client.get("/members/apply").get_data(as_text=True)
    assert html.count('<option selected value="DK">') == 2  # address and national ID
    assert '<option selected value="IS">' not in html


def test_the_demo_writes_the_footer_pages_the_migration_left_empty(app, ctx):
    from app.demo import seed
    from app.news import pages

    pages.ensure_pages()  # as the migration leaves them: titles, no text
    about = pages.get_page("about")
    pages.save_page_text(about, "en", "About", "Written by our staff.", None)
    db.session.commit()
    seed(member_count=3)
    db.session.commit()
    for slug in pages.FOOTER_PAGES:
        texts = {t.locale: t.body for t in pages.get_page(slug).texts}
        assert all(texts.get(locale) for locale in ("da", "en", "is")), slug
    kept = {t.locale: t.body for t in pages.get_page("about").texts}
    assert kept["en"] == "Written by our staff."
