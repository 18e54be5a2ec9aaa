"""The public statistics page (/stats/): only the charts staff chose, and only groups of at
least 5 people (smaller ones merged into "Other" or hidden)."""

from __future__ import annotations

import re

from app.core.audit import AuditEntry
from app.extensions import db
from app.insights.models import PublicChart
from app.insights.privacy import OTHER, k_anonymous
from tests.factories import make_user
from tests.helpers import login, post_form
from tests.members_helpers import make_member


def test_small_categories_are_merged_into_other_and_a_small_other_is_hidden():
    rows = [("A", [12]), ("B", [3]), ("C", [2]), ("D", [0])]
    assert k_anonymous(rows, mergeable=True) == [("A", [12]), ("D", [0]), (OTHER, [5])]
    assert k_anonymous([("A", [12]), ("B", [4])], mergeable=True) == [("A", [12])]
    assert k_anonymous([("A", [5]), ("B", [5])], mergeable=True) == [("A", [5]), ("B", [5])]


def test_small_counts_in_ordered_rows_are_hidden_not_merged():
    rows = [("18-24", [7, 1, 0]), ("25-34", [9, 6, 4])]
    assert k_anonymous(rows, mergeable=False) == [("18-24", [7, None, 0]), ("25-34", [9, 6, None])]


def test_an_other_row_with_some_small_columns_shows_only_the_large_ones():
    rows = [("A", [9, 9]), ("B", [4, 1]), ("C", [4, 2])]
    assert k_anonymous(rows, mergeable=True) == [("A", [9, 9]), (OTHER, [8, None])]


def _members(counts: dict[str, int]) -> None:
    for region, count in counts.items():
        for _ in range(count):
            make_member(region=region, municipality=f"{region} town", gender="female")


def _publish(*keys: str) -> None:
    for key in keys:
        db.session.add(PublicChart(chart_key=key))
    db.session.commit()


def _table(html: str, key: str) -> str:
    match = re.search(rf'<table[^>]*data-chart-table="{key}".*?</table>', html, re.S)
    return match.group(0) if match else ""


def test_public_page_shows_only_groups_of_five_or_more(app, ctx):
    _members({"Capital": 6, "North": 3, "East": 2, "West": 1})
    _publish("members-region")

    response = app.test_client().get("/stats/")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    table = _table(html, "members-region")
    assert re.search(r">Capital</th><td class=\"text-end\">6</td>", table)
    assert re.search(r">Other</th><td class=\"text-end\">6</td>", table)
    for small in ("North", "East", "West"):
        assert small not in html
    assert "data-k-note" in html


def test_ordered_charts_hide_the_small_cells(app, ctx):
    _members({"Capital": 6})
    make_member(region="Capital", gender="male")
    _publish("members-age-gender")

    html = app.test_client().get("/stats/").get_data(as_text=True)

    table = _table(html, "members-age-gender")
    row = re.search(r">Age not known</th>(.*?)</tr>", table).group(1)
    cells = re.findall(r'<td class="text-end">(.*?)</td>', row)
    assert cells == ["6", "–", "0", "0", "0"]  # six women; the one man is hidden


def test_only_the_chosen_charts_are_public(app, ctx):
    _members({"Capital": 6})
    _publish("members-municipality")
    client = app.test_client()

    html = client.get("/stats/").get_data(as_text=True)

    assert 'id="chart-members-municipality"' in html
    assert 'id="chart-members-region"' not in html and 'id="chart-consents"' not in html
    download = client.get("/stats/members-municipality.csv")
    assert download.status_code == 200
    assert download.get_data(as_text=True).lstrip("\ufeff").splitlines()[1] == "Capital town,6"
    assert client.get("/stats/members-region.csv").status_code == 404
    assert client.get("/stats/consents.csv").status_code == 404


def test_nothing_public_yet(app, ctx):
    _members({"Capital": 6})
    html = app.test_client().get("/stats/").get_data(as_text=True)
    assert 'id="stats-none"' in html and "data-chart" not in html


def test_staff_choose_the_public_charts_of_their_own_roles(app, ctx):
    make_user(email="membership@example.org", roles=["membership"])
    make_user(email="organiser@example.org", roles=["organiser"])
    db.session.commit()
    membership = app.test_client()
    login(membership, "membership@example.org")
    page = membership.get("/staff/stats/public").get_data(as_text=True)
    assert 'value="members-region"' in page and 'value="registrations-before"' not in page
    assert 'value="consents"' not in page  # a share, not a count of people: never public

    response = post_form(
        membership,
        "/staff/stats/public",
        {"chart": ["members-region", "group-sizes", "consents", "registrations-before"]},
    )

    assert response.status_code == 302
    assert set(db.session.scalars(db.select(PublicChart.chart_key))) == {
        "members-region",
        "group-sizes",
    }
    entry = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "stats.public_changed")
    ).one()
    assert entry.after == {"public": ["group-sizes", "members-region"]}

    organiser = app.test_client()
    login(organiser, "organiser@example.org")
    post_form(organiser, "/staff/stats/public", {"chart": ["registrations-before"]})
    # The organiser's choice leaves the membership charts as they were.
    assert set(db.session.scalars(db.select(PublicChart.chart_key))) == {
        "members-region",
        "group-sizes",
        "registrations-before",
    }
    post_form(membership, "/staff/stats/public", {})
    assert set(db.session.scalars(db.select(PublicChart.chart_key))) == {"registrations-before"}


def test_the_choice_needs_a_csrf_token_and_a_staff_role(app, ctx):
    make_user(email="membership@example.org", roles=["membership"])
    make_user(email="door@example.org", roles=["door"])
    db.session.commit()
    client = app.test_client()
    login(client, "membership@example.org")
    assert client.post("/staff/stats/public", data={"chart": "members-region"}).status_code == 400
    door = app.test_client()
    login(door, "door@example.org")
    assert door.get("/staff/stats/public").status_code == 403
    assert post_form(door, "/staff/stats/public", {}, page_url="/staff/").status_code == 403
    assert db.session.scalar(db.select(db.func.count()).select_from(PublicChart)) == 0
