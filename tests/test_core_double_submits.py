"""Double submits on PostgreSQL through the live server: each form sent twice at the same moment.

A barrier holds both requests just after their "is it there already?" check, so both see nothing
and both try to insert: the race happens every time. Then the answers (no 500) and the rows
(exactly one) are checked. The ``guarded=False`` runs swap the unique-violation handling
(app.core.unique.add_once) for a plain insert and show that the same requests then fail.
"""

from __future__ import annotations

import threading

import pytest
import requests
from sqlalchemy import func, select

from app.auth.models import User
from app.core.mail import OutboxMessage
from app.extensions import db
from app.members import consents, groups, lifecycle
from app.members.models import Consent, ConsentEvent, Group, GroupMember, Membership
from tests.factories import make_user
from tests.helpers import PASSWORD, csrf_from
from tests.members_helpers import make_member, record
from tests.test_events_concurrency import all_at_once, signed_in

pytestmark = pytest.mark.live


def naive_add(row) -> bool:
    """What add_once replaces: insert and hope."""
    db.session.add(row)
    db.session.flush()
    return True


def hold_both(monkeypatch, module, name: str, before: bool = False):
    """Wrap module.name so that two requests pass it (or reach it: before) before either goes on."""
    barrier = threading.Barrier(2)
    real = getattr(module, name)

    def wait():
        try:
            barrier.wait(timeout=10)
        except threading.BrokenBarrierError:
            pass

    def held(*args, **kwargs):
        if before:
            wait()
        result = real(*args, **kwargs)
        if not before:
            wait()
        return result

    monkeypatch.setattr(module, name, held)


def count(app, stmt) -> int:
    with app.app_context():
        db.session.remove()
        return db.session.scalar(stmt)


@pytest.mark.parametrize("guarded", [True, False])
def test_joining_a_group_twice_at_once(app, live_server, postgres, monkeypatch, guarded):
    with app.app_context():
        group = groups.save_group(None, name="Bókaklúbbur", kind="cell", capacity=10)
        member = make_member(make_user("joiner@example.org"))
        db.session.commit()
        slug, group_id, user_id = group.slug, group.id, member.user_id
    http, token = signed_in(app, user_id, live_server)
    hold_both(monkeypatch, groups, "link_of")
    if not guarded:
        monkeypatch.setattr(groups, "add_once", naive_add)
    url = f"{live_server}/groups/{slug}/join"
    post = lambda: http.post(url, data={"csrf_token": token}, allow_redirects=False)  # noqa: E731
    statuses = [r.status_code for r in all_at_once([post, post])]

    links = count(app, select(func.count(GroupMember.id)).where(GroupMember.group_id == group_id))
    seats = count(app, select(Group.member_count).where(Group.id == group_id))
    if guarded:
        assert statuses == [302, 302]  # both answered with the group page
        assert links == 1 and seats == 1
    else:
        assert 500 in statuses


@pytest.mark.parametrize("guarded", [True, False])
def test_the_first_consent_of_a_kind_sent_twice_at_once(
    app, live_server, postgres, monkeypatch, guarded
):
    with app.app_context():
        member = make_member(make_user("consent@example.org"))  # no newsletter consent yet
        db.session.commit()
        user_id = member.user_id
    http, token = signed_in(app, user_id, live_server)
    hold_both(monkeypatch, consents, "utcnow")  # read just after the current consents
    if not guarded:
        monkeypatch.setattr(consents, "add_once", naive_add)
    url = f"{live_server}/members/me/consents"
    data = {"csrf_token": token, "reachable": "y", "groupable": "y", "newsletter": "y"}
    post = lambda: http.post(url, data=data, allow_redirects=False)  # noqa: E731
    statuses = [r.status_code for r in all_at_once([post, post])]

    newsletter = (Consent.user_id == user_id) & (Consent.kind == "newsletter")
    rows = count(app, select(func.count(Consent.id)).where(newsletter))
    events = count(
        app,
        select(func.count(ConsentEvent.id)).where(
            ConsentEvent.user_id == user_id, ConsentEvent.kind == "newsletter"
        ),
    )
    if guarded:
        assert statuses == [302, 302]
        assert rows == 1 and events == 1  # one consent, stated once in the history
        assert count(app, select(Consent.given).where(newsletter)) is True
    else:
        assert 500 in statuses


@pytest.mark.parametrize("guarded", [True, False])
def test_signing_up_twice_at_once(app, live_server, postgres, monkeypatch, guarded):
    from app.auth import services as auth_services

    http = requests.Session()
    http.cookies.set("lang", "en")
    token = csrf_from(http.get(f"{live_server}/auth/register").text)
    hold_both(monkeypatch, auth_services, "find_user_by_email")
    if not guarded:
        monkeypatch.setattr(auth_services, "add_once", naive_add)
    data = {
        "csrf_token": token,
        "name": "Tvíklikk Jónsdóttir",
        "email": "twice@example.org",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "accept_privacy": "y",
    }
    post = lambda: http.post(f"{live_server}/auth/register", data=data)  # noqa: E731
    statuses = [r.status_code for r in all_at_once([post, post])]

    users = count(app, select(func.count(User.id)).where(User.email == "twice@example.org"))
    mails = count(
        app,
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.to_address == "twice@example.org",
            OutboxMessage.template == "verify_email",
        ),
    )
    if guarded:
        assert statuses == [200, 200]  # each gets a page, none a server error
        assert users == 1 and mails == 1  # one account, one verification e-mail
    else:
        assert 500 in statuses


@pytest.mark.parametrize("guarded", [True, False])
def test_applying_twice_at_once(app, live_server, postgres, monkeypatch, guarded):
    with app.app_context():
        user = make_user("applicant@example.org", "Ása Umsókn")
        db.session.commit()
        user_id = user.id
    http, token = signed_in(app, user_id, live_server)
    if not guarded:
        monkeypatch.setattr(lifecycle, "add_once", naive_add)
    # Both requests have found no record before either writes one.
    hold_both(monkeypatch, lifecycle, "add_once", before=True)
    data = {"csrf_token": token, **record(full_name="Ása Umsókn"), "reachable": "y"}
    data = {k: v for k, v in data.items() if v is not None}
    post = lambda: http.post(  # noqa: E731
        f"{live_server}/members/apply", data=data, allow_redirects=False
    )
    statuses = [r.status_code for r in all_at_once([post, post])]

    records = count(app, select(func.count(Membership.id)).where(Membership.user_id == user_id))
    mails = count(
        app,
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.user_id == user_id, OutboxMessage.template == "membership_received"
        ),
    )
    if guarded:
        # One is received (to the member page), the other says it is already waiting.
        assert sorted(statuses) == [200, 302]
        assert records == 1 and mails == 1
    else:
        assert 500 in statuses


@pytest.mark.parametrize("guarded", [True, False])
def test_resigning_twice_at_once(app, live_server, postgres, monkeypatch, guarded):
    from app.members.models import MembershipEvent

    with app.app_context():
        member = make_member(make_user("resigner@example.org"))
        db.session.commit()
        user_id, membership_id = member.user_id, member.id
    http, token = signed_in(app, user_id, live_server)
    if not guarded:
        monkeypatch.setattr(lifecycle, "_lock", lambda membership: membership)
    # Both requests have read the record as active before either changes it.
    hold_both(monkeypatch, lifecycle, "_lock", before=True)
    data = {"csrf_token": token, "confirm": "y", "reason": "Moving abroad"}
    post = lambda: http.post(  # noqa: E731
        f"{live_server}/members/me/resign", data=data, allow_redirects=False
    )
    statuses = [r.status_code for r in all_at_once([post, post])]

    ended = count(
        app,
        select(func.count(MembershipEvent.id)).where(
            MembershipEvent.membership_id == membership_id, MembershipEvent.action == "resigned"
        ),
    )
    assert statuses == [302, 302]  # both answered with the member page
    if guarded:
        assert ended == 1  # one ending in the history (the other request is told it has ended)
    else:
        assert ended == 2


@pytest.mark.parametrize("guarded", [True, False])
def test_the_same_e_mail_queued_twice_at_once(app, postgres, monkeypatch, guarded):
    """Two requests writing the same keyed e-mail (say, a double-clicked step): one row, no
    error; each request gets that row back. The guard is the outbox's INSERT ... ON CONFLICT
    (key) DO NOTHING; the unguarded run writes the row with a plain insert."""
    from app.core import mail

    def naive_write(**values):
        row = OutboxMessage(**values)
        naive_add(row)
        return row, True

    if not guarded:
        monkeypatch.setattr(mail, "_write_once", naive_write)
    hold_both(monkeypatch, mail, "_write_once", before=True)

    def write():
        with app.app_context():
            try:
                message = mail.queue_mail(
                    "someone@example.org",
                    "verify_email",
                    "en",
                    {"name": "S", "link": "x"},
                    key="same-key",
                )
                db.session.commit()
                return message.id
            except Exception as exc:  # the unguarded run shows the error here
                db.session.rollback()
                return type(exc).__name__

    results = all_at_once([write, write])
    rows = count(app, select(func.count(OutboxMessage.id)).where(OutboxMessage.key == "same-key"))
    if guarded:
        assert rows == 1 and results[0] == results[1] and isinstance(results[0], int)
    else:
        assert "IntegrityError" in results
