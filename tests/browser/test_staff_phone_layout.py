"""In headless Chromium on a phone: no page is wider than the screen (a wide table scrolls in its
own box)."""

from __future__ import annotations

import pytest

from app.api.services import create_token
from app.extensions import db
from tests.factories import make_user
from tests.helpers import PASSWORD


@pytest.mark.parametrize("path", ["/staff/tokens/"])
def test_a_table_with_a_hidden_header_does_not_widen_the_page(app, phone_page, path):
    page = phone_page
    with app.app_context():
        admin = make_user(email="ragna@example.dk", roles=["admin"], locale="da")
        create_token(admin, "Scanner ved indgangen")  # an empty list has no table
        db.session.commit()
    page.goto("/auth/login")
    page.locator("#email").fill("ragna@example.dk")
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_load_state()
    page.goto(path)

    assert page.locator(".table-responsive th .visually-hidden").count() == 1
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


# The page's own width: wider than the screen only where an element sticks out that no
# scrolling box (a .table-responsive) holds.
STICKING_OUT = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  const held = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (/(auto|scroll|hidden)/.test(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  return [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > width + 1 && !held(el))
    .slice(0, 3)
    .map((el) => el.tagName.toLowerCase() + "." + [...el.classList].join("."));
}"""


@pytest.mark.parametrize("locale", ["is", "da"])
def test_no_page_is_wider_than_a_phone_for_an_admin_over_the_demo_data(app, phone_page, locale):
    from sqlalchemy import func, select

    from app import demo
    from app.events.models import Event
    from app.members.models import Membership
    from app.polls.models import Poll
    from tests.page_forms import object_pages, page_urls

    page = phone_page
    with app.app_context():
        email, password = demo.seed(6)
        db.session.execute(db.update(db.metadata.tables["users"]).values(locale=locale))
        db.session.commit()
        models = {"event_id": Event, "poll_id": Poll, "member_id": Membership}
        ids = {name: db.session.scalar(select(func.min(m.id))) for name, m in models.items()}
        urls = [u for u in page_urls(app) + object_pages(app, ids) if not u.startswith("/door")]
    page.goto("/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("#submit").click()
    page.wait_for_load_state()
    wide, seen = {}, 0
    for url in urls:
        response = page.goto(url)
        if response.status == 200 and "text/html" in response.headers["content-type"]:
            seen += 1
            if sticking := page.evaluate(STICKING_OUT):
                wide[url] = sticking
    assert seen > 60, seen  # the pages were reached, signed in
    assert not wide, wide
