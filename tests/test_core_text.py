"""The shared text helpers (slugs, CSV cells, LIKE patterns), and every search taking % and _
literally: a search for them finds only the names that hold them."""

from __future__ import annotations

from datetime import date

import pytest

from app.auth.services import search_users
from app.checkin import door
from app.core.text import contains_pattern, csv_cell, escape_like, slugify
from app.events.services import search_events
from app.extensions import db
from app.members.directory import MemberFilter, member_query
from app.members.groups import save_group
from tests.factories import make_event, make_registration, make_user
from tests.helpers import login
from tests.members_helpers import make_member

# Two texts per search: one holding the literal wildcard, and a decoy that the same search
# would also match if % or _ were still wildcards.
PERCENT, PERCENT_DECOY = "Opið 100% hús", "Opið 1000 hús"
UNDERSCORE, UNDERSCORE_DECOY = "Anna_Lísa", "AnnaXLísa"


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Årsmøde i Þórshöfn", "aarsmoede-i-thorshofn"),
        ("Ø-gruppen", "oe-gruppen"),
        ("Æðarvarp Ð", "aedarvarp-d"),
        ("Straße & Co.", "strasse-co"),
        ("", "item"),
        ("!!!", "item"),
    ],
)
def test_slugify_spells_nordic_letters_out(text, slug):
    assert slugify(text) == slug


def test_slugify_cuts_without_a_trailing_hyphen_and_takes_a_fallback():
    assert slugify("ab cd", max_length=3) == "ab"
    assert slugify("", fallback="group") == "group"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("\t=1", "'\t=1"),
        ("+354 555 1234", "+354 555 1234"),
        ("-12.5", "-12.5"),
        ("Guðrún", "Guðrún"),
        (None, ""),
        (True, "yes"),
        (date(2026, 1, 2), "2026-01-02"),
    ],
)
def test_csv_cell_makes_formulas_inert_and_keeps_numbers(value, cell):
    assert csv_cell(value) == cell


def test_like_pattern_escapes_wildcards_and_the_escape_character():
    assert escape_like("50%_a\\b") == "50\\%\\_a\\\\b"
    assert contains_pattern("x%") == "%x\\%%"


def test_user_search_takes_wildcards_literally(ctx):
    for name in (PERCENT, PERCENT_DECOY, UNDERSCORE, UNDERSCORE_DECOY):
        make_user(name=name)
    db.session.flush()
    assert [u.name for u in db.session.scalars(search_users("0%"))] == [PERCENT]
    assert [u.name for u in db.session.scalars(search_users("a_l"))] == [UNDERSCORE]


def test_event_search_takes_wildcards_literally(ctx):
    for title in (PERCENT, PERCENT_DECOY, UNDERSCORE, UNDERSCORE_DECOY):
        make_event(title)
    db.session.flush()
    assert [e.title for e in db.session.scalars(search_events("0%"))] == [PERCENT]
    assert [e.title for e in db.session.scalars(search_events("a_l"))] == [UNDERSCORE]


def test_member_directory_search_takes_wildcards_literally(ctx):
    make_member(make_user("a_b@example.org"), full_name=UNDERSCORE)
    make_member(make_user("axb@example.org"), full_name=UNDERSCORE_DECOY)
    db.session.flush()

    def names(q):
        return [m.full_name for m in db.session.scalars(member_query(MemberFilter(q=q)))]

    assert names("a_l") == [UNDERSCORE]
    assert names("a_b@") == [UNDERSCORE]  # the e-mail search


def test_group_search_slugs_follow_the_shared_rules(ctx):
    group = save_group(None, name="Ø-gruppen á Þingeyri", kind="cell")
    assert group.slug == "oe-gruppen-a-thingeyri"


def test_door_search_takes_wildcards_literally(ctx):
    event = make_event()
    for name in (PERCENT, PERCENT_DECOY, UNDERSCORE, UNDERSCORE_DECOY):
        make_registration(event, make_user(name=name))
    db.session.flush()
    assert [r["name"] for r in door.search(event.id, "0%")] == [PERCENT]
    assert [r["name"] for r in door.search(event.id, "a_l")] == [UNDERSCORE]


def test_staff_registration_and_door_log_searches_take_wildcards_literally(client, ctx):
    make_user("boss@example.org", roles=["admin"])
    event = make_event()
    for name in (PERCENT, PERCENT_DECOY, UNDERSCORE, UNDERSCORE_DECOY):
        make_registration(event, make_user(name=name))
    db.session.commit()
    login(client, "boss@example.org")
    for page in (f"/staff/events/{event.id}/", f"/staff/events/{event.id}/door"):
        found = client.get(page, query_string={"q": "0%"}).get_data(as_text=True)
        assert PERCENT in found and PERCENT_DECOY not in found, page
        found = client.get(page, query_string={"q": "a_l"}).get_data(as_text=True)
        assert UNDERSCORE in found and UNDERSCORE_DECOY not in found, page
