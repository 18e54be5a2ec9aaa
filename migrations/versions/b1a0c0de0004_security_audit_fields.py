"""security audit fields

Revision ID: b1a0c0de0004
Revises: b1a0c0de0003
Create Date: 2026-12-02 06:40:00

"""
from alembic import op
import sqlalchemy as sa

import app.core.timeutil

# revision identifiers, used by Alembic.
revision = 'b1a0c0de0004'
down_revision = 'b1a0c0de0003'
branch_labels = None
depends_on = None


def upgrade():
    # The client's address on each audit entry (logins, failed logins, logouts, refused access).
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=45), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_column('address')
