"""Demo news and pages: a few posts (one translated, one scheduled) and filled-in pages."""

from __future__ import annotations

from datetime import timedelta

from app.core.timeutil import utcnow
from app.news import pages, services
from app.news.services import PostFields

PAGE_TEXTS = {
    "about": {
        "da": ("Om foreningen", "Vi er en forening for **alle**, der vil være med."),
        "en": ("About us", "We are an association for **everyone** who wants to join in."),
        "is": ("Um félagið", "Við erum félag fyrir **alla** sem vilja vera með."),
    },
    "privacy": {
        "da": (
            "Privatlivspolitik",
            "Vi gemmer dit navn og din e-mailadresse for at drive din konto.",
        ),
        "en": ("Privacy policy", "We keep your name and e-mail address to run your account."),
        "is": ("Persónuverndarstefna", "Við geymum nafn þitt og netfang til að reka aðganginn."),
    },
    "statutes": {
        "da": (
            "Vedtægter",
            "## § 1 Navn\n\nForeningens navn er Félag.\n\n"
            "## § 2 Formål\n\nForeningen samler sine medlemmer om arrangementer og fællesskab.",
        ),
        "en": (
            "Statutes",
            "## § 1 Name\n\nThe association's name is Félag.\n\n"
            "## § 2 Purpose\n\nThe association brings its members together for events and "
            "fellowship.",
        ),
        "is": (
            "Lög félagsins",
            "## 1. gr. Nafn\n\nFélagið heitir Félag.\n\n"
            "## 2. gr. Tilgangur\n\nFélagið sameinar félagsmenn sína um viðburði og samveru.",
        ),
    },
    "contact-details": {
        "da": ("Kontaktoplysninger", "Skriv til os via kontaktformularen, så svarer vi snarest."),
        "en": ("Contact details", "Write to us through the contact form and we answer soon."),
        "is": ("Samskiptaupplýsingar", "Skrifaðu okkur á samskiptaforminu og við svörum fljótt."),
    },
}

POSTS = [
    ("Ny bestyrelse valgt", "Generalforsamlingen valgte en ny bestyrelse.", ["Bestyrelsen"], 2),
    ("Sommerfesten nærmer sig", "Sæt kryds i kalenderen.", ["Arrangementer"], 6),
    ("Velkommen til vores nye hjemmeside", "Her finder du nyheder og arrangementer.", [], 12),
]


def seed_news(editor) -> None:
    """Pages with texts, three published posts (the first also in English) and a scheduled one."""
    pages.ensure_pages(PAGE_TEXTS)
    # The migration makes the pages with titles only: fill the ones nobody has written yet.
    for page in pages.all_pages():
        written = {text.locale: text.body for text in page.texts}
        for locale, (title, body) in PAGE_TEXTS.get(page.slug, {}).items():
            if not written.get(locale):
                pages.save_page_text(page, locale, title, body, editor)
    now = utcnow()
    for title, summary, categories, days_ago in POSTS:
        post = services.create_post(
            PostFields(
                title=title,
                summary=summary,
                body=f"{summary}\n\n- Læs mere på foreningens side\n- Skriv til os",
                categories=categories,
                tags=["foreningen"],
            ),
            editor,
        )
        post.state, post.publish_at = "published", now - timedelta(days=days_ago)
        if days_ago == 2:
            services.save_translation(
                post, "en", "New board elected", "The general meeting elected a new board.", ""
            )
    later = services.create_post(
        PostFields(title="Indkaldelse til årsmøde", body="Kommer snart."), editor
    )
    services.publish(later, now + timedelta(days=3))
