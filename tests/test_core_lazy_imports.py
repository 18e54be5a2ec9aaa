"""Starting the app (every web worker) imports no heavy library a page may never need (issue 13).

Each of these costs a worker megabytes of memory for its whole life; they are imported inside the
functions that use them (QR images, uploads, calendars, Markdown, e-mail CSS, passwords, S3,
spreadsheets, migrations, single sign-on, passkeys, app tokens, webhook deliveries).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HEAVY = (
    "alembic",
    "argon2",
    "authlib",  # single sign-on (app/auth/sso.py)
    "boto3",
    "css_inline",
    "icalendar",
    "jwt",  # PyJWT with cryptography's x509: app access tokens (app/api/app_tokens.py)
    "markdown_it",
    "openpyxl",
    "PIL",
    "qrcode",
    "requests",
    "urllib3",  # webhook deliveries, in the jobs worker (app/webhooks/sending.py)
    "webauthn",  # passkey ceremonies (app/auth/passkeys.py)
)


def _loaded_after(tmp_path: Path, then: str = "") -> list[str]:
    """The HEAVY modules in sys.modules after create_app() (and `then`) in a fresh process."""
    code = (
        "import json, sys\n"
        "from app import create_app\n"
        "app = create_app()\n"
        f"{then}\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "FELAG_ENV": "development",
        "SECRET_KEY": "lazy-imports-test-secret-key",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'lazy.db'}",
        "STORAGE_DIR": str(tmp_path / "storage"),
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_starting_the_app_imports_no_heavy_library(tmp_path):
    assert _loaded_after(tmp_path) == []


def test_a_heavy_library_is_imported_when_it_is_used(tmp_path):
    # The check above sees these modules: drawing a ticket's QR code loads qrcode and Pillow.
    then = (
        "from app.events.tickets import qr_png\n"
        "with app.test_request_context():\n"
        "    qr_png('1.' + 'A' * 22 + '.' + 'B' * 86)"
    )
    assert {"qrcode", "PIL"} <= set(_loaded_after(tmp_path, then))
