"""sign-in: server-side sessions, TOTP, recovery codes, e-mail change, token scopes (issue 10)

Revision ID: b1a0c0de0008
Revises: b1a0c0de0007
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.core.timeutil

# revision identifiers, used by Alembic.
revision = 'b1a0c0de0008'
down_revision = 'b1a0c0de0007'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
