"""short ticket codes, branding settings, profile images (issue 16)

Revision ID: b1a0c0de0013
Revises: b1a0c0de0012
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.core.timeutil

# revision identifiers, used by Alembic.
revision = 'b1a0c0de0013'
down_revision = 'b1a0c0de0012'
branch_labels = None
depends_on = None


# -- Short ticket codes ---------------------------------------------------------------------------
# The same code as app/events/tickets.short_code, written out here: a migration must keep working
# whatever the application's code becomes.
SHORT_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _short_code(code, attempt=0):
    import hashlib

    parts = (code or "").split(".")
    if len(parts) != 3:
        return None
    seed = parts[1] if not attempt else f"{parts[1]}:{attempt}"
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    letters = []
    for _ in range(8):
        number, index = divmod(number, len(SHORT_CODE_ALPHABET))
        letters.append(SHORT_CODE_ALPHABET[index])
    return "".join(letters)


def _backfill_short_codes():
    """Every existing ticket gets its short code, unique within its event."""
    bind = op.get_bind()
    registrations = sa.table(
        "registrations",
        sa.column("id", sa.Integer),
        sa.column("event_id", sa.Integer),
        sa.column("ticket_code", sa.String),
        sa.column("short_code", sa.String),
    )
    rows = bind.execute(
        sa.select(registrations.c.id, registrations.c.event_id, registrations.c.ticket_code)
        .where(registrations.c.ticket_code.is_not(None))
        .order_by(registrations.c.id)
    ).all()
    used = set()
    for row in rows:
        attempt = 0
        code = _short_code(row.ticket_code)
        while code is not None and (row.event_id, code) in used:
            attempt += 1
            code = _short_code(row.ticket_code, attempt)
        if code is None:
            continue
        used.add((row.event_id, code))
        bind.execute(
            registrations.update().where(registrations.c.id == row.id).values(short_code=code)
        )


def upgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_code', sa.String(length=8), nullable=True))
    _backfill_short_codes()
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_unique_constraint(
            'uq_registrations_event_short_code', ['event_id', 'short_code']
        )


def downgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_constraint('uq_registrations_event_short_code', type_='unique')
        batch_op.drop_column('short_code')
