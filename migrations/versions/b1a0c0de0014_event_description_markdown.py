"""event descriptions written in Markdown (issue 16): the organiser's text beside its HTML

Revision ID: b1a0c0de0014
Revises: b1a0c0de0013
Create Date: 2026-12-02 10:50:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'b1a0c0de0014'
down_revision = 'b1a0c0de0013'
branch_labels = None
depends_on = None


def upgrade():
    # Existing events keep their HTML; their text is offered for editing as plain text.
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('description_markdown', sa.Text(), nullable=False, server_default='')
        )


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('description_markdown')
