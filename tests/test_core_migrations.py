"""`flask db upgrade` builds exactly the schema the models describe."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext


def test_migrations_build_the_models_schema(services, tmp_path):
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from config import TestingConfig

    if services["postgres"]:
        name = services["database_name"] + "_migrations"
        admin = sa.create_engine(services["database_url"].rsplit("/", 1)[0] + "/postgres",
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = services["database_url"].rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": url,
                                     "STORAGE_DIR": str(tmp_path / "storage")})
    try:
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn, opts={
                    "compare_type": True}), db.metadata)
            db.engine.dispose()
        assert diff == [], diff
    finally:
        if services["postgres"]:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()
