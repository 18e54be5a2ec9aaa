"""scale indexes and import jobs

Revision ID: b1a0c0de0003
Revises: b1a0c0de0002
Create Date: 2026-12-02 06:40:00

"""
from alembic import op
import sqlalchemy as sa

import app.core.timeutil

# revision identifiers, used by Alembic.
revision = 'b1a0c0de0003'
down_revision = 'b1a0c0de0002'
branch_labels = None
depends_on = None


def upgrade():
    # Event messages' outbox rows carry their batch; counting a batch no longer scans every key.
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('batch_key', sa.String(length=100), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "UPDATE outbox_messages SET batch_key = 'event-message:' || split_part(key, ':', 2) "
            "WHERE key LIKE 'event-message:%'"
        )
    else:
        op.execute(
            "UPDATE outbox_messages SET batch_key = 'event-message:' || "
            "substr(substr(key, 15), 1, instr(substr(key, 15), ':') - 1) "
            "WHERE key LIKE 'event-message:%' AND instr(substr(key, 15), ':') > 0"
        )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_batch_key_state', ['batch_key', 'state'], unique=False)
    # A record's audit trail is read by object type and id.
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entries_object', ['object_type', 'object_id'], unique=False)
    # Member imports run as background jobs; the page polls this row for the progress.
    op.create_table('member_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('file_key', sa.String(length=200), nullable=True),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('imported_count', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('queued', 'checking', 'ready', 'invalid', 'confirmed', 'importing', 'done', 'failed', 'expired')", name=op.f('ck_member_imports_known_state')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_member_imports_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_imports'))
    )


def downgrade():
    op.drop_table('member_imports')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_object')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_batch_key_state')
        batch_op.drop_column('batch_key')
