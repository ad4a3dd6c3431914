"""Notice indexes each query needs, each holding only the rows its query wants.

`notice_events` grows by every notice of every night and is never pruned; its indexes held
every row. Every notice recorded entered two of them, and every notice marked moved in both
(on PostgreSQL a mark is never a HOT update, `delivery` being indexed, so it wrote every
index again). Now:

- (outbox_id, patron_id) goes: no query reads a notice by its message.
- (delivery, patron_id) becomes (patron_id) where delivery IS NULL, the notices render has
  still to look at: a notice leaves it when it is marked, so it stays the size of one night.
- (occurred_at) where delivery = 'problem': the contact-problem list's notices, by day.
- (hold_id) where kind = 'hold_ready': the counter's check before lending a ready copy where
  the profile lends only after the ready mail (seed 003) read the notices backwards until the
  hold's ready notice, days of a library's notices for each such loan.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_PARTIAL = (
    ('ix_notice_events_undelivered', 'patron_id', "delivery IS NULL"),
    ('ix_notice_events_problem', 'occurred_at', "delivery = 'problem'"),
    ('ix_notice_events_hold_ready', 'hold_id', "kind = 'hold_ready'"),
)


def upgrade() -> None:
    with op.batch_alter_table('notice_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_events_outbox_id_patron_id'))
        batch_op.drop_index(batch_op.f('ix_notice_events_delivery_patron_id'))
        for name, column, where in _PARTIAL:
            batch_op.create_index(name, [column], unique=False,
                                  sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade() -> None:
    with op.batch_alter_table('notice_events', schema=None) as batch_op:
        for name, _column, _where in _PARTIAL:
            batch_op.drop_index(name)
        batch_op.create_index(batch_op.f('ix_notice_events_delivery_patron_id'), ['delivery', 'patron_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_notice_events_outbox_id_patron_id'), ['outbox_id', 'patron_id'],
                              unique=False)
