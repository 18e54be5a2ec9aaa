"""In headless Chromium on a phone: staff pages with a scrolling table do not scroll sideways."""

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
