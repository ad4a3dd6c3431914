"""Newsletter events: the library's events (行事) and the patrons who asked for their announcements (行事案内).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ils.infra.schema

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('library_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('place', sa.String(length=100), nullable=True),
    sa.Column('recorded_at', ils.infra.schema.Instant(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_events'))
    )
    with op.batch_alter_table('library_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_library_events_recorded_at'), ['recorded_at'], unique=False)

    op.create_table('event_subscriptions',
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_event_subscriptions_patron_id_patrons')),
    sa.PrimaryKeyConstraint('patron_id', name=op.f('pk_event_subscriptions'))
    )


def downgrade() -> None:
    op.drop_table('event_subscriptions')
    with op.batch_alter_table('library_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_library_events_recorded_at'))
    op.drop_table('library_events')
