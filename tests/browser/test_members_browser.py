"""In headless Chromium, in Danish: apply, staff approve, the welcome e-mail over SMTP, the member
edits their own record. The Danish catalog may still lack these strings, so the test checks
structure, addresses and data rather than wording."""

from datetime import date
from email.header import decode_header, make_header

from app.core.mail import OutboxMessage
from app.extensions import db
from app.members import groups, titles
from app.members.models import Membership
from tests.factories import make_user
from tests.helpers import PASSWORD, body_text, run_jobs, screenshot
from tests.members_helpers import kennitala, make_member


def _login(page, email):
    page.goto("/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url("**/account")


def test_apply_approve_welcome_and_edit_in_danish(app, page, browser, live_server, mailbox):
    with app.app_context():
        make_user("mette@example.dk", "Mette Kjær", locale="da")
        make_user("staff@example.dk", "Søren Staff", roles=["membership"], locale="da")
        db.session.commit()
    number = kennitala(date(1990, 1, 12))

    _login(page, "mette@example.dk")
    assert page.locator("html").get_attribute("lang") == "da"
    page.locator("#membership-card a[href='/members/apply']").click()
    page.wait_for_url("**/members/apply")
    page.locator("#phone").fill("+45 20 30 40 50")
    page.locator("#street").fill("Nørrebrogade")
    page.locator("#house_number").fill("12")
    page.locator("#postal_code").fill("2200")
    page.locator("#city").fill("København N")
    page.locator("#municipality").fill("Københavns Kommune")
    page.locator("#country").select_option("DK")
    page.locator("#national_id_country").select_option("IS")
    page.locator("#national_id").fill("120190-3279")  # a typo: the check digit is wrong
    page.locator("#groupable").check()
    page.locator("#submit").click()
    page.wait_for_selector("#national_id.is-invalid")
    assert page.locator("#national_id-error").is_visible()
    page.locator("#national_id").fill(f"{number[:6]}-{number[6:]}")
    screenshot(page, "members-apply-da")
    page.locator("#submit").click()
    page.wait_for_url("**/members/me")
    assert page.locator("[data-status='applied']").is_visible()
    assert page.locator("[data-field='national_id']").inner_text() == f"{number[:6]}-****"
    screenshot(page, "members-me-applied-da")

    staff = browser.new_context(base_url=live_server, locale="da-DK")
    staff_page = staff.new_page()
    _login(staff_page, "staff@example.dk")
    staff_page.goto("/staff/members/applications")
    with app.app_context():
        membership = db.session.scalar(db.select(Membership))
        member_id = membership.id
    screenshot(staff_page, "members-staff-applications-da")
    staff_page.locator(f"[data-approve='{member_id}']").click()
    staff_page.wait_for_selector(".alert-success")
    assert staff_page.locator(f"[data-approve='{member_id}']").count() == 0
    staff_page.goto(f"/staff/members/{member_id}")
    assert staff_page.locator("#member-status").get_attribute("data-status") == "active"
    screenshot(staff_page, "members-staff-detail-da")
    staff_page.goto("/staff/members/")
    screenshot(staff_page, "members-staff-directory-da")
    staff.close()

    run_jobs(app)
    mails = mailbox.to("mette@example.dk")
    with app.app_context():
        welcome = db.session.scalar(
            db.select(OutboxMessage).where(OutboxMessage.template == "membership_welcome")
        )
        assert welcome.state == "sent" and welcome.locale == "da"
        subject = welcome.subject
    [message] = [m for m in mails if str(make_header(decode_header(m["Subject"]))) == subject]
    link = next(w for w in body_text(message).split() if w.startswith("http"))
    assert link.endswith("/members/me")

    page.goto(link)
    assert page.locator("[data-status='active']").is_visible()
    page.locator("a[href='/members/me/edit']").click()
    page.wait_for_url("**/members/me/edit")
    page.locator("#phone").fill("+45 99 88 77 66")
    page.locator("#job_title").fill("Dataanalytiker")
    page.locator("#submit").click()
    page.wait_for_url("**/members/me")
    assert page.locator("[data-field='phone']").inner_text() == "+45 99 88 77 66"
    screenshot(page, "members-me-da")
    with app.app_context():
        membership = db.session.get(Membership, member_id)
        assert membership.phone == "+45 99 88 77 66" and membership.job_title == "Dataanalytiker"
        assert membership.national_id_masked == f"{number[:6]}-****"


def test_member_pages_on_a_phone(app, phone_page):
    with app.app_context():
        member = make_member(
            make_user("phone@example.dk", "Ida Møller", locale="da"),
            full_name="Ida Møller",
            municipality="Aarhus Kommune",
        )
        group = groups.save_group(
            None,
            name="Læsegruppe",
            kind="department",
            capacity=10,
            description="Vi læser en bog om måneden.",
        )
        groups.join(group, member, None)
        titles.add_title(member, "chair", date(2024, 1, 1))
        db.session.commit()
    _login(phone_page, "phone@example.dk")
    phone_page.goto("/members/me")
    assert phone_page.locator("[data-status='active']").is_visible()
    screenshot(phone_page, "members-me-phone")
    phone_page.goto("/groups/laesegruppe")
    assert phone_page.locator("#roster").is_visible()
    screenshot(phone_page, "members-group-phone")
    phone_page.goto("/members/board")
    assert phone_page.locator("[data-title='chair']").is_visible()
    screenshot(phone_page, "members-board-phone")


def test_staff_pages_on_a_phone_and_the_import_preview(app, phone_page, page, tmp_path):
    with app.app_context():
        make_user("staff@example.dk", "Søren Staff", roles=["membership"], locale="da")
        member = make_member(full_name="Astrid Nielsen", municipality="Odense Kommune")
        group = groups.save_group(None, name="Bestyrelsen", kind="committee", capacity=9)
        groups.join(group, member, None, by_staff=True, role="lead")
        db.session.commit()
        member_id, group_id = member.id, group.id
    _login(phone_page, "staff@example.dk")
    phone_page.goto("/staff/members/")
    assert phone_page.locator("#member-table").is_visible()
    screenshot(phone_page, "members-staff-directory-phone")
    phone_page.goto(f"/staff/members/{member_id}")
    assert phone_page.locator("#member-status").is_visible()
    screenshot(phone_page, "members-staff-detail-phone")

    _login(page, "staff@example.dk")
    page.goto(f"/staff/members/groups/{group_id}")
    screenshot(page, "members-staff-group-da")
    page.goto("/staff/members/groups/")
    screenshot(page, "members-staff-groups-da")
    bad = tmp_path / "members.csv"
    bad.write_text(
        "full_name;email;national_id;birthday\n"
        "Karen Holm;karen@example.dk;;1980-02-30\n"
        "Jón Jónsson;jon@example.is;120190-3279;\n"
        "Line Berg;line@example.dk;;1991-04-05\n",
        encoding="utf-8",
    )
    page.goto("/staff/members/import")
    page.locator("#file").set_input_files(str(bad))
    page.locator("#submit").click()
    page.wait_for_selector("#import-status .progress")  # the check is a job; the page polls
    run_jobs(app)
    page.wait_for_selector("#preview-rows")  # our script reloads the page when the job is done
    assert page.locator("tr.table-danger").count() == 2
    screenshot(page, "members-staff-import-preview-da")
