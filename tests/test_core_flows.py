"""Small flows a newcomer trips over: trailing slashes, the footer's language links when signed in,
what an applicant is offered, the dialog text before risky actions, the association's colour."""

from app.extensions import db
from tests.factories import make_user
from tests.helpers import csrf_from, login, post_form
from tests.members_helpers import make_member


def test_a_trailing_slash_on_a_page_without_one_redirects_to_it(client):
    response = client.get("/contact/?from=footer")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/contact?from=footer")
    assert client.get("/no-such-page/").status_code == 404


def test_account_with_a_trailing_slash_reaches_my_page(app, ctx):
    user = make_user()
    db.session.commit()
    client = app.test_client()
    login(client, user.email)
    response = client.get("/account/", follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == "/account"


def test_footer_language_links_save_the_choice_for_a_signed_in_person(app, ctx):
    user = make_user(locale="en")
    db.session.commit()
    client = app.test_client()
    login(client, user.email)
    page = client.get("/events/").get_data(as_text=True)
    footer = page[page.index('class="footer-languages"') :]
    assert 'action="/language/is' in footer and "<form" in footer  # a POST, not a bare link
    client.post("/language/is", data={"csrf_token": csrf_from(page)})
    db.session.refresh(user)
    assert user.locale == "is"
    assert '<html lang="is">' in client.get("/events/").get_data(as_text=True)


def test_an_applicant_is_not_offered_to_resign(app, ctx):
    applicant = make_member(status="applied")
    member = make_member(status="active")
    db.session.commit()
    client = app.test_client()
    login(client, applicant.user.email)
    assert "resign-heading" not in client.get("/members/me").get_data(as_text=True)
    client = app.test_client()
    login(client, member.user.email)
    assert "resign-heading" in client.get("/members/me").get_data(as_text=True)


def test_cancelling_my_registration_asks_first_naming_the_event(app, ctx):
    from tests.factories import make_event, make_registration

    user = make_user()
    event = make_event(title="Autumn meetup")
    make_registration(event, user)
    db.session.commit()
    client = app.test_client()
    login(client, user.email)
    html = client.get(f"/events/{event.id}/{event.slug}").get_data(as_text=True)
    assert "data-confirm=" in html and "Cancel your registration for Autumn meetup?" in html


def test_branding_colour_styles_the_pages_and_too_light_a_colour_is_refused(app, ctx):
    from app.core import mail_layout

    editor = make_user(roles=["editor"])
    db.session.commit()
    client = app.test_client()
    login(client, editor.email)
    url = "/staff/newsletters/layout"
    refused = post_form(client, url, {"name": "Dansk Data", "colour": "#ffd700"})
    assert refused.status_code == 200 and "too light" in refused.get_data(as_text=True)
    assert post_form(client, url, {"name": "Dansk Data", "colour": "#7b1e3a"}).status_code == 302
    mail_layout.forget()
    page = client.get("/").get_data(as_text=True)
    assert "Dansk Data" in page
    css_url = page.split('rel="stylesheet" href="')[3].split('"')[0]
    css = client.get(css_url)
    assert css.mimetype == "text/css" and "--bs-primary: #7b1e3a" in css.get_data(as_text=True)


def test_a_verification_link_says_what_it_can_still_do_before_any_button(app, ctx):
    from app.auth import tokens

    user = make_user(verified=False)
    db.session.commit()
    link = f"/auth/verify/{tokens.make_token(user, 'verify')}"
    client = app.test_client()
    fresh = client.get(link).get_data(as_text=True)
    assert 'data-state="ok"' in fresh and 'id="confirm-email"' in fresh
    client.post(link, data={"csrf_token": csrf_from(fresh)})
    used = app.test_client().get(link).get_data(as_text=True)
    assert 'data-state="used"' in used and "already confirmed" in used
    assert 'id="confirm-email"' not in used and 'href="/auth/login"' in used
    forged = app.test_client().get(link[:-3] + "abc").get_data(as_text=True)
    assert 'data-state="invalid"' in forged and 'id="confirm-email"' not in forged
