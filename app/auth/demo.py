"""Demo people: believable Danish and Icelandic names for demo accounts and members."""

import random

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
