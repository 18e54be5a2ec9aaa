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


ALL_SCOPES = "members:read members:write checkin polls events"


def upgrade():
    # --- H1: server-side sign-in sessions, TOTP, recovery codes, API token scopes -------------
    op.create_table('sign_in_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('remember_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('verified_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.Column('browser', sa.String(length=120), nullable=True),
    sa.Column('second_factor', sa.Boolean(), nullable=False),
    sa.Column('remember', sa.Boolean(), nullable=False),
    sa.Column('method', sa.String(length=40), nullable=False),
    sa.CheckConstraint("kind IN ('session', 'remember')", name=op.f('ck_sign_in_sessions_known_kind')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sign_in_sessions_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['remember_id'], ['sign_in_sessions.id'], name=op.f('fk_sign_in_sessions_remember_id_sign_in_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_sessions')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_sign_in_sessions_key_hash'))
    )
    with op.batch_alter_table('sign_in_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_sessions_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_sessions_remember_id'), ['remember_id'], unique=False)

    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    sa.UniqueConstraint('user_id', 'code_hash', name='uq_recovery_codes_user_code')
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('totp_confirmed_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))

    # Tokens made before scopes existed keep doing what they did: every scope.
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.String(length=200), server_default=ALL_SCOPES, nullable=False))
        batch_op.add_column(sa.Column('expires_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scopes')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_confirmed_at')
        batch_op.drop_column('totp_secret')
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))
    op.drop_table('recovery_codes')
    with op.batch_alter_table('sign_in_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_sessions_remember_id'))
        batch_op.drop_index(batch_op.f('ix_sign_in_sessions_user_id'))
    op.drop_table('sign_in_sessions')
