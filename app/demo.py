"""Demo data: a believable association with Danish and Icelandic names."""

import random

from app.auth.services import create_user

ADMIN = ("admin@felag.local", "felag-demo-admin")
STAFF = [
    ("organiser@felag.local", "Mette Kjær", ["organiser"]),
    ("door@felag.local", "Jónas Einarsson", ["door"]),
    ("membership@felag.local", "Sigríður Magnúsdóttir", ["membership"]),
]
DANISH_FIRST = [
    "Anders",
    "Mette",
    "Søren",
    "Line",
    "Rasmus",
    "Freja",
    "Mads",
    "Ida",
    "Jens",
    "Karen",
    "Frederik",
    "Astrid",
    "Mikkel",
    "Sofie",
    "Thor",
    "Emma",
]
DANISH_LAST = [
    "Jensen",
    "Nielsen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Møller",
    "Kjær",
]
ICELANDIC_FIRST = [
    ("Guðrún", "dóttir"),
    ("Sigurður", "son"),
    ("Anna", "dóttir"),
    ("Jón", "son"),
    ("Kristín", "dóttir"),
    ("Ólafur", "son"),
    ("Helga", "dóttir"),
    ("Einar", "son"),
    ("Þóra", "dóttir"),
    ("Ragnar", "son"),
]
ICELANDIC_FATHERS = ["Jóns", "Sigurðar", "Gunnars", "Ólafs", "Magnúsar", "Einars", "Björns"]


def demo_people(count: int, seed: int = 7) -> list[tuple[str, str, str]]:
    """(name, e-mail, language) for count people, half Danish and half Icelandic."""
    rng = random.Random(seed)
    people = []
    for i in range(count):
        if i % 2 == 0:
            name = f"{rng.choice(DANISH_FIRST)} {rng.choice(DANISH_LAST)}"
            locale = "da"
        else:
            first, suffix = rng.choice(ICELANDIC_FIRST)
            name = f"{first} {rng.choice(ICELANDIC_FATHERS)}{suffix}"
            locale = "is"
        people.append((name, f"member{i + 1:03d}@felag.local", locale))
    return people


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
    from app.events.demo import seed_events

    seed_events(staff[0], people)  # events past and upcoming, with registrations
    from app.members.demo import seed_members

    seed_members()  # memberships (some applied), groups, a board with titles
    return ADMIN
