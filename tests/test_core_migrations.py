"""`flask db upgrade` builds exactly the schema the models describe."""

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

ROOT = Path(__file__).resolve().parent.parent


def test_flask_db_upgrade_builds_the_models_schema(services, tmp_path):
    from app.extensions import db

    if services["postgres"]:
        name = services["database_name"] + "_migrations"
        admin = sa.create_engine(
            services["database_url"].rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = services["database_url"].rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FELAG_ENV")}
    env.update(FLASK_APP="wsgi", DATABASE_URL=url, INSTANCE_PATH=str(tmp_path))
    try:
        result = subprocess.run(
            [sys.executable, "-m", "flask", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata
            )
        engine.dispose()
        assert diff == [], diff
    finally:
        if services["postgres"]:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
