"""Command-line tools: users, tokens, demo data, translations."""

import os
import subprocess
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from app.core.errors import DomainError
from app.core.http import absolute_url
from app.core.jobs import commit
from app.core.security import ROLES
from app.extensions import db

ROOT = Path(__file__).resolve().parent.parent


class MigrationCommands(click.Group):
    """`flask db ...` from Flask-Migrate, loaded when used: web workers never import alembic."""

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        from flask.cli import ScriptInfo
        from flask_migrate import Migrate
        from flask_migrate.cli import db as migrate_commands

        app = parent.ensure_object(ScriptInfo).load_app()
        if "migrate" not in app.extensions:
            Migrate(
                app,
                db,
                directory=str(ROOT / "migrations"),
                render_as_batch=True,
                compare_type=True,
            )
        return migrate_commands.make_context(info_name, args, parent=parent, **extra)


def register(app: Flask) -> None:
    app.cli.add_command(MigrationCommands("db", help="Database migrations (Flask-Migrate)."))
    app.cli.add_command(users)
    app.cli.add_command(tokens)
    app.cli.add_command(translate)
    app.cli.add_command(seed_demo)
    from app.core.worker import jobs_cli  # `flask jobs worker`: jobs in-process (no fork per job)

    app.cli.add_command(jobs_cli)
    from app.core.retention import audit_cli, outbox_cli  # `flask outbox prune`, `audit archive`

    app.cli.add_command(outbox_cli)
    app.cli.add_command(audit_cli)


users = AppGroup("users", help="Manage user accounts.")


@users.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--password", required=True)
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES))
@click.option("--verified", is_flag=True, help="Mark the e-mail address as confirmed.")
@click.option("--locale", type=click.Choice(["da", "en", "is"]), help="Default: DEFAULT_LANGUAGE")
def users_create(email, name, password, roles, verified, locale):
    """Create a user."""
    from app.auth.services import create_user

    try:
        user = create_user(email, name, password, list(roles), verified, locale)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc.message)) from None
    db.session.commit()
    click.echo(f"Created user {user.id} ({user.email}) roles={','.join(sorted(user.role_names))}")


tokens = AppGroup("tokens", help="Manage API tokens.")


@tokens.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="members:read, members:write, checkin, polls or events (repeat; default: all).",
)
@click.option("--expires-days", type=click.IntRange(min=1), help="Expire after this many days.")
def tokens_create(email, name, scopes, expires_days):
    """Create an API token for a user; the key is printed once."""
    from datetime import timedelta

    from app.api.models import SCOPES
    from app.api.services import create_token
    from app.auth.services import find_user_by_email
    from app.core.timeutil import utcnow

    user = find_user_by_email(email)
    if user is None:
        raise click.ClickException("No user has that e-mail address.")
    expires_at = utcnow() + timedelta(days=expires_days) if expires_days else None
    try:
        _token, key = create_token(user, name, None, scopes or SCOPES, expires_at)
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from None
    db.session.commit()
    click.echo(key)


translate = AppGroup("translate", help="Extract, update and compile the translation catalogs.")


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)


@translate.command("extract")
def translate_extract():
    """Collect the marked strings into translations/messages.pot."""
    (ROOT / "translations").mkdir(exist_ok=True)
    _pybabel(
        "extract",
        "-F",
        "babel.cfg",
        "-k",
        "_l",
        "-k",
        "lazy_gettext",
        "-k",
        "lazy_ngettext:1,2",
        "--no-location",
        "--sort-output",
        "-o",
        "translations/messages.pot",
        ".",
    )


@translate.command("update")
def translate_update():
    """Extract, then merge new strings into the da, en and is catalogs (English from source)."""
    translate_extract.callback()
    for locale in ("da", "en", "is"):
        po = ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"
        command = "update" if po.exists() else "init"
        extra = ["--no-fuzzy-matching"] if command == "update" else []
        _pybabel(
            command, "-i", "translations/messages.pot", "-d", "translations", "-l", locale, *extra
        )
    fill_source_catalog(ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po")


def fill_source_catalog(path: Path) -> None:
    """English is the source language: its catalog repeats each message id."""
    from babel.messages.pofile import read_po, write_po

    with path.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            if not all(message.string):
                message.string = tuple(message.id)
        elif not message.string:
            message.string = message.id
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100)


@translate.command("compile")
def translate_compile():
    """Compile the catalogs to .mo files."""
    _pybabel("compile", "-d", "translations")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when users exist already.")
@click.option("--members", default=40, show_default=True)
def seed_demo(if_empty, members):
    """Fill the database with a believable association."""
    from app.auth.models import User
    from app.demo import ADMIN, seed

    if os.environ.get("FELAG_ENV") == "production":
        # The demo accounts have published passwords (an admin among them).
        raise click.ClickException(
            "seed-demo refuses to run in production (FELAG_ENV=production): "
            "it creates accounts whose passwords are public."
        )

    if if_empty and db.session.scalar(db.select(db.func.count(User.id))):
        click.echo("The database has users already; no demo data added.")
        if db.session.scalar(db.select(User.id).where(User.email == ADMIN[0])):
            _print_logins()
        return
    seed(members)
    commit()  # and the jobs the demo asked for (e-mails, image sizes) are handed over
    click.echo("Demo data ready.")
    _print_logins()


def _print_logins() -> None:
    """Every demo login (they share one password) and where to use them."""
    from app.demo import ADMIN, logins

    click.echo(f"Demo logins (password for all: {ADMIN[1]}):")
    for who, email in logins():
        click.echo(f"  {who:<11} {email}")
    click.echo(f"Open {absolute_url('auth.login')}")
