"""Initial schema: branches and calendars, catalogue, patrons, loans, holds, pending requests, mail, runs, audit.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import ils.infra.schema

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('batch_lock',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('owner', sa.String(length=128), nullable=False),
    sa.Column('acquired_at', ils.infra.schema.Instant(), nullable=False),
    sa.Column('heartbeat_at', ils.infra.schema.Instant(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_batch_lock'))
    )
    op.create_table('batch_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('as_of', ils.infra.schema.Instant(), nullable=False),
    sa.Column('started_at', ils.infra.schema.Instant(), nullable=False),
    sa.Column('finished_at', ils.infra.schema.Instant(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('dry_run', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('only_step', sa.String(length=32), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('running', 'succeeded', 'failed', 'interrupted')", name=op.f('ck_batch_runs_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batch_runs'))
    )
    op.create_table('branches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('pickup_allowed', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('closed_weekdays', sa.String(length=32), nullable=True),
    sa.Column('national_holidays', sa.String(length=8), nullable=True),
    sa.Column('closed_weekday_on_holiday', sa.String(length=16), nullable=True),
    sa.Column('year_end_closure', sa.String(length=16), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('sort_order', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint("kind IN ('library', 'room', 'station')", name=op.f('ck_branches_kind')),
    sa.ForeignKeyConstraint(['parent_id'], ['branches.id'], name=op.f('fk_branches_parent_id_branches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_branches')),
    sa.UniqueConstraint('code', name=op.f('uq_branches_code'))
    )
    op.create_table('import_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', ils.infra.schema.Instant(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('encoding', sa.String(length=16), nullable=True),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('rows_written', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('problems', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('imported', 'refused')", name=op.f('ck_import_runs_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs'))
    )
    op.create_table('pending_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=True),
    sa.Column('card_number', sa.Text(), nullable=True),
    sa.Column('received_at', sa.Text(), nullable=True),
    sa.Column('channel', sa.Text(), nullable=True),
    sa.Column('target', sa.Text(), nullable=True),
    sa.Column('pickup_branch', sa.Text(), nullable=True),
    sa.Column('contact_method', sa.Text(), nullable=True),
    sa.Column('series_group', sa.Text(), nullable=True),
    sa.Column('series_position', sa.Text(), nullable=True),
    sa.Column('receipt_mail', sa.Text(), nullable=True),
    sa.Column('client_ref', sa.Text(), nullable=True),
    sa.Column('entered_at', ils.infra.schema.Instant(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('state', sa.String(length=12), server_default=sa.text("'pending'"), nullable=False),
    sa.Column('reason', sa.String(length=48), nullable=True),
    sa.Column('processed_at', ils.infra.schema.Instant(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('hold_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'accepted', 'rejected', 'applied')", name=op.f('ck_pending_requests_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_requests'))
    )
    with op.batch_alter_table('pending_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_requests_state_id'), ['state', 'id'], unique=False)

    op.create_table('staff_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', ils.infra.schema.Instant(), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=True),
    sa.Column('target', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_audit'))
    )
    op.create_table('system_settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_system_settings'))
    )
    op.create_table('titles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bib_id', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('author', sa.String(length=300), nullable=True),
    sa.Column('publisher', sa.String(length=200), nullable=True),
    sa.Column('material_type', sa.String(length=24), nullable=False),
    sa.Column('category', sa.String(length=24), server_default=sa.text("'normal'"), nullable=False),
    sa.Column('ndc', sa.String(length=16), nullable=True),
    sa.Column('series_id', sa.String(length=32), nullable=True),
    sa.Column('volume', sa.Integer(), nullable=True),
    sa.Column('volume_label', sa.String(length=32), nullable=True),
    sa.Column('catalogued_on', sa.Date(), nullable=True),
    sa.CheckConstraint("category IN ('normal', 'reference_only', 'contest', 'current_issue')", name=op.f('ck_titles_category')),
    sa.CheckConstraint("material_type IN ('book', 'picture_book', 'picture_book_large', 'kamishibai', 'kamishibai_large', 'comic', 'magazine', 'av')", name=op.f('ck_titles_material_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_titles')),
    sa.UniqueConstraint('bib_id', name=op.f('uq_titles_bib_id'))
    )
    with op.batch_alter_table('titles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_titles_series_id_volume'), ['series_id', 'volume'], unique=False)

    op.create_table('batch_steps',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('started_at', ils.infra.schema.Instant(), nullable=False),
    sa.Column('finished_at', ils.infra.schema.Instant(), nullable=True),
    sa.Column('counts', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['batch_runs.id'], name=op.f('fk_batch_steps_run_id_batch_runs')),
    sa.PrimaryKeyConstraint('run_id', 'step', name=op.f('pk_batch_steps'))
    )
    op.create_table('branch_days',
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_branch_days_branch_id_branches')),
    sa.PrimaryKeyConstraint('branch_id', 'day', name=op.f('pk_branch_days'))
    )
    op.create_table('copies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('barcode', sa.String(length=32), nullable=False),
    sa.Column('title_id', sa.Integer(), nullable=False),
    sa.Column('owning_branch_id', sa.Integer(), nullable=False),
    sa.Column('location_branch_id', sa.Integer(), nullable=False),
    sa.Column('shelf_mark', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=16), server_default=sa.text("'on_shelf'"), nullable=False),
    sa.CheckConstraint("state IN ('on_shelf', 'on_loan', 'in_transit', 'on_hold_shelf', 'missing', 'long_overdue', 'withdrawn')", name=op.f('ck_copies_state')),
    sa.ForeignKeyConstraint(['location_branch_id'], ['branches.id'], name=op.f('fk_copies_location_branch_id_branches')),
    sa.ForeignKeyConstraint(['owning_branch_id'], ['branches.id'], name=op.f('fk_copies_owning_branch_id_branches')),
    sa.ForeignKeyConstraint(['title_id'], ['titles.id'], name=op.f('fk_copies_title_id_titles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_copies')),
    sa.UniqueConstraint('barcode', name=op.f('uq_copies_barcode'))
    )
    with op.batch_alter_table('copies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_copies_title_id_state'), ['title_id', 'state'], unique=False)

    op.create_table('patrons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_number', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_kana', sa.String(length=100), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('contact_method', sa.String(length=8), server_default=sa.text("'none'"), nullable=False),
    sa.Column('home_branch_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), server_default=sa.text("'active'"), nullable=False),
    sa.Column('web_registered', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('language', sa.String(length=8), server_default=sa.text("'ja'"), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=True),
    sa.Column('password_state', sa.String(length=12), server_default=sa.text("'none'"), nullable=False),
    sa.Column('password_changed_at', ils.infra.schema.Instant(), nullable=True),
    sa.Column('failed_logins', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('locked_until', ils.infra.schema.Instant(), nullable=True),
    sa.Column('registered_on', sa.Date(), nullable=True),
    sa.CheckConstraint("contact_method IN ('email', 'phone', 'none')", name=op.f('ck_patrons_contact_method')),
    sa.CheckConstraint("password_state IN ('none', 'temporary', 'real')", name=op.f('ck_patrons_password_state')),
    sa.CheckConstraint("status IN ('active', 'suspended', 'expired')", name=op.f('ck_patrons_status')),
    sa.ForeignKeyConstraint(['home_branch_id'], ['branches.id'], name=op.f('fk_patrons_home_branch_id_branches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrons')),
    sa.UniqueConstraint('card_number', name=op.f('uq_patrons_card_number'))
    )
    op.create_table('routes',
    sa.Column('from_branch_id', sa.Integer(), nullable=False),
    sa.Column('to_branch_id', sa.Integer(), nullable=False),
    sa.Column('cost', sa.Integer(), nullable=False),
    sa.CheckConstraint('cost >= 0', name=op.f('ck_routes_cost')),
    sa.ForeignKeyConstraint(['from_branch_id'], ['branches.id'], name=op.f('fk_routes_from_branch_id_branches')),
    sa.ForeignKeyConstraint(['to_branch_id'], ['branches.id'], name=op.f('fk_routes_to_branch_id_branches')),
    sa.PrimaryKeyConstraint('from_branch_id', 'to_branch_id', name=op.f('pk_routes'))
    )
    op.create_table('holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('title_id', sa.Integer(), nullable=False),
    sa.Column('pickup_branch_id', sa.Integer(), nullable=False),
    sa.Column('contact_method', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('queued_at', ils.infra.schema.Instant(), nullable=False),
    sa.Column('queue_day', sa.Date(), nullable=False),
    sa.Column('queue_class', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('series_group', sa.String(length=64), nullable=True),
    sa.Column('series_position', sa.Integer(), nullable=True),
    sa.Column('copy_id', sa.Integer(), nullable=True),
    sa.Column('allocated_at', ils.infra.schema.Instant(), nullable=True),
    sa.Column('ready_on', sa.Date(), nullable=True),
    sa.Column('notified_on', sa.Date(), nullable=True),
    sa.Column('pickup_deadline', sa.Date(), nullable=True),
    sa.Column('closed_at', ils.infra.schema.Instant(), nullable=True),
    sa.Column('close_reason', sa.String(length=32), nullable=True),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('placed_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', ils.infra.schema.Instant(), nullable=False),
    sa.CheckConstraint("channel IN ('web', 'mobile', 'opac', 'paper', 'counter')", name=op.f('ck_holds_channel')),
    sa.CheckConstraint("contact_method IN ('email', 'phone', 'none')", name=op.f('ck_holds_contact_method')),
    sa.CheckConstraint("status IN ('waiting', 'series_waiting', 'allocated', 'in_transit', 'ready', 'fulfilled', 'cancelled', 'expired')", name=op.f('ck_holds_status')),
    sa.ForeignKeyConstraint(['copy_id'], ['copies.id'], name=op.f('fk_holds_copy_id_copies')),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_holds_patron_id_patrons')),
    sa.ForeignKeyConstraint(['pickup_branch_id'], ['branches.id'], name=op.f('fk_holds_pickup_branch_id_branches')),
    sa.ForeignKeyConstraint(['request_id'], ['pending_requests.id'], name=op.f('fk_holds_request_id_pending_requests')),
    sa.ForeignKeyConstraint(['title_id'], ['titles.id'], name=op.f('fk_holds_title_id_titles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holds')),
    sa.UniqueConstraint('request_id', name=op.f('uq_holds_request_id'))
    )
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holds_patron_id_status'), ['patron_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_holds_pickup_branch_id_status'), ['pickup_branch_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_holds_title_id_status_queue_day_queue_class_queued_at'), ['title_id', 'status', 'queue_day', 'queue_class', 'queued_at'], unique=False)
        batch_op.create_index('uq_holds_active_copy', ['copy_id'], unique=True, sqlite_where=sa.text("status IN ('allocated', 'in_transit', 'ready')"), postgresql_where=sa.text("status IN ('allocated', 'in_transit', 'ready')"))

    op.create_table('loans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('copy_id', sa.Integer(), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=True),
    sa.Column('loaned_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('renewals', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('inter_library', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('returned_at', ils.infra.schema.Instant(), nullable=True),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_loans_branch_id_branches')),
    sa.ForeignKeyConstraint(['copy_id'], ['copies.id'], name=op.f('fk_loans_copy_id_copies')),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_loans_patron_id_patrons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loans'))
    )
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loans_patron_id_returned_at'), ['patron_id', 'returned_at'], unique=False)
        batch_op.create_index('uq_loans_open_copy', ['copy_id'], unique=True, sqlite_where=sa.text('returned_at IS NULL'), postgresql_where=sa.text('returned_at IS NULL'))

    op.create_table('mail_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=True),
    sa.Column('to_addr', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('created_at', ils.infra.schema.Instant(), nullable=False),
    sa.Column('not_before', ils.infra.schema.Instant(), nullable=False),
    sa.Column('state', sa.String(length=12), server_default=sa.text("'queued'"), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', ils.infra.schema.Instant(), nullable=True),
    sa.CheckConstraint("state IN ('queued', 'sending', 'sent', 'failed')", name=op.f('ck_mail_outbox_state')),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_mail_outbox_patron_id_patrons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox')),
    sa.UniqueConstraint('message_id', name=op.f('uq_mail_outbox_message_id'))
    )
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_outbox_state_not_before'), ['state', 'not_before'], unique=False)

    op.create_table('notice_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patron_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('dedupe_key', sa.String(length=128), nullable=False),
    sa.Column('hold_id', sa.Integer(), nullable=True),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('occurred_at', ils.infra.schema.Instant(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['patron_id'], ['patrons.id'], name=op.f('fk_notice_events_patron_id_patrons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_events')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notice_events_dedupe_key'))
    )
    with op.batch_alter_table('notice_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_events_outbox_id_patron_id'), ['outbox_id', 'patron_id'], unique=False)

    op.create_table('hold_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hold_id', sa.Integer(), nullable=False),
    sa.Column('at', ils.infra.schema.Instant(), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['hold_id'], ['holds.id'], name=op.f('fk_hold_history_hold_id_holds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hold_history'))
    )
    with op.batch_alter_table('hold_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hold_history_hold_id'), ['hold_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('hold_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hold_history_hold_id'))

    op.drop_table('hold_history')
    with op.batch_alter_table('notice_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_events_outbox_id_patron_id'))

    op.drop_table('notice_events')
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_outbox_state_not_before'))

    op.drop_table('mail_outbox')
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_index('uq_loans_open_copy', sqlite_where=sa.text('returned_at IS NULL'), postgresql_where=sa.text('returned_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_loans_patron_id_returned_at'))

    op.drop_table('loans')
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index('uq_holds_active_copy', sqlite_where=sa.text("status IN ('allocated', 'in_transit', 'ready')"), postgresql_where=sa.text("status IN ('allocated', 'in_transit', 'ready')"))
        batch_op.drop_index(batch_op.f('ix_holds_title_id_status_queue_day_queue_class_queued_at'))
        batch_op.drop_index(batch_op.f('ix_holds_pickup_branch_id_status'))
        batch_op.drop_index(batch_op.f('ix_holds_patron_id_status'))

    op.drop_table('holds')
    op.drop_table('routes')
    op.drop_table('patrons')
    with op.batch_alter_table('copies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_copies_title_id_state'))

    op.drop_table('copies')
    op.drop_table('branch_days')
    op.drop_table('batch_steps')
    with op.batch_alter_table('titles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_titles_series_id_volume'))

    op.drop_table('titles')
    op.drop_table('system_settings')
    op.drop_table('staff_audit')
    with op.batch_alter_table('pending_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_requests_state_id'))

    op.drop_table('pending_requests')
    op.drop_table('import_runs')
    op.drop_table('branches')
    op.drop_table('batch_runs')
    op.drop_table('batch_lock')
