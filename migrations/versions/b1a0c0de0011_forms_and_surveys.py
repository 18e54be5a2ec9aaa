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
    op.create_table('forms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('audience', sa.String(length=10), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('event', 'survey', 'intake')", name=op.f('ck_forms_known_kind')),
    sa.CheckConstraint("status IN ('draft', 'open', 'closed')", name=op.f('ck_forms_known_status')),
    sa.CheckConstraint("audience IN ('users', 'members', 'group')", name=op.f('ck_forms_known_audience')),
    sa.CheckConstraint("audience != 'group' OR group_id IS NOT NULL", name=op.f('ck_forms_group_has_group')),
    sa.CheckConstraint("kind = 'survey' OR NOT anonymous", name=op.f('ck_forms_only_surveys_anonymous')),
    sa.ForeignKeyConstraint(['group_id'], ['member_groups.id'], name=op.f('fk_forms_group_id_member_groups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_forms_event_id_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_forms_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forms')),
    sa.UniqueConstraint('slug', name=op.f('uq_forms_slug')),
    sa.UniqueConstraint('event_id', name=op.f('uq_forms_event_id'))
    )
    with op.batch_alter_table('forms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forms_group_id'), ['group_id'], unique=False)

    op.create_table('form_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('min_value', sa.Integer(), nullable=True),
    sa.Column('max_value', sa.Integer(), nullable=True),
    sa.Column('removed_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('short_text', 'long_text', 'one_choice', 'many_choices', 'number', 'scale', 'date', 'yes_no')", name=op.f('ck_form_questions_known_kind')),
    sa.CheckConstraint('min_value IS NULL OR max_value IS NULL OR min_value <= max_value', name=op.f('ck_form_questions_range_order')),
    sa.ForeignKeyConstraint(['form_id'], ['forms.id'], name=op.f('fk_form_questions_form_id_forms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_questions'))
    )
    with op.batch_alter_table('form_questions', schema=None) as batch_op:
        batch_op.create_index('ix_form_questions_form_position', ['form_id', 'position'], unique=False)

    op.create_table('form_options',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('removed_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['question_id'], ['form_questions.id'], name=op.f('fk_form_options_question_id_form_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_options'))
    )
    with op.batch_alter_table('form_options', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_options_question_id'), ['question_id'], unique=False)

    op.create_table('form_responses',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('locale', sa.String(length=5), nullable=True),
    sa.Column('submitted_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['form_id'], ['forms.id'], name=op.f('fk_form_responses_form_id_forms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_form_responses_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_form_responses_registration_id_registrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_responses')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_form_responses_registration_id'))
    )
    with op.batch_alter_table('form_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_responses_form_id'), ['form_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_form_responses_user_id'), ['user_id'], unique=False)

    op.create_table('form_answers',
    sa.Column('response_id', sa.String(length=32), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['form_responses.id'], name=op.f('fk_form_answers_response_id_form_responses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['form_questions.id'], name=op.f('fk_form_answers_question_id_form_questions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('response_id', 'question_id', name=op.f('pk_form_answers'))
    )
    with op.batch_alter_table('form_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_answers_question_id'), ['question_id'], unique=False)

    op.create_table('form_participations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['form_id'], ['forms.id'], name=op.f('fk_form_participations_form_id_forms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_form_participations_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_participations')),
    sa.UniqueConstraint('form_id', 'user_id', name='uq_form_participations_form_user')
    )
    with op.batch_alter_table('form_participations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_participations_user_id'), ['user_id'], unique=False)


def downgrade():
    op.drop_table('form_participations')
    op.drop_table('form_answers')
    op.drop_table('form_responses')
    op.drop_table('form_options')
    op.drop_table('form_questions')
    op.drop_table('forms')
