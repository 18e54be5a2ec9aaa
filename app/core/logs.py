"""Access logs without secrets: tokens and ticket codes cut from paths, no query strings."""

import re

from gunicorn.glogging import Logger

SECRET_PATHS = re.compile(
    r"^(/auth/verify/|/auth/reset/|/unsubscribe/|/t/|/tickets/|/members/unsubscribe/)[^/?\s]+"
)


def redact_path(path: str) -> str:
    """The path with a secret last segment replaced by '…'."""
    return SECRET_PATHS.sub(r"\1…", path or "")


class RedactingLogger(Logger):
    """gunicorn's logger with secret path segments and query strings removed from access lines."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact_path(atoms.get("U", ""))
        atoms["U"] = path
        atoms["q"] = ""
        atoms["r"] = f"{atoms.get('m', '')} {path} {atoms.get('H', '')}"
        atoms["f"] = "-"  # the referrer can carry the same secrets
        return atoms
