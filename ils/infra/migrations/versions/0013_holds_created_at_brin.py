"""PostgreSQL: the holds' (created_at, channel, pickup_branch_id) index becomes a BRIN; SQLite keeps its B-tree.

On PostgreSQL a hold's status change is never a HOT update (`status` is indexed), so it writes
a new entry into every index of `holds`, the columns it did not change included: the B-tree of
migration 0012 cost the prefecture's allocation about 8% (2.0-3.2 s in 3 pairs), to spare the
reports' process a tenth of a second. A BRIN keeps a few bytes per range of table pages, and
an entry written costs a look at its range's summary. The summary's accepted count then reads
the pages whose range took a hold today (docs/holds.md). On SQLite an UPDATE touches only the
indexes of the columns it changes, so the B-tree costs a status change nothing and stays.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

NAME = 'ix_holds_created_at_channel_pickup_branch_id'
COLUMNS = ['created_at', 'channel', 'pickup_branch_id']


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index(NAME, table_name='holds')
        op.create_index(NAME, 'holds', COLUMNS, postgresql_using='brin')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index(NAME, table_name='holds')
        op.create_index(NAME, 'holds', COLUMNS)
