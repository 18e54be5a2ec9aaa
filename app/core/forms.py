"""Form helpers shared by every domain."""

from app.core.errors import DomainError


def apply_error(form, exc: DomainError) -> None:
    """Show a service's error next to its field, or above the form when it names none."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))
