"""inbox conversations

Revision ID: b1a0c0de0007
Revises: b1a0c0de0006
Create Date: 2026-12-02 06:55:00

"""
from alembic import op
import sqlalchemy as sa

import app.core.timeutil

# revision identifiers, used by Alembic.
revision = 'b1a0c0de0007'
down_revision = 'b1a0c0de0006'
branch_labels = None
depends_on = None


def upgrade():
    # --- I1: the inbox (contact form, member <-> association messages) -------------------------
    op.create_table('conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('spam_reason', sa.String(length=20), nullable=True),
    sa.Column('submission_key', sa.String(length=64), nullable=True),
    sa.Column('unread_by_person', sa.Boolean(), nullable=False),
    sa.Column('unread_by_staff', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_message_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('new', 'open', 'waiting', 'closed', 'spam')", name=op.f('ck_conversations_known_state')),
    sa.CheckConstraint("origin IN ('contact', 'member', 'staff')", name=op.f('ck_conversations_known_origin')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_conversations_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_conversations_assignee_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    sa.UniqueConstraint('submission_key', name=op.f('uq_conversations_submission_key'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversations_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index('ix_conversations_user_unread', ['user_id', 'unread_by_person'], unique=False)
        batch_op.create_index('ix_conversations_staff_unread', ['unread_by_staff', 'state'], unique=False)
        batch_op.create_index('ix_conversations_state_last', ['state', 'last_message_at'], unique=False)

    op.create_table('conversation_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('from_staff', sa.Boolean(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('message', 'note')", name=op.f('ck_conversation_messages_known_kind')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_messages_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_conversation_messages_author_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_messages'))
    )
    with op.batch_alter_table('conversation_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_messages_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversation_messages_author_id'), ['author_id'], unique=False)


def downgrade():
    with op.batch_alter_table('conversation_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_messages_author_id'))
        batch_op.drop_index(batch_op.f('ix_conversation_messages_conversation_id'))
    op.drop_table('conversation_messages')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_state_last')
        batch_op.drop_index('ix_conversations_staff_unread')
        batch_op.drop_index('ix_conversations_user_unread')
        batch_op.drop_index(batch_op.f('ix_conversations_assignee_id'))
    op.drop_table('conversations')
