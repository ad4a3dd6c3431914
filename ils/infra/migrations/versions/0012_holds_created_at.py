"""The holds asked for since a day began, by an index: the summary's accepted count no longer reads every hold.

The night's summary (夜間処理の結果) counted the holds asked for since midnight by reading the
whole holds table, every closed hold of the library's history included, so its cost grew
with every night the library had run. (created_at, channel, pickup_branch_id) answers it from
the index alone, over the day's holds. No status change touches the index; a new hold's entry
goes at its end, as it is created now.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holds_created_at_channel_pickup_branch_id'),
                              ['created_at', 'channel', 'pickup_branch_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_holds_created_at_channel_pickup_branch_id'))
