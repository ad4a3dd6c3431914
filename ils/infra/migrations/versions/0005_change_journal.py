"""The change journal (what the back office changed that the ILS also holds) and the import's conflicts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

import ils.infra.schema

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('change_journal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', ils.infra.schema.Instant(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('record', sa.String(length=8), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('hold_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('ils_state', sa.String(length=12), server_default=sa.text("'pending'"), nullable=False),
    sa.Column('ils_state_at', ils.infra.schema.Instant(), nullable=True),
    sa.CheckConstraint("record IN ('patron', 'loan', 'hold')", name=op.f('ck_change_journal_record')),
    sa.CheckConstraint("ils_state IN ('pending', 'applied', 'overridden')", name=op.f('ck_change_journal_ils_state')),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_change_journal_patron_id_patrons')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_change_journal_loan_id_loans')),
    sa.ForeignKeyConstraint(['hold_id'], ['holds.id'], name=op.f('fk_change_journal_hold_id_holds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_journal'))
    )
    with op.batch_alter_table('change_journal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_journal_patron_id_field'), ['patron_id', 'field'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_journal_loan_id_field'), ['loan_id', 'field'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_journal_ils_state_id'), ['ils_state', 'id'], unique=False)

    op.create_table('sync_conflicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', ils.infra.schema.Instant(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('record', sa.String(length=8), nullable=False),
    sa.Column('record_key', sa.String(length=64), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('ils_value', sa.Text(), nullable=True),
    sa.Column('back_office_value', sa.Text(), nullable=True),
    sa.Column('ils_changed_at', ils.infra.schema.Instant(), nullable=True),
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('winner', sa.String(length=12), nullable=False),
    sa.CheckConstraint("winner IN ('ils', 'back_office')", name=op.f('ck_sync_conflicts_winner')),
    sa.ForeignKeyConstraint(['change_id'], ['change_journal.id'], name=op.f('fk_sync_conflicts_change_id_change_journal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_conflicts'))
    )


def downgrade() -> None:
    op.drop_table('sync_conflicts')
    with op.batch_alter_table('change_journal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_journal_ils_state_id'))
        batch_op.drop_index(batch_op.f('ix_change_journal_loan_id_field'))
        batch_op.drop_index(batch_op.f('ix_change_journal_patron_id_field'))
    op.drop_table('change_journal')
