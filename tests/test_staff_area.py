"""The staff area: each domain's staff pages are a blueprint of its own, nested under `staff`,
and every staff URL that existed before that change answers at the same path."""

from __future__ import annotations

import pytest

from app.checkin.staff import bp as checkin_staff
from app.events.staff import bp as events_staff
from app.extensions import db
from app.members.staff import bp as members_staff
from tests.factories import make_event, make_user
from tests.helpers import login

# (method, path, the blueprint that answers) for every staff URL before the domains got
# blueprints of their own. Left out: POST /staff/members/import/confirm, which became
# /staff/members/import/<id>/confirm when the member import turned into a background job.
STAFF_URLS = [
    ("GET", "/staff/", "staff"),
    ("GET", "/staff/users/", "staff"),
    ("GET", "/staff/users/1", "staff"),
    ("POST", "/staff/users/1", "staff"),
    ("GET", "/staff/audit/", "staff"),
    ("GET", "/staff/jobs/", "staff"),
    ("POST", "/staff/jobs/1/retry", "staff"),
    ("POST", "/staff/jobs/1/delete", "staff"),
    ("GET", "/staff/tokens/", "staff"),
    ("POST", "/staff/tokens/", "staff"),
    ("POST", "/staff/tokens/1/revoke", "staff"),
    ("GET", "/staff/door/", "staff.checkin"),
    ("GET", "/staff/events/1/door", "staff.checkin"),
    ("POST", "/staff/events/1/door/checkin", "staff.checkin"),
    ("POST", "/staff/events/1/door/undo", "staff.checkin"),
    ("GET", "/staff/events/", "staff.events"),
    ("GET", "/staff/events/new", "staff.events"),
    ("POST", "/staff/events/new", "staff.events"),
    ("GET", "/staff/events/1/edit", "staff.events"),
    ("POST", "/staff/events/1/edit", "staff.events"),
    ("POST", "/staff/events/1/publish", "staff.events"),
    ("POST", "/staff/events/1/unpublish", "staff.events"),
    ("POST", "/staff/events/1/cancel", "staff.events"),
    ("POST", "/staff/events/1/duplicate", "staff.events"),
    ("GET", "/staff/events/1/", "staff.events"),
    ("GET", "/staff/events/1/registrations.csv", "staff.events"),
    ("GET", "/staff/events/1/registrations/add", "staff.events"),
    ("POST", "/staff/events/1/registrations/add", "staff.events"),
    ("POST", "/staff/events/1/registrations/2/cancel", "staff.events"),
    ("POST", "/staff/events/1/registrations/2/promote", "staff.events"),
    ("POST", "/staff/events/1/registrations/2/resend", "staff.events"),
    ("GET", "/staff/events/1/message", "staff.events"),
    ("POST", "/staff/events/1/message", "staff.events"),
    ("GET", "/staff/members/", "staff.members"),
    ("GET", "/staff/members/export.csv", "staff.members"),
    ("GET", "/staff/members/applications", "staff.members"),
    ("GET", "/staff/members/1", "staff.members"),
    ("POST", "/staff/members/1/reveal", "staff.members"),
    ("GET", "/staff/members/1/edit", "staff.members"),
    ("POST", "/staff/members/1/edit", "staff.members"),
    ("POST", "/staff/members/1/approve", "staff.members"),
    ("POST", "/staff/members/1/reject", "staff.members"),
    ("POST", "/staff/members/1/end", "staff.members"),
    ("POST", "/staff/members/1/notes", "staff.members"),
    ("POST", "/staff/members/1/titles", "staff.members"),
    ("POST", "/staff/members/1/titles/2/end", "staff.members"),
    ("POST", "/staff/members/1/groups", "staff.members"),
    ("POST", "/staff/members/1/groups/2/remove", "staff.members"),
    ("POST", "/staff/members/1/groups/2/role", "staff.members"),
    ("POST", "/staff/members/1/anonymise", "staff.members"),
    ("GET", "/staff/members/groups/", "staff.members"),
    ("POST", "/staff/members/groups/", "staff.members"),
    ("GET", "/staff/members/groups/1", "staff.members"),
    ("POST", "/staff/members/groups/1", "staff.members"),
    ("GET", "/staff/members/import", "staff.members"),
    ("POST", "/staff/members/import", "staff.members"),
]


def test_domain_staff_blueprints_are_nested_under_staff(app):
    assert app.blueprints["staff.checkin"] is checkin_staff
    assert app.blueprints["staff.events"] is events_staff
    assert app.blueprints["staff.members"] is members_staff
    nested = {name for name in app.blueprints if name.startswith("staff.")}
    assert {"staff.checkin", "staff.events", "staff.members"} <= nested
    # Registered through `staff` only: no domain's staff pages sit at the top level.
    assert not {"checkin_staff", "events_staff", "members_staff"} & set(app.blueprints)


@pytest.mark.parametrize(("method", "path", "blueprint"), STAFF_URLS)
def test_every_earlier_staff_url_answers_at_the_same_path(app, method, path, blueprint):
    endpoint, _args = app.url_map.bind("localhost").match(path, method=method)
    assert endpoint.rpartition(".")[0] == blueprint, (method, path, endpoint)


def test_every_staff_endpoint_lives_under_staff_and_the_reverse(app):
    for rule in app.url_map.iter_rules():
        in_staff_area = rule.endpoint.split(".")[0] == "staff"
        assert in_staff_area == rule.rule.startswith("/staff/"), (rule.rule, rule.endpoint)


def test_an_admin_opens_each_domain_staff_page(client, ctx):
    make_user("chief@example.org", roles=["admin"])
    event = make_event("Aðalfundur")
    db.session.commit()
    login(client, "chief@example.org")
    for path in (
        "/staff/",
        "/staff/events/",
        f"/staff/events/{event.id}/",
        "/staff/door/",
        f"/staff/events/{event.id}/door",
        "/staff/members/",
        "/staff/members/groups/",
        "/staff/tokens/",
    ):
        assert client.get(path).status_code == 200, path
