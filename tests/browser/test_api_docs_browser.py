"""The API docs page in headless Chromium: Swagger UI renders our description, with no script
errors or CSP refusals, on desktop and on a phone."""

from __future__ import annotations

from tests.helpers import screenshot


def _open_docs(tab) -> list[str]:
    """Open the docs; the script errors and refusals seen while they render."""
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.goto("/api/v1/docs")
    tab.locator(".opblock-tag").first.wait_for(timeout=30_000)
    return problems


def test_docs_page_renders_every_section_without_errors(page, phone_page):
    for tab in (page, phone_page):
        problems = _open_docs(tab)
        sections = tab.locator(".opblock-tag").all_inner_texts()
        assert any(s.startswith("events") for s in sections), sections
        assert tab.locator(".opblock").count() >= 30
        assert problems == []
    screenshot(page, "api-docs")
    screenshot(phone_page, "api-docs-phone")
