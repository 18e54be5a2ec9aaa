"""passkeys (WebAuthn credentials) and OAuth/OIDC sign-in identities (issue 10)

Revision ID: b1a0c0de0009
Revises: b1a0c0de0008
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.core.timeutil

# revision identifiers, used by Alembic.
revision = 'b1a0c0de0009'
down_revision = 'b1a0c0de0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('passkeys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('credential_id', sa.String(length=1400), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('sign_count', sa.BigInteger(), nullable=False),
    sa.Column('user_handle', sa.LargeBinary(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('aaguid', sa.String(length=36), nullable=True),
    sa.Column('transports', sa.JSON(), nullable=True),
    sa.Column('backed_up', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_passkeys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passkeys')),
    sa.UniqueConstraint('credential_id', name=op.f('uq_passkeys_credential_id'))
    )
    with op.batch_alter_table('passkeys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passkeys_user_id'), ['user_id'], unique=False)

    op.create_table('passkey_challenges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('challenge_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("purpose IN ('register', 'second_factor', 'sign_in')", name=op.f('ck_passkey_challenges_known_purpose')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passkey_challenges')),
    sa.UniqueConstraint('challenge_hash', name=op.f('uq_passkey_challenges_challenge_hash'))
    )
    with op.batch_alter_table('passkey_challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passkey_challenges_expires_at'), ['expires_at'], unique=False)

    op.create_table('sign_in_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('created_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', app.core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("provider IN ('github', 'google', 'discord', 'oidc')", name=op.f('ck_sign_in_identities_known_provider')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sign_in_identities_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_identities')),
    sa.UniqueConstraint('provider', 'subject', name='uq_sign_in_identities_provider_subject')
    )
    with op.batch_alter_table('sign_in_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_identities_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sign_in_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_identities_user_id'))
    op.drop_table('sign_in_identities')
    with op.batch_alter_table('passkey_challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passkey_challenges_expires_at'))
    op.drop_table('passkey_challenges')
    with op.batch_alter_table('passkeys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passkeys_user_id'))
    op.drop_table('passkeys')
