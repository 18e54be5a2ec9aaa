"""Form helpers shared by every domain."""

from flask import g, has_request_context
from flask_wtf import FlaskForm as _FlaskForm

from app.core import form_messages
from app.core.errors import DomainError


class FlaskForm(_FlaskForm):
    """Flask-WTF's form, rendered so that several forms fit on one page with unique ids.

    The hidden CSRF field needs no id (no label points at it); a submit button whose id was
    already used on the page gets a numbered one ("submit-2"), so the first keeps "submit".
    Labelled fields that two forms of a page share get ids of their own (`id=` on the field).
    """

    class Meta:
        def render_field(self, field, render_kw):
            if field.type == "CSRFTokenField":
                render_kw = {**render_kw, "id": False}
            elif field.type == "SubmitField" and "id" not in render_kw and has_request_context():
                used = g.setdefault("rendered_submit_ids", set())
                ident, n = field.id, 2
                while ident in used:
                    ident, n = f"{field.id}-{n}", n + 1
                used.add(ident)
                render_kw = {**render_kw, "id": ident}
            return super().render_field(field, render_kw)

        def get_translations(self, form):
            """WTForms' own messages from our catalog (it has no Danish or Icelandic one)."""
            return form_messages.translations


def apply_error(form, exc: DomainError) -> None:
    """Show a service's error next to its field, or above the form when it names none."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))
