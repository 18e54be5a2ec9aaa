"""axe-core (from npm) in Chromium on every page a visitor, a member and an admin reach by following
links, in Danish, English and Icelandic, on a phone and a desktop: no serious or critical
violation of WCAG 2.1 A/AA; and on the phone, nothing wider than its screen."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.demo import ADMIN
from app.extensions import db
from tests.helpers import login
from tests.test_core_page_markup import crawl

AXE = Path(__file__).resolve().parents[2] / "app" / "static" / "vendor" / "axe.min.js"
VIEWPORTS = {
    "phone": {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}
ROLES = {
    "visitor": (None, ["/", "/events/", "/news/", "/contact", "/auth/login", "/auth/register"]),
    "member": ("member001@felag.local", ["/account", "/members/me", "/account/profile"]),
    "admin": (ADMIN[0], ["/staff/", "/staff/members/", "/staff/events/", "/staff/users/"]),
}
RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    resultTypes: ["violations"],
  });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      id: v.id, impact: v.impact, targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
}"""
# On the phone: what sticks out of the screen that no scrolling box (a .table-responsive) holds.
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


def _pages(app) -> dict[str, list[str]]:
    """For each role, one page of each view it reaches (a view seen by an earlier role is left)."""
    adapter = app.url_map.bind("localhost")
    seen_views: set[str] = set()
    pages: dict[str, list[str]] = {}
    for role, (email, seeds) in ROLES.items():
        client = app.test_client()
        if email:
            login(client, email, ADMIN[1])
        pages[role] = []
        for url in crawl(client, seeds):
            view = adapter.match(urlsplit(url).path, method="GET")[0]
            if view not in seen_views:
                seen_views.add(view)
                pages[role].append(url)
    return pages


@pytest.fixture()
def demo_pages(app, live_server):
    from app.demo import seed

    with app.app_context():
        seed(member_count=8)
        db.session.commit()
        return _pages(app)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_no_serious_accessibility_violation_on_any_page(browser, live_server, demo_pages, viewport):
    assert AXE.exists(), "axe-core is missing: run `make frontend`"
    violations = []
    checked = 0
    for role, (email, _seeds) in ROLES.items():
        for language in ("da", "en", "is"):
            context = browser.new_context(
                base_url=live_server, bypass_csp=True, **VIEWPORTS[viewport]
            )
            page = context.new_page()
            page.goto(f"/language/{language}")
            if email:
                page.goto("/auth/login")
                page.locator("#email").fill(email)
                page.locator("#password").fill(ADMIN[1])
                page.locator("#password").press("Enter")
                page.wait_for_load_state()
                # A signed-in person's saved language wins over the cookie: save it (POST).
                page.goto("/account")
                page.locator(f"footer button[lang={language}]").click()
                page.wait_for_load_state()
            for url in demo_pages[role]:
                page.goto(url)
                assert page.locator("html").get_attribute("lang") == language, url
                page.add_script_tag(path=str(AXE))
                for found in page.evaluate(RUN_AXE):
                    violations.append(f"{language} {role} {url}: {found}")
                if viewport == "phone" and (sticking := page.evaluate(STICKING_OUT)):
                    violations.append(f"{language} {role} {url}: wider than the phone: {sticking}")
                checked += 1
            context.close()
    assert checked > 100
    assert not violations, "\n".join(violations[:40])
