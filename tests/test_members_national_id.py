"""National IDs: kennitala validation, masking, encryption; never stored or logged in clear."""

from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import text

from app.core.audit import AuditEntry
from app.core.errors import DomainError
from app.extensions import db
from app.members import national_id, privacy, records
from app.members.models import Membership
from tests.factories import make_user
from tests.helpers import login, post_form
from tests.members_helpers import kennitala, make_member, record


@pytest.mark.parametrize(
    "born", [date(1990, 1, 12), date(1965, 12, 31), date(2004, 2, 29), date(1899, 6, 1)]
)
def test_valid_kennitolur_pass_and_normalise(ctx, born):
    number = kennitala(born)
    written = f"{number[:6]}-{number[6:]}"
    assert national_id.validate("IS", written) == number
    assert national_id.validate("IS", f" {number[:6]} {number[6:]} ") == number
    assert national_id.birthday_from("IS", number) == born
    assert national_id.mask("IS", number) == f"{number[:6]}-****"


def test_the_check_digit_of_a_known_number(ctx):
    # 3*1 + 2*2 + 7*0 + 6*1 + 5*9 + 4*0 + 3*3 + 2*2 = 71; 71 % 11 = 5; 11 - 5 = 6
    assert national_id.kennitala_check_digit("12019032") == 6
    assert national_id.validate("IS", "120190-3269") == "1201903269"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("120190-3279", "check digit"),  # right date, wrong check digit
        ("120190-3259", "check digit"),
        ("310290-3219", "valid date"),  # 31 February
        ("001390-3209", "valid date"),  # day 0, month 13
        ("120190-3265", "valid date"),  # century digit 5 does not exist
        ("12019032", "ten digits"),
        ("120190-32691", "ten digits"),
        ("12019O-3269", "ten digits"),  # a letter O
        ("5201903269", "company"),  # day + 40: a company's number
    ],
)
def test_invalid_kennitolur_are_refused_with_a_reason(ctx, value, message):
    with pytest.raises(DomainError) as info:
        national_id.validate("IS", value)
    assert info.value.field == "national_id"
    with force_locale("en"):  # the messages are translated; read them in the source language
        assert message in str(info.value.message)


def test_other_countries_take_free_text(ctx):
    assert national_id.validate("DK", "010190-1234") == "0101901234"
    assert national_id.validate("SE", "19900101-1234") == "199001011234"
    assert national_id.mask("DK", "0101901234") == "01019-****"
    with pytest.raises(DomainError):
        national_id.validate("DK", "x" * 41)
    with pytest.raises(DomainError):
        national_id.validate("DK", "<script>")


def test_the_national_id_is_stored_encrypted_with_a_hash_and_never_logged(app, ctx, caplog):
    number = kennitala(date(1990, 1, 12))
    caplog.set_level("DEBUG")
    user = make_user()
    membership = make_member(user, national_id=f"{number[:6]}-{number[6:]}")
    records.update_record(membership, {"phone": "+354 777 0000"}, user.id)
    privacy.reveal_national_id(membership, user.id)
    db.session.commit()

    row = (
        db.session.execute(text("SELECT * FROM memberships WHERE id = :id"), {"id": membership.id})
        .mappings()
        .one()
    )
    raw = " ".join(str(v) for v in row.values())
    assert number not in raw and f"{number[:6]}-{number[6:]}" not in raw
    assert row["national_id_hash"] == national_id.lookup(number)
    assert national_id.decrypt(row["national_id_encrypted"]) == number
    assert row["national_id_masked"] == f"{number[:6]}-****"
    assert row["birthday"] == date(1990, 1, 12)  # filled from the kennitala

    audits = db.session.execute(text("SELECT before, after FROM audit_entries")).all()
    assert number not in str(audits)
    outbox = db.session.execute(text("SELECT context FROM outbox_messages")).all()
    assert number not in str(outbox)
    assert number not in caplog.text
    assert records.find_by_national_id(f"{number[:6]}-{number[6:]}").id == membership.id


def test_an_invalid_or_taken_national_id_saves_nothing(app, client, ctx):
    number = kennitala(date(1980, 5, 5))
    make_member(national_id=number)
    applicant = make_user("applicant@example.org")
    db.session.commit()
    login(client, "applicant@example.org")

    taken = post_form(client, "/members/apply", record(national_id=number))
    assert taken.status_code == 200
    assert "already in use" in taken.get_data(as_text=True)
    wrong = post_form(client, "/members/apply", record(national_id="120190-3279"))
    assert "check digit" in wrong.get_data(as_text=True)
    future = post_form(
        client,
        "/members/apply",
        record(birthday=(date.today() + timedelta(days=3)).isoformat()),
    )
    assert "cannot be in the future" in future.get_data(as_text=True)
    mismatch = post_form(
        client,
        "/members/apply",
        record(birthday="1990-01-13", national_id=kennitala(date(1990, 1, 12))),
    )
    assert "does not match" in mismatch.get_data(as_text=True)
    assert records.membership_of(applicant) is None
    assert db.session.scalar(db.select(db.func.count(Membership.id))) == 1
    assert not db.session.scalars(
        db.select(AuditEntry).where(
            AuditEntry.subject_user_id == applicant.id,
            AuditEntry.action.not_like("auth.%"),  # the applicant's login is audited
        )
    ).all()


def test_staff_see_the_number_masked_and_each_reveal_is_audited(app, client, ctx):
    number = kennitala(date(1975, 3, 3))
    membership = make_member(national_id=number)
    make_user("staff@example.org", roles=["membership"])
    db.session.commit()
    login(client, "staff@example.org")
    page = client.get(f"/staff/members/{membership.id}").get_data(as_text=True)
    assert f"{number[:6]}-****" in page
    assert f"{number[:6]}-{number[6:]}" not in page and number not in page
    revealed = post_form(
        client, f"/staff/members/{membership.id}/reveal", {}, f"/staff/members/{membership.id}"
    )
    assert f"{number[:6]}-{number[6:]}" in revealed.get_data(as_text=True)
    entries = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "member.national_id_revealed")
    ).all()
    assert len(entries) == 1 and entries[0].object_id == membership.id
    assert entries[0].actor.email == "staff@example.org"
