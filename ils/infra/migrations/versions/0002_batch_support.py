"""Batch support: the allocation to-do list, and indexes for duplicate checks, series gates and expiry.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('allocation_todo',
    sa.Column('title_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['title_id'], ['titles.id'], name=op.f('fk_allocation_todo_title_id_titles')),
    sa.PrimaryKeyConstraint('title_id', name=op.f('pk_allocation_todo'))
    )
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holds_patron_id_series_group_series_position'), ['patron_id', 'series_group', 'series_position'], unique=False)
        batch_op.create_index(batch_op.f('ix_holds_status_pickup_deadline'), ['status', 'pickup_deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_holds_copy_id'), ['copy_id'], unique=False)

    with op.batch_alter_table('pending_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_requests_client_ref'), ['client_ref'], unique=False)

def downgrade() -> None:
    with op.batch_alter_table('pending_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_requests_client_ref'))

    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_holds_copy_id'))
        batch_op.drop_index(batch_op.f('ix_holds_status_pickup_deadline'))
        batch_op.drop_index(batch_op.f('ix_holds_patron_id_series_group_series_position'))

    op.drop_table('allocation_todo')
