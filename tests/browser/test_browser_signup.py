"""In headless Chromium: sign up, verify by e-mail (which signs the person in), switch to
Icelandic."""

from tests.helpers import PASSWORD, first_link, run_jobs, screenshot


def test_sign_up_verify_login_and_switch_to_icelandic(app, page, mailbox):
    page.goto("/auth/register")
    screenshot(page, "signup-da")
    page.locator("#name").fill("Guðrún Ólafsdóttir")
    page.locator("#email").fill("gudrun@example.is")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password_confirm").fill(PASSWORD)
    page.locator("#accept_privacy").check()
    page.locator("#submit").click()
    page.wait_for_selector("text=gudrun@example.is")

    run_jobs(app)
    [message] = mailbox.to("gudrun@example.is")
    page.goto(first_link(message))
    page.locator("#confirm-email").click()
    page.wait_for_url("**/account")  # verifying the address signs the person in
    assert "Guðrún Ólafsdóttir" in page.locator("h1").inner_text()
    danish_heading = page.locator("h1").inner_text()

    page.locator("#language-menu").click()
    page.locator("button[data-lang='is']").click()
    page.wait_for_selector("html[lang='is']")
    icelandic_heading = page.locator("h1").inner_text()
    assert icelandic_heading != danish_heading
    assert "Guðrún Ólafsdóttir" in icelandic_heading
    assert page.locator("#language-menu").inner_text().endswith("Íslenska")
    screenshot(page, "account-is")

    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "is"


def test_phone_layout_collapses_the_menu(phone_page):
    phone_page.goto("/")
    toggler = phone_page.locator(".navbar-toggler")
    assert toggler.is_visible()
    toggler.click()
    phone_page.wait_for_selector("#nav.show")
    assert (
        phone_page.locator("#nav").get_by_role("link", name="Log ind").is_visible()
        or phone_page.locator("#nav a[href='/auth/login']").is_visible()
    )
    screenshot(phone_page, "home-phone")
