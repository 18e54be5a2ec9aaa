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
}

POSTS = [
    ("Ny bestyrelse valgt", "Generalforsamlingen valgte en ny bestyrelse.", ["Bestyrelsen"], 2),
    ("Sommerfesten nærmer sig", "Sæt kryds i kalenderen.", ["Arrangementer"], 6),
    ("Velkommen til vores nye hjemmeside", "Her finder du nyheder og arrangementer.", [], 12),
]


def seed_news(editor) -> None:
    """Pages with texts, three published posts (the first also in English) and a scheduled one."""
    pages.ensure_pages(PAGE_TEXTS)
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
