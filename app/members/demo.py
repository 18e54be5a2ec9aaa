"""Demo members: memberships for the demo users, groups and a board; and a bulk generator
(`flask members generate-demo --count 20000`) for benchmarks."""

from __future__ import annotations

import random
import re
import secrets
from datetime import date, timedelta

from sqlalchemy import insert, select

from app.auth.demo import demo_people
from app.auth.models import User
from app.core.timeutil import local_today, utcnow
from app.extensions import db
from app.members import national_id
from app.members.models import (
    Consent,
    ConsentEvent,
    Group,
    GroupMember,
    Membership,
    MembershipEvent,
    Title,
)

ICELANDIC_PLACES = [
    ("Reykjavík", "Reykjavíkurborg", "Höfuðborgarsvæðið", "101"),
    ("Kópavogur", "Kópavogsbær", "Höfuðborgarsvæðið", "200"),
    ("Hafnarfjörður", "Hafnarfjarðarkaupstaður", "Höfuðborgarsvæðið", "220"),
    ("Garðabær", "Garðabær", "Höfuðborgarsvæðið", "210"),
    ("Akureyri", "Akureyrarbær", "Norðurland eystra", "600"),
    ("Selfoss", "Sveitarfélagið Árborg", "Suðurland", "800"),
    ("Reykjanesbær", "Reykjanesbær", "Suðurnes", "230"),
    ("Ísafjörður", "Ísafjarðarbær", "Vestfirðir", "400"),
    ("Egilsstaðir", "Múlaþing", "Austurland", "700"),
]
DANISH_PLACES = [
    ("København", "Københavns Kommune", "Hovedstaden", "2200"),
    ("Aarhus", "Aarhus Kommune", "Midtjylland", "8000"),
    ("Odense", "Odense Kommune", "Syddanmark", "5000"),
    ("Aalborg", "Aalborg Kommune", "Nordjylland", "9000"),
    ("Roskilde", "Roskilde Kommune", "Sjælland", "4000"),
]
STREETS_IS = ["Laugavegur", "Hverfisgata", "Skólavörðustígur", "Bankastræti", "Hafnargata"]
STREETS_DK = ["Nørrebrogade", "Vesterbrogade", "Østerbrogade", "Jagtvej", "Strandvejen"]
UNIONS = ["Efling", "VR", "BHM", "Sameyki", "HK", "Dansk Metal", "3F"]
JOBS = ["Nurse", "Teacher", "Data scientist", "Carpenter", "Student", "Engineer", "Chef"]
GROUPS = [
    ("Reykjavík local cell", "reykjavik", "cell", None, True),
    ("North Iceland local cell", "nordurland", "cell", None, True),
    ("Election committee", "election-committee", "committee", 7, False),
    ("Data science reading group", "reading-group", "department", 25, True),
]


def kennitala(rng: random.Random, born: date) -> str:
    """A valid kennitala for a birthday (random middle digits, right check digit)."""
    while True:
        first = f"{born.day:02d}{born.month:02d}{born.year % 100:02d}{rng.randint(20, 99):02d}"
        check = national_id.kennitala_check_digit(first)
        if check is not None:
            century = {1800: "8", 1900: "9", 2000: "0"}[born.year // 100 * 100]
            return f"{first}{check}{century}"


def _random_birthday(rng: random.Random) -> date:
    return date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 65))


def _place(rng: random.Random, icelandic: bool):
    city, municipality, region, postal = rng.choice(
        ICELANDIC_PLACES if icelandic else DANISH_PLACES
    )
    street = rng.choice(STREETS_IS if icelandic else STREETS_DK)
    return {
        "street": street,
        "house_number": str(rng.randint(1, 120)),
        "postal_code": postal,
        "city": city,
        "municipality": municipality,
        "region": region,
        "country": "IS" if icelandic else "DK",
    }


def seed_members(seed: int = 5) -> None:
    """Memberships for the demo users (most active, some applied), groups and a board."""
    rng = random.Random(seed)
    users = [
        user
        for user in db.session.scalars(
            select(User).where(User.email.like("member%@felag.local")).order_by(User.id)
        )
        if re.fullmatch(r"member\d+@felag\.local", user.email)  # not membership@ (staff)
    ]
    today = local_today()
    memberships = []
    used: set[str] = set()
    for i, user in enumerate(users):
        icelandic = user.locale == "is"
        born = _random_birthday(rng)
        status = "applied" if i % 8 == 7 else "active"
        m = Membership(
            user=user,
            status=status,
            full_name=user.name,
            birthday=born,
            birth_year=born.year,
            phone=f"+354 {rng.randint(600, 899)} {rng.randint(1000, 9999)}"
            if icelandic
            else f"+45 {rng.randint(20, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
            f"{rng.randint(10, 99)}",
            job_title=rng.choice(JOBS),
            joined_on=today - timedelta(days=rng.randint(30, 3000)) if status == "active" else None,
            applied_at=utcnow(),
            **_place(rng, icelandic),
        )
        m.phone_digits = "".join(c for c in m.phone if c.isdigit())
        m.national_id_country = "IS" if icelandic else "DK"
        if icelandic:
            number = kennitala(rng, born)
            while number in used:
                number = kennitala(rng, born)
            used.add(number)
            m.national_id_encrypted = national_id.encrypt(number)
            m.national_id_hash = national_id.lookup(number)
            m.national_id_masked = national_id.mask("IS", number)
        m.history.append(MembershipEvent(action="applied", to_status="applied", by_id=user.id))
        if status == "active":
            m.history.append(
                MembershipEvent(action="approved", from_status="applied", to_status="active")
            )
        db.session.add(m)
        for kind in ("reachable", "groupable", "newsletter"):
            given = rng.random() < 0.8
            db.session.add(Consent(user_id=user.id, kind=kind, given=given))
            db.session.add(
                ConsentEvent(user_id=user.id, kind=kind, given=given, by_id=user.id, source="demo")
            )
        memberships.append(m)
    db.session.flush()
    created = []
    for name, slug, kind, capacity, recruiting in GROUPS:
        group = Group(
            name=name,
            slug=slug,
            kind=kind,
            capacity=capacity,
            recruiting=recruiting,
            description=f"{name}.",
            member_count=0,
        )
        db.session.add(group)
        created.append(group)
    db.session.flush()
    active = [m for m in memberships if m.status == "active"]
    for i, m in enumerate(active):
        group = created[i % len(created)]
        if group.capacity is not None and group.member_count >= group.capacity:
            continue
        db.session.add(
            GroupMember(group=group, membership=m, role="lead" if i < len(created) else "member")
        )
        group.member_count += 1
    board = [
        "chair",
        "vice_chair",
        "treasurer",
        "secretary",
        "board_member",
        "board_member",
        "substitute",
    ]
    for kind, m in zip(board, active, strict=False):
        db.session.add(Title(membership=m, kind=kind, starts_on=today - timedelta(days=200)))
    db.session.flush()


def generate(count: int, seed: int = 11, batch: int = 1000) -> int:
    """Insert count members (users and memberships) in batches; returns how many were made."""
    rng = random.Random(seed)
    run = secrets.token_hex(3)
    used = set(
        db.session.scalars(
            select(Membership.national_id_hash).where(Membership.national_id_hash.is_not(None))
        )
    )
    people = demo_people(count, seed)
    today = local_today()
    now = utcnow()
    made = 0
    for start in range(0, count, batch):
        chunk = people[start : start + batch]
        user_rows = [
            {
                "email": f"demo-{run}-{start + i:06d}@members.felag.local",
                "name": name,
                "password_hash": "!demo",
                "locale": locale,
                "email_verified_at": now,
                "privacy_accepted_at": now,
                "created_at": now,
                "session_version": 1,
                "is_active_account": True,
            }
            for i, (name, _email, locale) in enumerate(chunk)
        ]
        ids = db.session.scalars(insert(User).returning(User.id), user_rows).all()
        member_rows = []
        consent_rows = []
        for user_id, (name, _email, locale) in zip(ids, chunk, strict=True):
            icelandic = locale == "is"
            born = _random_birthday(rng)
            roll = rng.random()
            status = (
                "active"
                if roll < 0.9
                else "applied"
                if roll < 0.94
                else ("resigned" if roll < 0.98 else "rejected")
            )
            row = {
                "user_id": user_id,
                "status": status,
                "full_name": name,
                "birthday": born,
                "birth_year": born.year,
                "gender": rng.choice(["", "female", "male", "nonbinary"]),
                "phone": f"+354 {rng.randint(600, 899)} {rng.randint(1000, 9999)}",
                "secondary_email": "",
                "apartment": "",
                "job_title": rng.choice(JOBS),
                "housing": rng.choice(["", "owner", "renter"]),
                "joined_on": today - timedelta(days=rng.randint(0, 7000))
                if status != "applied"
                else None,
                "ended_on": today if status == "resigned" else None,
                "is_test": False,
                "national_id_country": "IS" if icelandic else "DK",
                "national_id_encrypted": None,
                "national_id_hash": None,
                "national_id_masked": "",
                "decision_reason": "",
                "created_at": now,
                "updated_at": now,
                **_place(rng, icelandic),
            }
            row["phone_digits"] = "".join(c for c in row["phone"] if c.isdigit())
            if icelandic:
                number = kennitala(rng, born)
                digest = national_id.lookup(number)
                while digest in used:
                    number = kennitala(rng, born)
                    digest = national_id.lookup(number)
                used.add(digest)
                row.update(
                    national_id_encrypted=national_id.encrypt(number),
                    national_id_hash=digest,
                    national_id_masked=national_id.mask("IS", number),
                )
            member_rows.append(row)
            if rng.random() < 0.6:
                consent_rows.append(
                    {"user_id": user_id, "kind": "newsletter", "given": True, "changed_at": now}
                )
        db.session.execute(insert(Membership), member_rows)
        if consent_rows:
            db.session.execute(insert(Consent), consent_rows)
        made += len(member_rows)
        db.session.commit()
    return made
