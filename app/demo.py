"""Demo data: a believable association with Danish and Icelandic names."""

from app.auth.demo import demo_people
from app.auth.services import create_user
from app.events.demo import seed_events
from app.forms.demo import seed_forms
from app.inbox.demo import seed_inbox
from app.members.demo import seed_members
from app.news.demo import seed_news
from app.polls.demo import seed_polls

ADMIN = ("admin@felag.local", "felag-demo-admin")
STAFF = [
    ("organiser@felag.local", "Mette Kjær", ["organiser"]),
    ("door@felag.local", "Jónas Einarsson", ["door"]),
    ("membership@felag.local", "Sigríður Magnúsdóttir", ["membership"]),
    ("editor@felag.local", "Freja Holm", ["editor"]),
]
# Every demo account shares the admin's password; member001 is an active member.
MEMBER = "member001@felag.local"


def logins() -> list[tuple[str, str]]:
    """(who, e-mail) of each demo account to try: admin, every staff role and a member."""
    return [
        ("admin", ADMIN[0]),
        *((roles[0], email) for email, _name, roles in STAFF),
        ("member", MEMBER),
    ]


def seed(member_count: int = 40) -> tuple[str, str]:
    """Users with each staff role and member accounts; returns the admin login."""
    create_user(
        ADMIN[0], "Admin Adminsdóttir", ADMIN[1], ["admin"], verified=True, check_password=False
    )
    staff = [
        create_user(email, name, ADMIN[1], roles, verified=True, check_password=False)
        for email, name, roles in STAFF
    ]
    people = [
        create_user(email, name, ADMIN[1], [], verified=True, locale=locale, check_password=False)
        for name, email, locale in demo_people(member_count)
    ]
    seed_events(staff[0], people)  # events past and upcoming, with registrations
    seed_members()  # memberships (some applied), groups, a board with titles
    seed_polls(staff[2])  # an open poll, a closed board election with ranked results
    seed_inbox(staff[2], people[0])  # a contact question, spam, a member's answered message
    seed_news(staff[3])  # pages with texts, posts (one translated, one scheduled)
    seed_forms(staff[0], staff[2], people)  # event questions, an anonymous survey, an intake form
    return ADMIN
