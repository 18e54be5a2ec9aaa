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
    op.create_table('polls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('opens_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closes_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('secret', sa.Boolean(), nullable=False),
    sa.Column('results_mode', sa.String(length=12), nullable=False),
    sa.Column('may_change_vote', sa.Boolean(), nullable=False),
    sa.Column('electorate_kind', sa.String(length=12), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('reminder_hours_before', sa.Integer(), nullable=True),
    sa.Column('reminder_sent_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('electorate_size', sa.Integer(), nullable=False),
    sa.Column('mixed_ballots', sa.Integer(), nullable=False),
    sa.Column('opened_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("electorate_kind IN ('members', 'users', 'group', 'event')", name=op.f('ck_polls_known_electorate')),
    sa.CheckConstraint("results_mode IN ('after_close', 'live')", name=op.f('ck_polls_known_results_mode')),
    sa.CheckConstraint("status IN ('draft', 'scheduled', 'open', 'closed', 'published')", name=op.f('ck_polls_known_status')),
    sa.CheckConstraint('NOT (secret AND may_change_vote)', name=op.f('ck_polls_change_only_open_ballots')),
    sa.CheckConstraint('electorate_size >= 0', name=op.f('ck_polls_electorate_size_not_negative')),
    sa.CheckConstraint('opens_at IS NULL OR closes_at IS NULL OR closes_at > opens_at', name=op.f('ck_polls_closes_after_opening')),
    sa.CheckConstraint('reminder_hours_before IS NULL OR reminder_hours_before > 0', name=op.f('ck_polls_reminder_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_polls_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_polls_event_id_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['member_groups.id'], name=op.f('fk_polls_group_id_member_groups'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_polls'))
    )
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_polls_status'), ['status'], unique=False)

    op.create_table('poll_ballots',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('receipt_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_ballots_poll_id_polls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_poll_ballots_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_ballots')),
    sa.UniqueConstraint('poll_id', 'user_id', name='uq_poll_ballots_poll_user'),
    sa.UniqueConstraint('receipt_hash', name=op.f('uq_poll_ballots_receipt_hash'))
    )
    with op.batch_alter_table('poll_ballots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_ballots_poll_id'), ['poll_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_poll_ballots_user_id'), ['user_id'], unique=False)

    op.create_table('poll_electors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_electors_poll_id_polls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_poll_electors_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_electors')),
    sa.UniqueConstraint('poll_id', 'user_id', name='uq_poll_electors_poll_user')
    )
    with op.batch_alter_table('poll_electors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_electors_user_id'), ['user_id'], unique=False)

    op.create_table('poll_participations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_participations_poll_id_polls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_poll_participations_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_participations')),
    sa.UniqueConstraint('poll_id', 'user_id', name='uq_poll_participations_poll_user')
    )
    with op.batch_alter_table('poll_participations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_participations_user_id'), ['user_id'], unique=False)

    op.create_table('poll_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('max_choices', sa.Integer(), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('yes_no', 'single', 'multiple', 'ranked')", name=op.f('ck_poll_questions_known_kind')),
    sa.CheckConstraint('max_choices >= 1', name=op.f('ck_poll_questions_max_choices_positive')),
    sa.CheckConstraint('seats >= 1', name=op.f('ck_poll_questions_seats_positive')),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_questions_poll_id_polls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_questions'))
    )
    with op.batch_alter_table('poll_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_questions_poll_id'), ['poll_id'], unique=False)

    op.create_table('poll_options',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('value', sa.String(length=10), nullable=True),
    sa.CheckConstraint("value IS NULL OR value IN ('yes', 'no', 'abstain')", name=op.f('ck_poll_options_known_value')),
    sa.ForeignKeyConstraint(['question_id'], ['poll_questions.id'], name=op.f('fk_poll_options_question_id_poll_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_options'))
    )
    with op.batch_alter_table('poll_options', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_options_question_id'), ['question_id'], unique=False)

    op.create_table('poll_ballot_choices',
    sa.Column('ballot_id', sa.String(length=32), nullable=False),
    sa.Column('option_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.CheckConstraint('rank >= 1', name=op.f('ck_poll_ballot_choices_rank_positive')),
    sa.ForeignKeyConstraint(['ballot_id'], ['poll_ballots.id'], name=op.f('fk_poll_ballot_choices_ballot_id_poll_ballots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['option_id'], ['poll_options.id'], name=op.f('fk_poll_ballot_choices_option_id_poll_options'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['poll_questions.id'], name=op.f('fk_poll_ballot_choices_question_id_poll_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ballot_id', 'option_id', name=op.f('pk_poll_ballot_choices')),
    sa.UniqueConstraint('ballot_id', 'question_id', 'rank', name='uq_ballot_choices_rank')
    )
    with op.batch_alter_table('poll_ballot_choices', schema=None) as batch_op:
        batch_op.create_index('ix_poll_ballot_choices_question', ['question_id'], unique=False)



def downgrade():
    with op.batch_alter_table('poll_ballot_choices', schema=None) as batch_op:
        batch_op.drop_index('ix_poll_ballot_choices_question')

    op.drop_table('poll_ballot_choices')
    with op.batch_alter_table('poll_options', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_options_question_id'))

    op.drop_table('poll_options')
    with op.batch_alter_table('poll_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_questions_poll_id'))

    op.drop_table('poll_questions')
    with op.batch_alter_table('poll_participations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_participations_user_id'))

    op.drop_table('poll_participations')
    with op.batch_alter_table('poll_electors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_electors_user_id'))

    op.drop_table('poll_electors')
    with op.batch_alter_table('poll_ballots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_ballots_user_id'))
        batch_op.drop_index(batch_op.f('ix_poll_ballots_poll_id'))

    op.drop_table('poll_ballots')
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_polls_status'))

    op.drop_table('polls')
