"""polls and elections

Revision ID: b1a0c0de0005
Revises: b1a0c0de0004
Create Date: 2026-12-02 06:55:00

"""
from alembic import op
import sqlalchemy as sa

import app.core.timeutil

# revision identifiers, used by Alembic.
revision = 'b1a0c0de0005'
down_revision = 'b1a0c0de0004'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
