"""Mail bounces: delivery-status notifications read back from the relay (ils mail bounces).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ils.infra.schema

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mail_bounces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=128), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('patron_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('diagnostic', sa.Text(), nullable=True),
    sa.Column('reported_at', ils.infra.schema.Instant(), nullable=False),
    sa.Column('cleared_at', ils.infra.schema.Instant(), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['mail_outbox.id'], name=op.f('fk_mail_bounces_outbox_id_mail_outbox')),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_mail_bounces_patron_id_patrons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_bounces')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_mail_bounces_dedupe_key'))
    )
    with op.batch_alter_table('mail_bounces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_bounces_address_cleared_at'), ['address', 'cleared_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mail_bounces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_bounces_address_cleared_at'))
    op.drop_table('mail_bounces')
