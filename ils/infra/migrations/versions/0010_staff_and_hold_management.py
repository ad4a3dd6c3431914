"""Staff accounts with roles, and the columns of staff hold management (issue 15).

`staff`: the accounts that --staff names, each with a role (counter, supervisor,
systems). `holds.suspended_until` (予約の一時停止: the day a suspended hold resumes by
itself; NULL while suspended means until resumed) and `holds.not_needed_after` (有効期限:
a hold still waiting after this day lapses in the night). The status check of `holds`
gains `suspended`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ils.infra.schema

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_BEFORE = ('waiting', 'series_waiting', 'allocated', 'in_transit', 'ready', 'fulfilled', 'cancelled', 'expired')


def _status_check(statuses) -> str:
    return "status IN ({})".format(", ".join(f"'{s}'" for s in statuses))


def upgrade() -> None:
    op.create_table('staff',
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', ils.infra.schema.Instant(), nullable=False),
    sa.Column('disabled_at', ils.infra.schema.Instant(), nullable=True),
    sa.CheckConstraint("role IN ('counter', 'supervisor', 'systems')", name=op.f('ck_staff_role')),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_staff'))
    )
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspended_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('not_needed_after', sa.Date(), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_holds_status'), type_='check')
        batch_op.create_check_constraint('status', _status_check(ils.infra.schema.HOLD_STATUSES))


def downgrade() -> None:
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_holds_status'), type_='check')
        batch_op.create_check_constraint('status', _status_check(_BEFORE))
        batch_op.drop_column('not_needed_after')
        batch_op.drop_column('suspended_until')
    op.drop_table('staff')
