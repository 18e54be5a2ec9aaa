"""Pages (about, privacy, statutes, contact details, the front page's welcome) and the front
page's settings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.core import audit
from app.core.errors import DomainError
from app.extensions import db
from app.news.models import LOCALES, FrontPage, Page, PageText

# The pages the footer links, in its order; 'welcome' is the front page's text (not a page of
# its own). Titles here are the defaults `flask seed-demo` writes when a page is missing.
FOOTER_PAGES = ("about", "privacy", "statutes", "contact-details")
WELCOME = "welcome"
# The footer's link texts: translated labels, so base.html needs no query on every page.
FOOTER_LABELS = {
    "about": _l("About us"),
    "privacy": _l("Privacy policy"),
    "statutes": _l("Statutes"),
    "contact-details": _l("Contact details"),
}
PAGE_SLUGS = (*FOOTER_PAGES, WELCOME)
DEFAULT_TITLES = {
    "about": {"da": "Om foreningen", "en": "About us", "is": "Um félagið"},
    "privacy": {"da": "Privatlivspolitik", "en": "Privacy policy", "is": "Persónuverndarstefna"},
    "statutes": {"da": "Vedtægter", "en": "Statutes", "is": "Lög félagsins"},
    "contact-details": {
        "da": "Kontaktoplysninger",
        "en": "Contact details",
        "is": "Samskiptaupplýsingar",
    },
    WELCOME: {"da": "", "en": "", "is": ""},
}


def get_page(slug: str) -> Page | None:
    """A page with its texts (one query for both)."""
    return db.session.scalar(
        select(Page).where(Page.slug == slug).options(selectinload(Page.texts))
    )


def all_pages() -> list[Page]:
    """Every page with its texts, in the footer's order."""
    pages = db.session.scalars(select(Page).options(selectinload(Page.texts))).all()
    order = {slug: n for n, slug in enumerate(PAGE_SLUGS)}
    return sorted(pages, key=lambda p: (order.get(p.slug, len(order)), p.slug))


def ensure_pages(texts: dict[str, dict[str, tuple[str, str]]] | None = None) -> int:
    """Create the pages that are missing (with default titles, or the given (title, body)
    per language); existing pages are left as staff wrote them. Returns how many were made."""
    existing = set(db.session.scalars(select(Page.slug)))
    made = 0
    for slug in PAGE_SLUGS:
        if slug in existing:
            continue
        page = Page(slug=slug)
        for locale in LOCALES:
            title, body = (
                (texts or {}).get(slug, {}).get(locale, (DEFAULT_TITLES[slug][locale], ""))
            )
            page.texts.append(PageText(locale=locale, title=title, body=body))
        db.session.add(page)
        made += 1
    db.session.flush()
    return made


def save_page_text(page: Page, locale: str, title: str, body: str, actor) -> None:
    """Save a page's title and Markdown text in one language."""
    if locale not in LOCALES:
        raise DomainError(_l("Choose a language."), field="locale")
    title, body = title.strip(), body.replace("\r\n", "\n").strip()
    if len(title) > 200:
        raise DomainError(_l("The title is longer than 200 characters."), field="title")
    if body and not title and page.slug != WELCOME:
        raise DomainError(_l("Give the page a title."), field="title")
    text = next((t for t in page.texts if t.locale == locale), None)
    if text is None:
        text = PageText(locale=locale, title=title, body=body)
        page.texts.append(text)
    elif (text.title, text.body) == (title, body):
        return
    text.title, text.body = title, body
    page.updated_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record("page.updated", "page", page.id, after={"slug": page.slug, "locale": locale})


def front_page_settings() -> FrontPage:
    """The front page's settings (defaults when the row is missing; nothing is written)."""
    settings = db.session.scalar(select(FrontPage).order_by(FrontPage.id).limit(1))
    if settings is None:
        settings = FrontPage(
            show_events=True,
            show_news=True,
            show_polls=True,
            show_call_to_action=True,
            events_count=3,
            news_count=3,
        )
    return settings


BLOCKS = ("show_events", "show_news", "show_polls", "show_call_to_action")


def save_front_page(values: dict, actor) -> FrontPage:
    """Save which blocks the front page shows and how many events and posts it lists."""
    settings = front_page_settings()
    for name in ("events_count", "news_count"):
        if not isinstance(values.get(name), int) or not 1 <= values[name] <= 12:
            raise DomainError(_l("Choose a number from 1 to 12."), field=name)
    before = {name: getattr(settings, name) for name in (*BLOCKS, "events_count", "news_count")}
    for name in before:
        setattr(settings, name, values[name] if name in values else before[name])
    if settings.id is None:
        db.session.add(settings)
    db.session.flush()
    after = {name: getattr(settings, name) for name in before}
    if before != after:
        audit.record("front_page.updated", "front_page", settings.id, before=before, after=after)
    return settings
