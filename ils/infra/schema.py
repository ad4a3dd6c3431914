"""The tables of the back office, as SQLAlchemy Core metadata (the migrations create them; code queries them)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    exists,
    false,
    text,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import TypeDecorator

from ils.holds import lifecycle

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


# The last instant Instant bound (value, dialect, as bound): replaced whole, so threads never see half of it.
_last_bound: tuple = (None, None, None)


class Instant(TypeDecorator):
    """A point in time, stored as UTC; the domain only ever hands it aware datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        global _last_bound
        if value is None:
            return None
        # A batch step binds the run's one `now` into thousands of rows: convert it once.
        last = _last_bound
        if last[0] is value and last[1] == dialect.name:
            return last[2]
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the domain must pass aware instants")
        bound = value.astimezone(dt.timezone.utc)
        if dialect.name == "sqlite":
            bound = bound.replace(tzinfo=None)
        _last_bound = (value, dialect.name, bound)
        return bound

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL paths on SQLite
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


class _RawBytes(GenericFunction):
    """A column read as its stored bytes where the engine may hold invalid text (SQLite)."""

    name = "ils_raw_bytes"
    inherit_cache = True


@compiles(_RawBytes)
def _raw_bytes_default(element, compiler, **kw):
    return compiler.process(list(element.clauses)[0], **kw)


@compiles(_RawBytes, "sqlite")
def _raw_bytes_sqlite(element, compiler, **kw):
    return f"CAST({compiler.process(list(element.clauses)[0], **kw)} AS BLOB)"


class ForeignText(TypeDecorator):
    """TEXT written by another program (the front end): bytes that are not UTF-8 are read
    with U+FFFD in their place instead of failing the read, so the batch can reject the
    row with a reason. PostgreSQL refuses invalid text at insert; SQLite stores anything."""

    impl = Text
    cache_ok = True

    def column_expression(self, column):
        return _RawBytes(column, type_=self)

    def process_result_value(self, value, dialect):
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value).decode("utf-8", "replace")
        return value

    def result_processor(self, dialect, coltype):
        # The same as process_result_value, without TypeDecorator's wrapping: a night reads
        # every field of tens of thousands of pending rows through it.
        def process(value):
            if value.__class__ is bytes:
                return value.decode("utf-8", "replace")
            if value is None:  # most optional fields of most rows
                return None
            return self.process_result_value(value, dialect)

        return process


def one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=column)


BRANCH_KINDS = ("library", "room", "station")

MATERIAL_TYPES = (
    "book",
    "picture_book",
    "picture_book_large",
    "kamishibai",
    "kamishibai_large",
    "comic",
    "magazine",
    "av",
)
# 禁帯 / 課題 / 期禁 (seed 002) and the ordinary case.
HANDLING_CATEGORIES = ("normal", "reference_only", "contest", "current_issue")
COPY_STATES = (
    "on_shelf",
    "on_loan",
    "in_transit",
    "on_hold_shelf",
    "missing",
    "long_overdue",
    "withdrawn",
)
CONTACT_METHODS = ("email", "phone", "none")
PATRON_STATUSES = ("active", "suspended", "expired")
PASSWORD_STATES = ("none", "temporary", "real")
CHANNELS = ("web", "mobile", "opac", "paper", "counter")
# A hold's statuses and their groups are owned by its lifecycle (docs/holds.md).
HOLD_STATUSES = lifecycle.HOLD_STATUSES
ACTIVE_HOLD_STATUSES = lifecycle.ACTIVE
HOLDS_WITH_COPY = lifecycle.WITH_COPY
_WITH_COPY_SQL = ", ".join(f"'{s}'" for s in HOLDS_WITH_COPY)  # 'allocated', 'in_transit', 'ready'
REQUEST_KINDS = ("hold", "cancel", "renew", "email_change", "pickup_change", "contact_change", "newsletter",
                 "suspend", "resume", "not_needed_after")
# sending: handed to the mail server; unconfirmed: the sender died before the server's
# answer was recorded (the message is not sent again; a person checks the server's log).
MAIL_STATES = ("queued", "sending", "sent", "failed", "unconfirmed")
REQUEST_STATES = ("pending", "accepted", "rejected", "applied")
RUN_STATUSES = ("running", "succeeded", "failed", "interrupted")


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index of the rows for which `where` holds. The migrations create it with its WHERE on
    both engines; here the WHERE is kept in `info`, because SQLAlchemy checks a
    `postgresql_where` by loading the whole PostgreSQL dialect, a twentieth of an intraday run
    on SQLite. tests/test_schema_version.py holds each database's index to it."""
    return Index(name, *columns, unique=unique, info={"where": where})


system_settings = Table(
    "system_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

branches = Table(
    "branches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("parent_id", Integer, ForeignKey("branches.id")),
    Column("pickup_allowed", Boolean, nullable=False, server_default=true()),
    # Calendar rules; NULL means "the library's default from the policy profile".
    Column("closed_weekdays", String(32)),
    Column("national_holidays", String(8)),
    Column("closed_weekday_on_holiday", String(16)),
    Column("year_end_closure", String(16)),
    Column("phone", String(32)),
    Column("sort_order", Integer, nullable=False, server_default=text("0")),
    one_of("kind", BRANCH_KINDS),
)

branch_days = Table(
    "branch_days",
    metadata,
    Column("branch_id", Integer, ForeignKey("branches.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("is_open", Boolean, nullable=False),
    Column("note", String(200)),
)

routes = Table(
    "routes",
    metadata,
    Column("from_branch_id", Integer, ForeignKey("branches.id"), primary_key=True),
    Column("to_branch_id", Integer, ForeignKey("branches.id"), primary_key=True),
    Column("cost", Integer, nullable=False),
    CheckConstraint("cost >= 0", name="cost"),
)

titles = Table(
    "titles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("bib_id", String(32), nullable=False, unique=True),
    Column("title", String(500), nullable=False),
    Column("author", String(300)),
    Column("publisher", String(200)),
    Column("material_type", String(24), nullable=False),
    Column("category", String(24), nullable=False, server_default=text("'normal'")),
    Column("ndc", String(16)),
    Column("series_id", String(32)),
    Column("volume", Integer),
    Column("volume_label", String(32)),
    Column("catalogued_on", Date),
    one_of("material_type", MATERIAL_TYPES),
    one_of("category", HANDLING_CATEGORIES),
    Index(None, "series_id", "volume"),
)

copies = Table(
    "copies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("barcode", String(32), nullable=False, unique=True),
    Column("title_id", Integer, ForeignKey("titles.id"), nullable=False),
    Column("owning_branch_id", Integer, ForeignKey("branches.id"), nullable=False),
    Column("location_branch_id", Integer, ForeignKey("branches.id"), nullable=False),
    Column("shelf_mark", String(64)),
    Column("state", String(16), nullable=False, server_default=text("'on_shelf'")),
    one_of("state", COPY_STATES),
    Index(None, "title_id", "state"),
    Index(None, "state", "location_branch_id"),
)

patrons = Table(
    "patrons",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("card_number", String(32), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("name_kana", String(100)),
    Column("birth_date", Date),
    Column("phone", String(32)),
    Column("email", String(254)),
    Column("contact_method", String(8), nullable=False, server_default=text("'none'")),
    Column("home_branch_id", Integer, ForeignKey("branches.id")),
    Column("status", String(12), nullable=False, server_default=text("'active'")),
    Column("web_registered", Boolean, nullable=False, server_default=false()),
    Column("language", String(8), nullable=False, server_default=text("'ja'")),
    Column("password_hash", Text),
    Column("password_state", String(12), nullable=False, server_default=text("'none'")),
    Column("password_changed_at", Instant),
    Column("failed_logins", Integer, nullable=False, server_default=text("0")),
    Column("locked_until", Instant),
    Column("registered_on", Date),
    one_of("contact_method", CONTACT_METHODS),
    one_of("status", PATRON_STATUSES),
    one_of("password_state", PASSWORD_STATES),
)

loans = Table(
    "loans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("copy_id", Integer, ForeignKey("copies.id"), nullable=False),
    Column("patron_id", Integer, ForeignKey("patrons.id"), nullable=False),
    Column("branch_id", Integer, ForeignKey("branches.id")),
    Column("loaned_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("renewals", Integer, nullable=False, server_default=text("0")),
    Column("inter_library", Boolean, nullable=False, server_default=false()),
    Column("returned_at", Instant),
    # One open loan per copy, enforced by the database.
    partial_index("uq_loans_open_copy", "copy_id", unique=True, where="returned_at IS NULL"),
    Index(None, "patron_id", "returned_at"),
)

pending_requests = Table(
    "pending_requests",
    metadata,
    # The contract with the web/OPAC front end (docs/integration.md). Every field the
    # front end writes is TEXT on purpose: the batch validates it and rejects a bad row
    # with a reason, instead of the database or the driver failing on it.
    Column("id", Integer, primary_key=True),
    Column("kind", ForeignText),
    Column("card_number", ForeignText),
    Column("received_at", ForeignText),
    Column("channel", ForeignText),
    Column("target", ForeignText),
    Column("pickup_branch", ForeignText),
    Column("contact_method", ForeignText),
    Column("series_group", ForeignText),
    Column("series_position", ForeignText),
    Column("receipt_mail", ForeignText),
    Column("client_ref", ForeignText),
    Column("entered_at", Instant, nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    # Written by the batch.
    Column("state", String(12), nullable=False, server_default=text("'pending'")),
    Column("reason", String(48)),
    Column("processed_at", Instant),
    Column("run_id", Integer),
    Column("hold_id", Integer),
    one_of("state", REQUEST_STATES),
    Index(None, "state", "id"),
    Index(None, "client_ref"),
)

holds = Table(
    "holds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patron_id", Integer, ForeignKey("patrons.id"), nullable=False),
    Column("title_id", Integer, ForeignKey("titles.id"), nullable=False),
    Column("pickup_branch_id", Integer, ForeignKey("branches.id"), nullable=False),
    Column("contact_method", String(8), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    # Queue order: ils.holds.lifecycle.QUEUE_COLUMNS.
    Column("queued_at", Instant, nullable=False),
    Column("queue_day", Date, nullable=False),
    Column("queue_class", Integer, nullable=False, server_default=text("0")),
    Column("series_group", String(64)),
    Column("series_position", Integer),
    Column("copy_id", Integer, ForeignKey("copies.id")),
    Column("allocated_at", Instant),
    Column("ready_on", Date),
    Column("notified_on", Date),
    Column("pickup_deadline", Date),
    Column("closed_at", Instant),
    Column("close_reason", String(32)),
    Column("request_id", Integer, ForeignKey("pending_requests.id"), unique=True),
    Column("placed_by", String(64)),
    Column("created_at", Instant, nullable=False),
    # 予約の一時停止: a suspended hold resumes by itself on this day (NULL: until resumed).
    Column("suspended_until", Date),
    # 有効期限: a hold still waiting after this day lapses in the night.
    Column("not_needed_after", Date),
    one_of("status", HOLD_STATUSES),
    one_of("channel", CHANNELS),
    one_of("contact_method", CONTACT_METHODS),
    # Each index and the queries it serves: docs/holds.md ("Indexes"). A new hold or a status
    # change pays for every index holding a changed column, so none is kept that no query needs.
    # SQLite uses a partial index only where the query repeats its WHERE term (or, for
    # `IS NOT NULL`, compares the column), never for part of an IN list: so no partial index
    # on the active statuses, whose queries say `status IN (...)`.
    Index(None, "title_id", "status", "queue_day", "queue_class", "queued_at"),
    Index(None, "pickup_branch_id", "status"),
    # A patron's holds, by status, and the earlier volumes of a series (the gate).
    Index(None, "patron_id", "status", "series_group", "series_position"),
    # Most holds (waiting) have no copy: they are left out.
    partial_index("ix_holds_copy_id", "copy_id", where="copy_id IS NOT NULL"),
    # Holds by status; closed ones by closing time. (Expiry reads the ready holds through it.)
    Index(None, "status", "closed_at"),
    # A copy serves at most one active hold, enforced by the database.
    partial_index("uq_holds_active_copy", "copy_id", unique=True, where=f"status IN ({_WITH_COPY_SQL})"),
    # The holds asked for since a day began (the summary's accepted count). SQLite: a B-tree read
    # alone, which no status change touches. PostgreSQL: a BRIN (migration 0013), because there a
    # status change writes a new entry into every index of the table, this one's included.
    Index(None, "created_at", "channel", "pickup_branch_id", info={"postgresql_using": "brin"}),
)

allocation_todo = Table(
    "allocation_todo",
    metadata,
    # Titles whose queue may have work: a new hold, a freed copy, an opened series
    # gate. The allocate step serves these, so an intraday run costs what changed,
    # not what the database holds.
    Column("title_id", Integer, ForeignKey("titles.id"), primary_key=True),
)

hold_history = Table(
    "hold_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("hold_id", Integer, ForeignKey("holds.id"), nullable=False),
    Column("at", Instant, nullable=False),
    Column("from_status", String(16)),
    Column("to_status", String(16), nullable=False),
    Column("run_id", Integer),
    Column("actor", String(64)),
    Column("note", Text),
    Index(None, "hold_id"),
)

notice_events = Table(
    "notice_events",
    metadata,
    # What a patron must be told; the mail step renders these. dedupe_key makes
    # recording a notice idempotent across re-runs of a step.
    Column("id", Integer, primary_key=True),
    Column("patron_id", Integer, ForeignKey("patrons.id")),
    Column("kind", String(32), nullable=False),
    Column("dedupe_key", String(128), nullable=False, unique=True),
    Column("hold_id", Integer),
    Column("request_id", Integer),
    Column("loan_id", Integer),
    Column("occurred_at", Instant, nullable=False),
    Column("run_id", Integer),
    Column("payload", Text),
    Column("outbox_id", Integer),
    # What became of it: NULL until the mail step looks; then mailed, phone (the branch
    # phone list), none (the patron asked for no contact), problem (no usable address),
    # or not_mailed (the profile sends no mail for this kind).
    Column("delivery", String(16)),
    # Each index and the query it serves (docs/mail.md, "Notices: their indexes"): a notice
    # recorded or marked pays for every index holding a changed column, so none is kept that no
    # query reads, and each holds only the few rows its query wants, not the library's history.
    # The notices not yet looked at, by patron (render): a notice leaves it when it is marked.
    partial_index("ix_notice_events_undelivered", "patron_id", where="delivery IS NULL"),
    # The notices that could not be mailed, by day (problems.sql).
    partial_index("ix_notice_events_problem", "occurred_at", where="delivery = 'problem'"),
    # A ready hold's notice, read at the counter before lending (ils.circulation.copies).
    partial_index("ix_notice_events_hold_ready", "hold_id", where="kind = 'hold_ready'"),
)

mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patron_id", Integer, ForeignKey("patrons.id")),
    Column("kind", String(16), nullable=False, server_default=text("'notice'")),
    # one message per key: a re-run of the render step cannot queue a mail twice
    Column("dedupe_key", String(128), unique=True),
    Column("to_addr", String(254), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("raw", Text),  # the whole RFC 5322 message, exactly as it is sent
    Column("message_id", String(255), nullable=False, unique=True),
    Column("created_at", Instant, nullable=False),
    Column("not_before", Instant, nullable=False),
    Column("state", String(12), nullable=False, server_default=text("'queued'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("sent_at", Instant),
    one_of("state", MAIL_STATES),
    Index(None, "state", "not_before"),
)

mail_bounces = Table(
    "mail_bounces",
    metadata,
    # What the relay reported back about a message (RFC 3464 delivery-status notifications,
    # `ils mail bounces`): a `failed` report marks the message and its address until a later
    # delivery to the address clears it (cleared_at); the patron is on the contact-problem list.
    Column("id", Integer, primary_key=True),
    Column("dedupe_key", String(128), nullable=False, unique=True),  # one row per report and recipient
    Column("outbox_id", Integer, ForeignKey("mail_outbox.id")),
    Column("patron_id", Integer, ForeignKey("patrons.id")),
    Column("address", String(254), nullable=False),
    Column("action", String(12), nullable=False),
    Column("status", String(16)),
    Column("diagnostic", Text),
    Column("reported_at", Instant, nullable=False),
    Column("cleared_at", Instant),
    Index(None, "address", "cleared_at"),
)

password_resets = Table(
    "password_resets",
    metadata,
    # Kitsuki's 「パスワードを忘れた時」: a one-time code mailed to the registered address;
    # only its hash is kept, and it is good once, until expires_at.
    Column("id", Integer, primary_key=True),
    Column("patron_id", Integer, ForeignKey("patrons.id"), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("expires_at", Instant, nullable=False),
    Column("used_at", Instant),
    Index(None, "patron_id", "used_at"),
)

newsletter_subscriptions = Table(
    "newsletter_subscriptions",
    metadata,
    # Kitami's 新着図書案内: the NDC classes (0-9) a patron asked for.
    Column("patron_id", Integer, ForeignKey("patrons.id"), primary_key=True),
    Column("ndc_class", String(1), primary_key=True),
)

library_events = Table(
    "library_events",
    metadata,
    # Kitami's 行事案内: events staff record (`ils events add`), announced in the next newsletter.
    Column("id", Integer, primary_key=True),
    Column("held_on", Date, nullable=False),
    Column("title", String(200), nullable=False),
    Column("place", String(100)),
    Column("recorded_at", Instant, nullable=False),
    Index(None, "recorded_at"),
)

event_subscriptions = Table(
    "event_subscriptions",
    metadata,
    # The patrons who asked for the event announcements (行事案内) in their newsletter.
    Column("patron_id", Integer, ForeignKey("patrons.id"), primary_key=True),
)

batch_runs = Table(
    "batch_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("as_of", Instant, nullable=False),
    Column("started_at", Instant, nullable=False),
    Column("finished_at", Instant),
    Column("status", String(12), nullable=False),
    Column("dry_run", Boolean, nullable=False, server_default=false()),
    Column("only_step", String(32)),
    Column("message", Text),
    one_of("status", RUN_STATUSES),
)

batch_steps = Table(
    "batch_steps",
    metadata,
    Column("run_id", Integer, ForeignKey("batch_runs.id"), primary_key=True),
    Column("step", String(32), primary_key=True),
    Column("started_at", Instant, nullable=False),
    Column("finished_at", Instant),
    Column("counts", Text),
)

batch_lock = Table(
    "batch_lock",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("run_id", Integer),
    Column("owner", String(128), nullable=False),
    Column("acquired_at", Instant, nullable=False),
    Column("heartbeat_at", Instant, nullable=False),
)

STAFF_ROLES = ("counter", "supervisor", "systems")

staff = Table(
    "staff",
    metadata,
    # Staff accounts: the id staff type as --staff, and what their role lets them do
    # (ils.library.staff.PERMISSIONS). How they sign in to the terminal is the OS's business.
    Column("staff_id", String(64), primary_key=True),
    Column("name", Text),
    Column("role", String(16), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("disabled_at", Instant),
    one_of("role", STAFF_ROLES),
)

staff_audit = Table(
    "staff_audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", Instant, nullable=False),
    Column("staff_id", String(64), nullable=False),
    Column("action", String(48), nullable=False),
    Column("patron_id", Integer),
    Column("target", Text),
    Column("reason", Text),
    Column("detail", Text),
)

import_runs = Table(
    "import_runs",
    metadata,
    # Every import attempt, including the refused ones with their reasons.
    Column("id", Integer, primary_key=True),
    Column("at", Instant, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("source", Text, nullable=False),
    Column("encoding", String(16)),
    Column("rows_read", Integer, nullable=False),
    Column("rows_written", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("problems", Text),
    one_of("status", ("imported", "refused")),
)


# The back office's changes to what the ILS also holds (docs/integration.md, "Who owns
# each field"): one row per field changed, exported to the ILS by `ils export changes`.
JOURNAL_RECORDS = ("patron", "loan", "hold")
# pending: the ILS has not seen it; applied: the ILS acknowledged it or its export shows
# it; overridden: a later change in the ILS won.
JOURNAL_ILS_STATES = ("pending", "applied", "overridden")
CONFLICT_WINNERS = ("ils", "back_office")

change_journal = Table(
    "change_journal",
    metadata,
    Column("id", Integer, primary_key=True),  # monotonic: the ILS asks for entries after the last it applied
    Column("at", Instant, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("record", String(8), nullable=False),
    Column("patron_id", Integer, ForeignKey("patrons.id"), nullable=False),
    Column("loan_id", Integer, ForeignKey("loans.id")),
    Column("hold_id", Integer, ForeignKey("holds.id")),
    Column("field", String(32), nullable=False),
    Column("old_value", Text),
    Column("new_value", Text),
    Column("actor", String(64), nullable=False),
    Column("run_id", Integer),
    Column("ils_state", String(12), nullable=False, server_default=text("'pending'")),
    Column("ils_state_at", Instant),
    one_of("record", JOURNAL_RECORDS),
    one_of("ils_state", JOURNAL_ILS_STATES),
    Index(None, "patron_id", "field"),
    Index(None, "loan_id", "field"),
    Index(None, "ils_state", "id"),
)

sync_conflicts = Table(
    "sync_conflicts",
    metadata,
    # A field both the ILS and the back office changed, found by an import: who won, and why.
    Column("id", Integer, primary_key=True),
    Column("at", Instant, nullable=False),
    Column("source", Text, nullable=False),
    Column("line", Integer, nullable=False),
    Column("record", String(8), nullable=False),
    Column("record_key", String(64), nullable=False),
    Column("field", String(32), nullable=False),
    Column("ils_value", Text),
    Column("back_office_value", Text),
    Column("ils_changed_at", Instant),
    Column("change_id", Integer, ForeignKey("change_journal.id"), nullable=False),
    Column("winner", String(12), nullable=False),
    one_of("winner", CONFLICT_WINNERS),
)


def bound_to_active_hold(copy_id_column):
    """SQL: the copy serves an active hold (allocated, in transit or ready)."""
    bound = holds.alias("bound")
    return exists().where(bound.c.copy_id == copy_id_column, bound.c.status.in_(HOLDS_WITH_COPY))
