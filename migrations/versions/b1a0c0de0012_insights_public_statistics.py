"""insights: public statistics choices (issue 15)

Revision ID: b1a0c0de0012
Revises: b1a0c0de0011
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.core.timeutil

# revision identifiers, used by Alembic.
revision = 'b1a0c0de0012'
down_revision = 'b1a0c0de0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('public_charts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chart_key', sa.String(length=60), nullable=False),
    sa.Column('made_public_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('made_public_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['made_public_by_id'], ['users.id'], name=op.f('fk_public_charts_made_public_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_charts')),
    sa.UniqueConstraint('chart_key', name=op.f('uq_public_charts_chart_key'))
    )


def downgrade():
    op.drop_table('public_charts')
