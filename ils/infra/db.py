"""Opening the database (SQLite by default, PostgreSQL by URL), migrating it, and checking its schema version."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import re
import sqlite3
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    Dialect,
    Engine,
    String,
    Table,
    TypeDecorator,
    any_,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    inspect,
    literal_column,
    select,
    text,
)
from sqlalchemy import column as sql_column
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.elements import BindParameter, ColumnElement, UnaryExpression
from sqlalchemy.sql.operators import custom_op

from ils.errors import ConfigError, DatabaseMissing, NotADatabase, NotInitialised, SchemaVersionError
from ils.infra import faults, files, schema
from ils.infra.i18n import _

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///ils.db"
# Rows per IN (...) list: well under SQLite's bound-parameter limit, small enough for
# PostgreSQL to plan well.
CHUNK = 5000
# How long an SQLite writer waits for another's lock before giving up (ils.toml
# [database] busy_timeout_seconds): longer than any counter transaction, shorter than
# a person's patience.
BUSY_TIMEOUT = 30.0
# How much of an SQLite file is read through a memory map (see _configure_sqlite).
MMAP_BYTES = 256 * 1024 * 1024
# A file larger than this is not memory-mapped at all, by any connection (_mapped_bytes): a
# prefecture's (~5 GB) first 256 MB are a small part of it, and each mapped page a step touches
# costs a page fault and counts in the process's peak.
UNMAPPED_FROM = 1024 * 1024 * 1024
# A connection that only reads (the night's reports, in their child process) maps the whole file,
# which is at most UNMAPPED_FROM: a city's (~0.5 GB). Its pages read count in the process's
# resident memory, as the page cache they replace did (up to 128 MB).
READER_MMAP_BYTES = UNMAPPED_FROM
MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept a bare file path as shorthand for an SQLite database, and postgresql:// for psycopg's."""
    if "://" not in url:
        return f"sqlite:///{url}"
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare):]
    return url


def display_url(url: str) -> str:
    """A database URL fit for a log or a screen: the password hidden."""
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unreadable URL is shown as given, less any password
        return url.split("@")[-1]


def location(url: str) -> str:
    """Where the database is, as staff would look for it: an SQLite file's full path, or the server URL less its password."""
    try:
        path = sqlite_path(url)
    except Exception:  # noqa: BLE001 - an unreadable URL is refused elsewhere, with its reason
        path = None
    return str(path.resolve()) if path is not None else display_url(url)


def names_a_file(database: str | None) -> TypeGuard[str]:
    """Whether an SQLite URL's database names a file: not None, "" or ":memory:", which are in memory."""
    return database not in (None, "", ":memory:")


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None for PostgreSQL and for an in-memory database)."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or not names_a_file(parsed.database):
        return None
    return Path(parsed.database)


def open_engine(url: str = DEFAULT_URL, *, create: bool = False, busy_timeout: float = BUSY_TIMEOUT,
                mmap_bytes: int = MMAP_BYTES) -> Engine:
    """An engine with the settings this product relies on (WAL and foreign keys on SQLite).

    Only `ils init` (and the demo) pass `create`: any other command given the path of a
    file that does not exist stops, instead of creating an empty database there and
    advising `ils init` — which would set up a second, empty library beside the real one.
    """
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise ConfigError(_("cannot read database URL {url!r}: {exc}").format(url=url, exc=exc)) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _require_sqlite_file(parsed, create)
        engine = create_engine(parsed, connect_args={"timeout": busy_timeout})
        _configure_sqlite(engine, busy_timeout, mmap_bytes)
    elif backend == "postgresql" and parsed.get_driver_name() == "psycopg":
        # No hstore: no column is one, and looking for the type asked the server's catalogue on
        # every connection (a round trip in every command's start-up).
        engine = create_engine(parsed, pool_pre_ping=True, use_native_hstore=False)
        _configure_postgresql(engine)
    else:
        raise ConfigError(
            _("unsupported database URL {url!r}: ils runs on sqlite:///PATH (or a bare file "
              "path) or postgresql+psycopg://USER@HOST/DATABASE").format(url=display_url(url))
        )
    return engine


def open_engine_like(conn: Connection, *, busy_timeout: float = BUSY_TIMEOUT, mmap_bytes: int = MMAP_BYTES) -> Engine:
    """A new engine on the database `conn` is connected to, set up as open_engine sets up every
    engine: for a forked child, which must never use (or close) the connection it inherited."""
    return open_engine(conn.engine.url.render_as_string(hide_password=False), busy_timeout=busy_timeout,
                       mmap_bytes=mmap_bytes)


def _require_sqlite_file(parsed, create: bool) -> None:
    if not names_a_file(parsed.database):
        return
    path = Path(parsed.database)
    if not path.parent.is_dir():
        raise DatabaseMissing(_("the folder {parent} of the database does not exist: check --db (or $ILS_DATABASE_URL, "
                                "or [database] url in ils.toml)").format(parent=path.parent.resolve()))
    if path.is_dir():
        raise NotADatabase(_("{path} is a folder, not an SQLite database: check --db").format(path=path.resolve()))
    if path.exists():
        return
    if not create:
        raise DatabaseMissing(
            _("the database {path} does not exist: check --db (or $ILS_DATABASE_URL, or [database] url "
              "in ils.toml); to set up a new library there, run `ils init --profile NAME`").format(path=path.resolve())
        )
    files.create_private(path)


def _configure_sqlite(engine: Engine, busy_timeout: float, mmap_bytes: int) -> None:
    # pysqlite's own transaction handling defers BEGIN until the first write and
    # breaks SAVEPOINT and transactional DDL; take over BEGIN ourselves (the recipe
    # in SQLAlchemy's SQLite dialect documentation).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        # 128 MB of page cache (the default is 2 MB): a city's indexes stay in memory.
        cursor.execute("PRAGMA cache_size = -131072")
        # Statement journals in memory, not in temporary files. Inside a step's transaction
        # every write that may fail halfway (any UPDATE of a foreign-key column, like a
        # hold's copy_id, and every many-row UPDATE or INSERT ... SELECT) keeps the
        # original of each page it changes, spilled to a file in /var/tmp past 64 KB: a
        # city night's allocate wrote 470 MB there in 190,000 writes, more per hold the
        # larger the library, and waited on the disk. Temporary tables live here too.
        cursor.execute("PRAGMA temp_store = MEMORY")
        # The first 256 MB of the file read through a memory map, not one read() call and
        # copy each page: a step's first touch of a city's loans, copies and patrons costs
        # that much less CPU (city night: -8%, the same as with 1 GB). The mapped pages are
        # the OS's file cache, counted in the process's RSS though no memory is allocated
        # for them (a city night's peak: 507 MB instead of 257; 1 GB added some 130 MB more):
        # the size is what the peak may grow by. Writes still go through the page cache.
        cursor.execute(f"PRAGMA mmap_size = {_mapped_bytes(engine.url.database, mmap_bytes)}")
        if names_a_file(engine.url.database):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A writer that may upgrade its lock later asks for it up front, so two
        # writers queue on busy_timeout instead of failing with SQLITE_BUSY.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _mapped_bytes(database: str | None, wanted: int) -> int:
    """How much of an SQLite file a connection maps: `wanted`, or nothing for a file larger than
    UNMAPPED_FROM. A prefecture's first 256 MB (of 4.8 GB) are its titles table alone; mapped, they
    were 256 MB of each process's 980 MB peak, and its accept step alone took 19.0 s of CPU against
    18.0 s unmapped (peak 987 MB against 727 MB): a page fault per mapped page touched cost more
    than reading those pages into the page cache (docs/performance.md)."""
    try:
        size = Path(database).stat().st_size if names_a_file(database) else 0
    except OSError:
        size = 0
    return 0 if size > UNMAPPED_FROM else int(wanted)


def _configure_postgresql(engine: Engine) -> None:
    # No JIT compilation of the session's statements (a stock server's jit = on compiles any
    # statement whose estimated cost passes 100,000): this program's statements are index
    # look-ups and scans of a few tables that run in tens of milliseconds, and a city night's
    # two that passed spent 49 ms compiling (the hold shelf's 40 ms of 556). A DBA who wants
    # it for the server's other users keeps it there; this session alone goes without.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.commit()


def immediate(conn: Connection) -> Connection:
    """The connection, set to take the write lock at BEGIN (a no-op outside SQLite)."""
    return conn.execution_options(sqlite_begin="IMMEDIATE")


def write_transaction(conn: Connection):
    """BEGIN (IMMEDIATE on SQLite) a unit of work on a connection that may have read before.

    SQLAlchemy begins a transaction implicitly on the first read; such a transaction
    holds no changes (every write here happens inside an explicit unit of work), so it
    is ended first instead of making begin() fail.
    """
    if conn.in_transaction():
        conn.commit()
    return immediate(conn).begin()


def refresh_statistics(conn: Connection, columns: Mapping[str, Sequence[str]]) -> None:
    """PostgreSQL: ANALYZE these columns of these tables now (table -> its columns), in a transaction
    of their own; SQLite keeps no statistics unless asked (ANALYZE is never run there), so nothing
    is done.

    For columns a run has just changed in most rows: until autovacuum analyzes the table (after a
    tenth of its rows have changed, within a minute or so, if it runs) the planner reads them as they
    were. Only the columns named are analyzed (the city's pending requests: 10-15 ms against 110 ms
    for the whole table). ANALYZE takes a lock that lets every read and write go on."""
    if conn.dialect.name != "postgresql":
        return
    quote = conn.dialect.identifier_preparer.quote
    with write_transaction(conn):
        for table, names in columns.items():
            conn.exec_driver_sql(f"ANALYZE {quote(table)} ({', '.join(map(quote, names))})")


def release_page_cache(conn: Connection) -> None:
    """SQLite: free the connection's page cache (up to 128 MB), which reads again the pages it needs
    next; a no-op elsewhere. For a process about to fork (the night's reports): the child would
    start with those pages counted in its resident size, and never reads them (its own connection)."""
    if conn.dialect.name == "sqlite":
        sqlite_driver(conn).execute("PRAGMA shrink_memory")


def sqlite_driver(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under `conn`, for a pragma outside any unit of work."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)  # an open SQLite connection's
    return driver


@contextlib.contextmanager
def rollback_journal(conn: Connection, wanted: bool = True):
    """SQLite: the block's transactions through a rollback journal instead of the write-ahead log,
    when `wanted` and no other connection has the file open; WAL again afterwards.

    For a first load into an empty library (ils/exchange/imports, import_files). Its one
    transaction writes the whole database, several times the page cache, and in WAL mode every
    page the cache lets go of goes into the log, where each later read of it, and each write of
    it again, first looks for its newest frame through the log's index: one hash table per 4,096
    frames, searched from the newest back, so a look-up costs more the more the transaction has written
    (a prefecture: 5 GB of log, some 300 tables), and then the commit copies the whole log
    into the file a second time. With a rollback journal a page let go of is written into the
    file, read back through the memory map or one read, and journaled not at all (it did not
    exist when the transaction began); a refused or interrupted load is rolled back as before.
    Readers wait meanwhile (they would find an empty library), and a reader in a transaction
    when the load commits makes the commit wait for it (busy_timeout); another connection
    already open keeps the log: the switch needs the file to itself, and the block then runs in
    WAL mode."""
    if not wanted or conn.dialect.name != "sqlite" or not names_a_file(conn.engine.url.database):
        yield
        return
    if conn.in_transaction():
        conn.commit()  # SQLAlchemy's implicit one: it holds no changes (see write_transaction)
    driver = sqlite_driver(conn)
    try:
        was = driver.execute("PRAGMA journal_mode").fetchone()[0]
        switched = was.lower() == "wal" and driver.execute("PRAGMA journal_mode = DELETE").fetchone()[0].lower() == "delete"
    except sqlite3.OperationalError as exc:  # another connection holds the log open
        log.info("the import keeps the write-ahead log: %s", exc)
        switched = False
    try:
        yield
    finally:
        if switched:
            if conn.in_transaction():
                conn.commit()
            try:
                driver.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as exc:
                # A reader opened meanwhile is in a transaction: the load stands, and the next
                # connection opened (open_engine's) sets WAL again.
                log.warning("the database stays in rollback-journal mode until the next connection: %s", exc)


@contextlib.contextmanager
def sorting_in_files(conn: Connection):
    """SQLite: the block's sorts (an index built over a whole table) through temporary files,
    not in memory; the connection's temporary storage back in memory afterwards.

    For the indexes a first load builds after its rows (ils/exchange/imports/bulk.py). With
    temporary storage in memory, the sorter allocates each key on its own and sorts them all in
    one list: ten times the city's copies (20.7 million) took 1.1 GB more memory and 1.5-1.8
    times the CPU of the same build through files (37.0-41.6 s against 22.7-24.1 s for
    `(state, location_branch_id)`), which sort the keys in runs of the page cache's size, packed
    into one buffer each, and merge them. The city's keys fit in one run: no file is written,
    and the build is cheaper still (2.0-2.3 s against 2.4-3.1 s); the larger sort's runs go to
    SQLite's temporary folder (SQLITE_TMPDIR, TMPDIR or /var/tmp): 0.7 GB for those 20.7 million.
    Every connection keeps statement journals in memory (_configure_sqlite), and the block
    switches back; a connection that already has a temporary table (a re-import's stage, a
    test's earlier import) cannot switch inside a transaction, and then sorts in memory as before."""
    if conn.dialect.name != "sqlite":
        yield
        return
    driver = sqlite_driver(conn)
    was = driver.execute("PRAGMA temp_store").fetchone()[0]
    try:
        driver.execute("PRAGMA temp_store = FILE")
    except sqlite3.OperationalError:  # "temporary storage cannot be changed from within a transaction"
        yield
        return
    try:
        yield
    finally:
        driver.execute(f"PRAGMA temp_store = {int(was)}")


# PostgreSQL's lock_not_available: a row asked for with FOR UPDATE NOWAIT is held by
# another transaction (the batch allocating it, another counter scanning it).
LOCK_NOT_AVAILABLE = "55P03"


def lock_not_available(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE


def _alembic_config(conn: Connection | None) -> Config:
    # alembic is a third of a command's start-up: only the commands that migrate load it.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


# A migration names itself and its parent in two plain lines (`revision = '0008'`,
# `down_revision = '0007'`); reading them is what lets every other command check the
# schema version without loading alembic. tests/test_startup.py holds this to alembic's answer.
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*['\"]?([\w-]+|None)['\"]?\s*$", re.M)


@functools.cache
def _revisions() -> dict[str, str | None]:
    """Every migration's revision and the revision it follows."""
    found: dict[str, str | None] = {}
    for module in sorted((MIGRATIONS / "versions").glob("[0-9]*.py")):
        lines = dict(_REVISION_LINE.findall(module.read_text(encoding="utf-8")))
        parent = lines.get("down_revision")
        found[lines["revision"]] = None if parent in (None, "None") else parent
    return found


def head_revision() -> str:
    revisions = _revisions()
    heads = set(revisions) - set(revisions.values())
    assert len(heads) == 1, "the migrations have one head"
    return heads.pop()


def current_revision(conn: Connection) -> str | None:
    """The schema version the database records (alembic's own table), None if it records none."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate the schema to `revision`; returns (before, after)."""
    with engine.begin() as conn:
        from alembic import command

        before = current_revision(conn)
        command.upgrade(_alembic_config(conn), revision)
        after = current_revision(conn)
        assert after is not None, "an upgrade ends at a revision"
    if before != after:
        log.info("schema migrated from %s to %s", before or "empty", after)
    return before, after


def check_version(conn: Connection) -> None:
    """Refuse to work on a database whose schema this program does not match."""
    current = current_revision(conn)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise NotInitialised(
            _("database {database} has no ils schema: run `ils init` first").format(database=_describe(conn))
        )
    if current in _revisions():
        raise SchemaVersionError(
            _("database schema is at {current}, this ils needs {head}: run `ils db upgrade`").format(current=current, head=head)
        )
    raise SchemaVersionError(
        _("database schema {current} is newer than this ils (which knows up to {head}): upgrade "
          "the ils package").format(current=current, head=head)
    )


def _describe(conn: Connection) -> str:
    return conn.engine.url.render_as_string(hide_password=True)


@contextlib.contextmanager
def connect(url: str, *, check: bool = True, busy_timeout: float = BUSY_TIMEOUT):
    """A connection to a database whose schema version has been checked.

    A fault of the database met inside the block (locked, read-only, full, gone) comes
    out as the typed error that says what to do (ils.infra.faults).
    """
    engine = open_engine(url, busy_timeout=busy_timeout)
    try:
        with faults.translated(location(url)):
            with engine.connect() as conn:
                if check:
                    check_version(conn)
                    conn.commit()
                yield conn
    finally:
        engine.dispose()


def get_setting(conn: Connection, key: str) -> str | None:
    t = schema.system_settings
    return conn.execute(select(t.c.value).where(t.c.key == key)).scalar()


def put_setting(conn: Connection, key: str, value: str) -> None:
    t = schema.system_settings
    updated = conn.execute(t.update().where(t.c.key == key).values(value=value)).rowcount
    if not updated:
        conn.execute(t.insert().values(key=key, value=value))


def bind_converters(conn: Connection, table: Table, columns: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    """Each column's converter, as SQLAlchemy applies it to a bound value (None where it needs none
    or `table` has no such column): the bulk paths convert values themselves rather than let
    SQLAlchemy build parameters row by row. SQLAlchemy keeps them on the compiled statement,
    under a private name; the import and lifecycle tests on both engines hold them to its answer."""
    return list(_converters(conn.dialect, table, tuple(columns)))


# (dialect, driver, table, columns) -> each column's converter: finding them compiles a statement.
_CONVERTERS: dict[tuple[str, str, Table, tuple[str, ...]], tuple[Callable[[Any], Any] | None, ...]] = {}


def _converters(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> tuple[Callable[[Any], Any] | None, ...]:
    """bind_converters, found once per kind of dialect, table and columns."""
    key = (dialect.name, dialect.driver, table, columns)
    found = _CONVERTERS.get(key)
    if found is None:
        present = {c: bindparam(c, type_=table.c[c].type) for c in columns if c in table.c}
        processors: dict[str, Any] = dict(table.insert().values(present).compile(dialect=dialect)._bind_processors)
        found = _CONVERTERS[key] = tuple(
            _short_way(dialect, table.c[c].type, processors[c]) if c in processors else None for c in columns)
    return found


def _short_way(dialect: Dialect, type_: Any, process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLAlchemy's converter, or on SQLite a shorter way to the same text for the common value."""
    if _stored_as_iso_text(dialect, type_, "DATE"):
        return _iso_date(process)
    if isinstance(type_, schema.Instant) and _stored_as_iso_text(dialect, type_.impl, "DATETIME"):
        return _utc_text(process)
    return process


def _stored_as_iso_text(dialect: Dialect, type_: Any, kind: str) -> bool:
    """Whether SQLite keeps this type as SQLite's `kind` ("DATE" or "DATETIME") in SQLAlchemy's
    default storage format: `YYYY-MM-DD`, or `YYYY-MM-DD HH:MM:SS.ffffff` (ISO's, with a space)."""
    if dialect.name != "sqlite":
        return False
    # Here, not at the top: a process on PostgreSQL has no other use for the SQLite dialect.
    from sqlalchemy.dialects import sqlite

    stored = getattr(sqlite, kind)
    impl = type_.dialect_impl(dialect)
    return isinstance(impl, stored) and impl._storage_format == stored._storage_format and impl._reg is None


def _iso_date(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLite's Date converter with a short way for a plain date: its ISO text is exactly
    SQLAlchemy's `%(year)04d-%(month)02d-%(day)02d`, a third of the CPU (the city's import
    converts 2.8 million dates); anything else (None, a datetime, a wrong type) goes to
    SQLAlchemy's own."""
    date = dt.date

    def convert(value: Any) -> Any:
        return value.isoformat() if type(value) is date else process(value)

    return convert


def _utc_text(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLite's converter of an instant (schema.Instant: to UTC, then SQLAlchemy's DATETIME text)
    with a short way for an aware datetime: its UTC time's ISO text with a space and microseconds
    is exactly that text, less ISO's `+00:00` (half the CPU: a prefecture's first load converts
    2 million hold times); anything else (None, a naive datetime, which Instant refuses) goes to
    SQLAlchemy's own."""
    datetime, utc = dt.datetime, dt.timezone.utc

    def convert(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is not None:
            return value.astimezone(utc).isoformat(" ", "microseconds")[:26]
        return process(value)

    return convert


def as_stored(conn: Connection, table: Table, columns: Sequence[str],
              rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows of plain values (in `columns`' order) as the driver takes them: each value converted
    by its column's type, as SQLAlchemy would bind it (a date as ISO text on SQLite, an instant
    as UTC), one column at a time, and a value repeated from the row before (the run's `now`)
    converted once."""
    rows = list(rows)
    converters = _converters(conn.dialect, table, tuple(columns))
    if not rows or not any(converters):
        return [tuple(row) for row in rows]
    values = [list(column) for column in zip(*rows, strict=True)]
    for column, convert in zip(values, converters, strict=True):
        if convert is not None:
            convert_in_place(column, convert)
    return list(zip(*values, strict=True))


def convert_in_place(column: list[Any], convert: Callable[[Any], Any]) -> None:
    """A column's values converted by `convert` (a bind_converters one), a value that is the row
    before's (the run's `now`, None) converted once."""
    last: Any = _NOTHING
    stored: Any = None
    for i, value in enumerate(column):
        if value is not last:
            last, stored = value, convert(value)
        column[i] = stored


_NOTHING = object()


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
                skip_existing: Sequence[str] = ()) -> None:
    """Rows of plain values (in `columns`' order) inserted into `table`, in their order (ids are
    drawn in it), skipping a row whose `skip_existing` key is already there (or came earlier).

    SQLite: one executemany straight through the driver. SQLAlchemy's own executemany spent
    ~15 us a row in Python building and converting each row's parameters, several times what
    SQLite spends writing it. PostgreSQL: COPY (_copy_in), where an INSERT per row, even
    pipelined, waits on the server for each (the city night: 1.1–1.9 s less CPU, client and server, than pipelined INSERTs)."""
    stored = as_stored(conn, table, columns, rows)
    if not stored:
        return
    if conn.dialect.name == "postgresql" and (len(stored) >= COPY_FROM or not skip_existing):
        _copy_in(conn, table, columns, stored, skip_existing)
        return
    if conn.dialect.name == "sqlite" and len(stored) >= STAGE_FROM and _checks_a_list(table, tuple(columns)):
        _insert_staged(conn, table, columns, stored, skip_existing)
        return
    conn.exec_driver_sql(insert_statement(conn, table, columns, skip_existing=skip_existing), stored)


# From this many rows on, SQLite gets rows that a `column IN (...)` check tests through a staging
# table (_insert_staged).
STAGE_FROM = 256


@functools.cache
def _checks_a_list(table: Table, columns: tuple[str, ...]) -> bool:
    """Whether a CHECK of `table` tests one of these columns against a list of values (schema.one_of).
    (A list check of a column left to its default cost an executemany nothing measurable: the outbox's state.)"""
    checks = [str(c.sqltext) for c in table.constraints if isinstance(c, CheckConstraint)]
    return any(check.startswith(f"{name} IN (") for check in checks for name in columns)


def _insert_staged(conn: Connection, table: Table, columns: Sequence[str], stored: list[tuple[Any, ...]],
                   skip_existing: Sequence[str]) -> None:
    """SQLite: rows into an untyped temporary table, then into `table` by INSERT ... SELECT in their
    order, a statement per CHUNK rows. SQLite builds the list of an `IN (...)` CHECK each time a
    statement runs, so an executemany built it for every row: a third of the CPU of a city night's
    18,807 journal rows (0.34 s straight, 0.23 s staged). The staging table lasts the connection,
    emptied after each use: created and dropped each time, it would change the schema and SQLite
    would prepare again every statement it had cached."""
    names = ", ".join(columns)
    staged = f"staged_{table.name}_{zlib.crc32(names.encode()):08x}"  # one per table and columns
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {staged} (_n INTEGER PRIMARY KEY, {names})")
    conn.exec_driver_sql(f"INSERT INTO {staged} VALUES ({', '.join('?' * (len(columns) + 1))})",
                         [(n, *row) for n, row in enumerate(stored)])
    into = f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {staged} WHERE _n >= ? AND _n < ? ORDER BY _n"
    if skip_existing:
        into += f" ON CONFLICT ({', '.join(skip_existing)}) DO NOTHING"
    for start in range(0, len(stored), CHUNK):
        conn.exec_driver_sql(into, (start, start + CHUNK))
    conn.exec_driver_sql(f"DELETE FROM {staged}")


# From this many rows on, rows that may already be there go through a staging table on
# PostgreSQL (four statements, whatever the count); a few rows stay one pipelined INSERT each.
COPY_FROM = 64


def _copy_in(conn: Connection, table: Table, columns: Sequence[str], stored: list[tuple[Any, ...]],
             skip_existing: Sequence[str]) -> None:
    """PostgreSQL: rows already as stored COPYed into `table`. With a one-column `skip_existing`
    key, the keys already there are looked up first (by the key's index) and the other rows,
    the first of each key, COPYed straight into `table` (_copy_new)."""
    if not skip_existing:
        copy_rows(conn, table.name, columns, [None] * len(columns), stored)
        return
    if len(skip_existing) == 1 and _copy_new(conn, table, columns, stored, skip_existing[0]):
        return
    _copy_staged(conn, table, columns, stored, skip_existing)


def _copy_new(conn: Connection, table: Table, columns: Sequence[str], stored: list[tuple[Any, ...]], key: str) -> bool:
    """The rows whose `key` is not in `table` yet (nor on an earlier row) COPYed into it, in their order;
    False, with nothing written, if a row's key came in meanwhile (another transaction's, committed
    between the look-up and the COPY): the caller then skips it as _copy_staged does.

    Staged instead (a temporary table created, COPYed into, moved by INSERT ... ON CONFLICT and
    dropped), the rows were written twice and each checked against the key's index as it went in:
    14,342 notices of accept took 0.235 s of the server's CPU that way, 0.200 s this way. Rows
    skipped draw no id (on SQLite neither); the staged INSERT drew one for each."""
    at = list(columns).index(key)
    keys = [row[at] for row in stored if row[at] is not None]
    column = table.c[key]
    seen = set(conn.execute(select(column).where(one_of_indexed(conn, column, keys))).scalars())
    fresh = []
    for row in stored:
        if row[at] is not None:
            if row[at] in seen:
                continue
            seen.add(row[at])
        fresh.append(row)
    try:
        with conn.begin_nested():
            copy_rows(conn, table.name, columns, [None] * len(columns), fresh)
    except Exception as exc:  # psycopg's own error: COPY goes through the driver's cursor
        if getattr(exc, "sqlstate", None) != UNIQUE_VIOLATION:
            raise
        return False
    return True


# PostgreSQL's unique_violation.
UNIQUE_VIOLATION = "23505"


def _copy_staged(conn: Connection, table: Table, columns: Sequence[str], stored: list[tuple[Any, ...]],
                 skip_existing: Sequence[str]) -> None:
    """PostgreSQL: rows COPYed into a temporary table with their order first, then moved by one
    INSERT ... SELECT in that order (each id drawn after the sort) ... ON CONFLICT DO NOTHING: as
    the INSERT per row skipped."""
    names = ", ".join(columns)
    staged = f"staged_{table.name}"
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {staged} AS "
                         f"SELECT 0 AS _n, {names} FROM {table.name} WITH NO DATA")
    copy_rows(conn, staged, ["_n", *columns], [None] * (len(columns) + 1),
              ((n, *row) for n, row in enumerate(stored)))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {staged} ORDER BY _n "
                         f"ON CONFLICT ({', '.join(skip_existing)}) DO NOTHING")
    conn.exec_driver_sql(f"DROP TABLE {staged}")


def insert_statement(conn: Connection, table: Table, columns: Sequence[str], *, skip_existing: Sequence[str] = ()) -> str:
    """The plain INSERT of one row of `columns` into `table`, in the driver's own placeholders
    (for insert_rows, and for the one caller that must execute it itself: the hold lifecycle,
    which alone may write holds)."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    if skip_existing:
        sql += f" ON CONFLICT ({', '.join(skip_existing)}) DO NOTHING"
    return sql


def copy_rows(conn: Connection, into: str, columns: Sequence[str], converters: Sequence[Callable[[Any], Any] | None],
              rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL: rows COPYed into the table `into`, each value converted by its column's converter
    (an INSERT per row, even in a pipeline, waits on the server for each)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {into} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(v if p is None else p(v) for v, p in zip(row, converters, strict=True)))
    finally:
        cursor.close()


def _dialect_insert(conn: Connection, table):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert
        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert
    return sqlite_insert(table)


def insert_ignore(conn: Connection, table, rows: list[dict], key: list[str]) -> int:
    """Insert rows, skipping those whose key is already there (how re-runs stay idempotent);
    returns how many were new."""
    if not rows:
        return 0
    # RETURNING counts what was inserted: the driver's rowcount is not reliable for a
    # batched insert on PostgreSQL.
    stmt = _dialect_insert(conn, table).on_conflict_do_nothing(index_elements=key).returning(table.c[key[0]])
    return len(conn.execute(stmt, rows).all())


def insert_missing(conn: Connection, table, rows: list[dict], key: list[str]) -> None:
    """insert_ignore for a caller that does not count (insert_rows, skipping rows whose key is there).
    Without RETURNING it is one executemany (SQLite) or COPY (PostgreSQL): with it, SQLAlchemy
    would split the rows into many statements on SQLite and into many-row INSERTs on PostgreSQL."""
    if rows:
        columns = list(rows[0])
        insert_rows(conn, table, columns, [[row[c] for c in columns] for row in rows], skip_existing=key)


def upsert(conn: Connection, table, rows: list[dict], key: list[str]) -> None:
    """Insert rows, updating the existing row where the key already exists (SQLite and PostgreSQL)."""
    if not rows:
        return
    stmt = _dialect_insert(conn, table)
    columns = [c for c in rows[0] if c not in key]
    if columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=key, set_={c: stmt.excluded[c] for c in columns}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=key)
    conn.execute(stmt, rows)


class _JsonList(TypeDecorator):
    """A list bound as one JSON text (SQLite's json_each reads it back as rows)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return json.dumps(list(value), ensure_ascii=False)


def _listed(column, param) -> ColumnElement[bool]:
    return column.in_(select(literal_column("value")).select_from(func.json_each(param)))


def new_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """Ids for `count` new rows, ascending, to be inserted with them in any order: SQLite's next
    ones after the largest (the caller's transaction holds the write lock), PostgreSQL's drawn
    from the table's sequence (so that later inserts without an id do not meet them)."""
    if conn.dialect.name == "postgresql":
        drawn = (f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                 "FROM generate_series(1, %s) ORDER BY 1")
        return [row[0] for row in conn.exec_driver_sql(drawn, (count,))]
    largest = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table.name}").scalar_one()
    return list(range(largest + 1, largest + 1 + count))


def one_of(conn: Connection, column, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN (values)` for a list as long as a chunk, bound as one parameter whatever its length:
    on PostgreSQL `column = ANY(:array)`, on SQLite `column IN (SELECT value FROM json_each(:json))`.
    An IN list of 5,000 placeholders cost the client ~45 ms of CPU to render and split each time,
    and the server more to parse and plan (measured on PostgreSQL: ~55 ms against ~11 ms of
    client CPU, ~400 ms against ~125 ms wall)."""
    if conn.dialect.name != "postgresql":
        return _listed(column, bindparam(None, list(values), type_=_JsonList()))
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))


def one_of_indexed(conn: Connection, column, values: Sequence[Any]) -> ColumnElement[bool]:
    """one_of where each value is to be found through the column's index, whatever the list's length.

    PostgreSQL plans a statement with its parameters' values, and for `column = ANY(:array)` of a
    chunk's length it chose to read whole tables: for accept's title facts, all 2M copies (in
    parallel) for the 52k of 5,000 titles (the city: 0.17 s against 0.05 s for the night's two
    chunks, and three server processes against one). Read from a sub-select, the array is a value
    the plan does not know, planned as a few rows (PostgreSQL's generic plan): index lookups.
    Render's notice details, given the array, hashed all loans and holds for 5,000 notices
    (0.17-0.21 s against 0.09-0.10 s for the night's two chunks).
    SQLite: one_of, the same statement."""
    if conn.dialect.name != "postgresql":
        return one_of(conn, column, values)
    return _any_unplanned(column, bindparam(None, list(values), type_=ARRAY(column.type)))


def one_of_indexed_bound(dialect: Dialect, column, key: str) -> ColumnElement[bool]:
    """one_of_indexed with the list bound when the statement is executed, as parameter `key`."""
    if dialect.name != "postgresql":
        return one_of_bound(dialect, column, key)
    return _any_unplanned(column, bindparam(key, type_=ARRAY(column.type)))


def _any_unplanned(column, array: BindParameter) -> ColumnElement[bool]:
    return column == any_(cast(select(array).scalar_subquery(), ARRAY(column.type)))


def unnested(name: str, columns: Sequence[tuple[str, Any]]):
    """PostgreSQL: rows bound as one array per column when a statement runs, to join or select from as
    the table `name` with these (column name, type) pairs: `unnest(:name_a, :name_b) AS name(a, b)`.
    The parameters come from unnested_rows. Rows a step writes by one UPDATE ... FROM or INSERT ...
    SELECT are bound so, not COPYed into a temporary table created, filled and emptied for each
    batch (three statements more, and a table whose rows the planner knows nothing of); the
    planner takes an unnest as a hundred rows, each looked up by its index."""
    return (
        func.unnest(*(cast(bindparam(f"{name}_{column}", type_=String()), ARRAY(kind)) for column, kind in columns))
        .table_valued(*(sql_column(column, kind) for column, kind in columns))
        .render_derived(name=name)
    )


def unnested_rows(name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, str]:
    """The parameters of unnested(name, ...): `rows`' values (in `columns`' order), one array per
    column, written as PostgreSQL's array text (_array_text)."""
    values = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return {f"{name}_{column}": _array_text(column_values) for column, column_values in zip(columns, values, strict=True)}


def _array_text(values: Iterable[Any]) -> str:
    """An array as PostgreSQL reads it, `{"1","a \\"b\\"",NULL}`, each value quoted as text and cast by the
    statement (a number, a date, an aware instant read from its str()). psycopg writes a list element by
    element in Python, testing each for the quotes it needs: a city's allocate bound 25,000 moves
    twice, and that cost more of the client's CPU (0.1 s per 7,000 moves) than the COPY it replaced."""
    return "{" + ",".join(
        "NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values
    ) + "}"


def one_of_bound(dialect: Dialect, column, key: str) -> ColumnElement[bool]:
    """one_of with the list bound when the statement is executed, as parameter `key` (a statement built once)."""
    if dialect.name != "postgresql":
        return _listed(column, bindparam(key, type_=_JsonList()))
    return column == any_(bindparam(key, type_=ARRAY(column.type)))


def unindexed(dialect: Dialect, column) -> ColumnElement:
    """The column in a term SQLite is not to answer through an index on it (`+column`); unchanged elsewhere.

    SQLite takes an index on a column tested in the WHERE clause when it can, even where a
    scan of another index that holds every column the query needs (or of the table) reads
    less: the queued holds through the status index cost a look-up in the table for each."""
    if dialect.name != "sqlite":
        return column
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def chunks(items: list, size: int = CHUNK):
    """Consecutive slices of a list, for IN lists and batched writes."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
