"""Mail: what became of each notice, a richer outbox (raw message, key, unconfirmed state), newsletter subscriptions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('newsletter_subscriptions',
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('ndc_class', sa.String(length=1), nullable=False),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_newsletter_subscriptions_patron_id_patrons')),
    sa.PrimaryKeyConstraint('patron_id', 'ndc_class', name=op.f('pk_newsletter_subscriptions'))
    )
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default=sa.text("'notice'"), nullable=False))
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('raw', sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_mail_outbox_dedupe_key'), ['dedupe_key'])
        batch_op.drop_constraint(batch_op.f('ck_mail_outbox_state'), type_='check')
        batch_op.create_check_constraint(
            'state', "state IN ('queued', 'sending', 'sent', 'failed', 'unconfirmed')"
        )

    with op.batch_alter_table('notice_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_notice_events_delivery_patron_id'), ['delivery', 'patron_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notice_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_events_delivery_patron_id'))
        batch_op.drop_column('delivery')

    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_mail_outbox_state'), type_='check')
        batch_op.create_check_constraint('state', "state IN ('queued', 'sending', 'sent', 'failed')")
        batch_op.drop_constraint(batch_op.f('uq_mail_outbox_dedupe_key'), type_='unique')
        batch_op.drop_column('raw')
        batch_op.drop_column('dedupe_key')
        batch_op.drop_column('kind')

    op.drop_table('newsletter_subscriptions')
