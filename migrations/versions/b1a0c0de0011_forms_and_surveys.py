"""forms, questions, answers, survey participation (issue 15)

Revision ID: b1a0c0de0011
Revises: b1a0c0de0010
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.core.timeutil

# revision identifiers, used by Alembic.
revision = 'b1a0c0de0011'
down_revision = 'b1a0c0de0010'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
