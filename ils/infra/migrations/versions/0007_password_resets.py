"""One-time codes for a forgotten password, mailed to the registered address (Kitsuki: パスワードを忘れた時).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ils.infra.schema

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('password_resets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', ils.infra.schema.Instant(), nullable=False),
    sa.Column('expires_at', ils.infra.schema.Instant(), nullable=False),
    sa.Column('used_at', ils.infra.schema.Instant(), nullable=True),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_password_resets_patron_id_patrons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_resets'))
    )
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_resets_patron_id_used_at'), ['patron_id', 'used_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_resets_patron_id_used_at'))
    op.drop_table('password_resets')
