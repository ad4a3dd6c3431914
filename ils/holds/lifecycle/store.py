"""The writes of a hold's life: the one way to build and insert a hold row, and the one function that moves holds and writes their history.

Every status a hold row gets is written here, and only here: `insert_holds` (a new row;
`insert_hold_columns`, rows given a column at a time) and `move_holds` (a change), each
checked against ils.holds.lifecycle.TRANSITIONS and writing its hold_history rows (and the
ILS's journal entries) in the caller's transaction. Any other code that writes holds.status fails the suite (tests/lifecycle_guard.py).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from sqlalchemy import Column, Dialect, Integer, MetaData, String, Table, Text, bindparam, func, literal, select
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.elements import BindParameter

from ils.errors import Conflict
from ils.exchange.journal import hold_event, record_hold_transitions
from ils.holds.lifecycle import Event, check, initial_status
from ils.holds.queue import queue_place
from ils.infra import db, schema

# The columns of a new hold row, in the order tools/bulkload.py streams them into COPY.
HOLD_ROW_COLUMNS = (
    "patron_id", "title_id", "pickup_branch_id", "contact_method", "channel", "status", "queued_at", "queue_day",
    "queue_class", "series_group", "series_position", "copy_id", "allocated_at", "ready_on", "pickup_deadline",
    "placed_by", "created_at", "request_id",
)

@dataclass(frozen=True)
class Transition:
    """One hold's change as hold_history and the journal record it (from None: a new hold)."""

    hold_id: int
    from_status: str | None
    to_status: str
    note: str | None = None
    patron_id: int | None = None  # when the caller knows it, the journal need not look it up


def new_hold_row(
    policy, *, patron_id: int, title_id: int, pickup_branch_id: int, contact_method: str, channel: str,
    received_at: dt.datetime, created_at: dt.datetime, placed_by: str, series_group: str | None = None,
    series_position: int | None = None, request_id: int | None = None, status: str | None = None,
    copy_id: int | None = None, allocated_at: dt.datetime | None = None, ready_on: dt.date | None = None,
    pickup_deadline: dt.date | None = None,
) -> dict[str, Any]:
    """A new hold row (every column of HOLD_ROW_COLUMNS): its queue place from the receipt time
    and channel, and its first status — waiting or 準備中 — unless an import names one.
    The contact method comes in already chosen by ils.holds.lifecycle.default_contact."""
    place = queue_place(received_at, channel, policy)
    first = status or initial_status(policy.series.ordered, series_group, series_position)
    return {
        "patron_id": patron_id, "title_id": title_id, "pickup_branch_id": pickup_branch_id,
        "contact_method": contact_method, "channel": channel, "status": str(first),
        "queued_at": place.queued_at, "queue_day": place.queue_day, "queue_class": place.queue_class,
        "series_group": series_group, "series_position": series_position, "copy_id": copy_id,
        "allocated_at": allocated_at, "ready_on": ready_on, "pickup_deadline": pickup_deadline,
        "placed_by": placed_by, "created_at": created_at, "request_id": request_id,
    }


def new_hold_columns(
    policy, *, patron_id: Sequence[int], title_id: Sequence[int], pickup_branch_id: Sequence[int],
    contact_method: Sequence[str], channel: Sequence[str], received_at: Sequence[dt.datetime], status: Sequence[str],
    created_at: dt.datetime, placed_by: str, series_group: Sequence[str | None], series_position: Sequence[int | None],
    copy_id: Sequence[int | None], allocated_at: Sequence[dt.datetime | None], ready_on: Sequence[dt.date | None],
    pickup_deadline: Sequence[dt.date | None],
) -> dict[str, list]:
    """new_hold_row's rows a column at a time (every column of HOLD_ROW_COLUMNS, in its order), for
    a load that has its rows' values by column and names each hold's status (the import's first
    load): each row's values exactly as new_hold_row gives them, with no dict per row."""
    places = list(map(queue_place, received_at, channel, repeat(policy)))
    count = len(places)
    return {
        "patron_id": list(patron_id), "title_id": list(title_id), "pickup_branch_id": list(pickup_branch_id),
        "contact_method": list(contact_method), "channel": list(channel), "status": list(map(str, status)),
        "queued_at": [place.queued_at for place in places], "queue_day": [place.queue_day for place in places],
        "queue_class": [place.queue_class for place in places], "series_group": list(series_group),
        "series_position": list(series_position), "copy_id": list(copy_id), "allocated_at": list(allocated_at),
        "ready_on": list(ready_on), "pickup_deadline": list(pickup_deadline), "placed_by": [placed_by] * count,
        "created_at": [created_at] * count, "request_id": [None] * count,
    }


def insert_hold_columns(conn: Connection, event: Event, columns: Mapping[str, list]) -> list[int]:
    """insert_holds for rows given a column at a time (new_hold_columns), with no history row (as
    an import writes none); returns their ids in order. The lists are converted in place."""
    for status in set(columns["status"]):
        check(event, None, status)
    return _insert_in_order(conn, dict(columns))


def insert_holds(
    conn: Connection, event: Event, rows: Sequence[dict], notes: Sequence[str] | None, *,
    at: dt.datetime, run_id: int | None, actor: str,
) -> list[int]:
    """Insert new hold rows in a few statements; returns their ids in order. Each row's status must
    be one `event` may create. With `notes`, one history row per hold says where it came from;
    an import passes None — the ILS already has the hold's past, and the night writes none."""
    if not rows:
        return []
    for row in rows:
        check(event, None, row["status"])
    ids = _insert_in_order(conn, {name: [row[name] for row in rows] for name in rows[0]})
    if notes is not None:
        _log(conn, [Transition(i, None, row["status"], note, row["patron_id"])
                    for i, row, note in zip(ids, rows, notes, strict=True)],
             at=at, run_id=run_id, actor=actor)
    return ids


def _insert_in_order(conn: Connection, columns: dict[str, list]) -> list[int]:
    """Insert the rows (given a column at a time), ids assigned in the rows' order, and return
    those ids, in a few statements.

    Not INSERT ... RETURNING in parameter order: SQLAlchemy sends that one row per statement
    on SQLite, and as many-row INSERTs on PostgreSQL that measured several times slower than
    an executemany. SQLite gives each new row the id one above the largest, and this
    transaction holds the write lock, so the new ids are the ones after the largest before
    (checked, not assumed). PostgreSQL: the ids are drawn from the table's sequence first,
    in ascending order, and the rows COPYed with them (db.insert_rows).
    """
    h = schema.holds
    count = len(next(iter(columns.values())))
    if conn.dialect.name == "postgresql":
        ids = db.new_ids(conn, h, count)
        db.insert_rows(conn, h, ["id", *columns], zip(ids, *columns.values(), strict=True))
        return ids
    largest = select(func.coalesce(func.max(h.c.id), 0))
    before = conn.execute(largest).scalar_one()
    _insert_staged(conn, columns, count)
    after = conn.execute(largest).scalar_one()
    if after != before + count:
        raise RuntimeError(f"holds: {count} rows inserted after id {before}, but the largest id is now {after}")
    return list(range(before + 1, after + 1))


def _insert_staged(conn: Connection, columns: dict[str, list], count: int) -> None:
    """SQLite: the rows into an untyped temporary table, then into holds by one INSERT ... SELECT
    in their order. Row by row, SQLite rebuilds the lists of holds' CHECK constraints for every
    row (a third of an import's 200,000 holds); one statement builds them once.

    One statement per CHUNK rows, though: each keeps a statement journal (the holds' foreign keys
    may abort it), the original of every page it changes, in memory (temp_store = MEMORY). All
    of a night's new holds at once, that was 16 MB for a city's accept and 164 MB for a
    prefecture's, the step's peak; a chunk's journal does not grow with the library."""
    names = list(columns)
    converters = db.bind_converters(conn, schema.holds, names)
    values: list[Sequence] = [range(count)]
    for name, convert in zip(names, converters, strict=True):
        column = columns[name]
        if convert is not None:
            # An import's created_at and allocated_at are the run's `now` on every row: converted
            # once, not 200,000 times (a third of the instructions of the city's three instant columns).
            db.convert_in_place(column, convert)
        values.append(column)
    conn.exec_driver_sql("DROP TABLE IF EXISTS temp.new_holds")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE new_holds (_n INTEGER PRIMARY KEY, {', '.join(names)})")
    conn.exec_driver_sql(f"INSERT INTO new_holds VALUES ({', '.join('?' * (len(names) + 1))})",
                         list(zip(*values, strict=True)))
    into = (f"INSERT INTO holds ({', '.join(names)}) SELECT {', '.join(names)} FROM new_holds"
            " WHERE _n >= ? AND _n < ? ORDER BY _n")
    for start in range(0, count, db.CHUNK):
        conn.exec_driver_sql(into, (start, start + db.CHUNK))
    conn.exec_driver_sql("DROP TABLE temp.new_holds")


@dataclass(frozen=True)
class Move:
    """One hold to move: from `was` to `now`, with the values bound for this row of the update."""

    hold_id: int
    was: str
    now: str
    note: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    patron_id: int | None = None  # saves the journal a look-up when the hold closes
    # The status the row holds, when not `was`: an earlier move of this hold in the same
    # transaction wrote its history and left the row to this one (move_holds' `row_moved_on`).
    stored: str | None = None

    @property
    def expected(self) -> str:
        """The status the update expects to find in the row."""
        return str(self.stored or self.was)

    @property
    def transition(self) -> Transition:
        return Transition(self.hold_id, str(self.was), str(self.now), self.note, self.patron_id)


def move_holds(
    conn: Connection, event: Event, moves: Iterable[Move], *, at: dt.datetime, run_id: int | None, actor: str,
    values: Mapping[str, Any] | None = None, conflict: str | None = None, row_moved_on: Collection[int] = (),
) -> int:
    """Move holds in a few UPDATEs and write their history; returns the rows updated.

    Each move is checked against the transition table first: one refused move raises
    TransitionRefused and nothing is written. The update names the status it expects,
    so a hold changed meanwhile is not overwritten; with `conflict` (a sentence) that
    raises Conflict, without it the caller has locked the rows it read (the batch steps).
    `values` are the other columns set on every row; they may be bindparam()s filled from
    each Move's params (whose keys must not be column names: SQLAlchemy reserves those).

    The holds in `row_moved_on` move on again later in the same transaction (the series
    gate opens a volume, then allocation gives it a copy): here only their history is
    written, and that later move, naming this one's `now` as its `stored`, writes the row
    once. Their history keeps its order; their row is not updated twice.
    """
    moves = list(moves)
    if not moves:
        return 0
    for m in moves:
        check(event, m.was, m.now, m.hold_id)
    if len(moves) >= STAGED_FROM:
        return _move_staged(conn, moves, row_moved_on, values, conflict, at=at, run_id=run_id, actor=actor)
    written = [m for m in moves if m.hold_id not in row_moved_on]
    count = _update(conn, written, values) if written else 0
    if conflict is not None and count != len(written):
        raise Conflict(conflict)
    _log(conn, [m.transition for m in moves], at=at, run_id=run_id, actor=actor)
    return count


def _update(conn: Connection, moves: list[Move], values: Mapping[str, Any] | None) -> int:
    """The rows of a few moves, without a temporary table."""
    per_row = any(m.params for m in moves) or any(isinstance(v, BindParameter) for v in (values or {}).values())
    if per_row:
        return _update_each(conn, moves, values)
    return _update_sets(conn, moves, values)


# From this many moves on, the moves are staged and made by one UPDATE ... FROM them, their
# history copied from them by one INSERT ... SELECT: a batch step moves thousands of holds, and
# on PostgreSQL a statement per hold cost more than the writes. (SQLite measures about the same
# either way: there the writes themselves cost.) A counter's single move keeps its one UPDATE.
STAGED_FROM = 64


def _move_staged(
    conn: Connection, moves: list[Move], row_moved_on: Collection[int], values: Mapping[str, Any] | None,
    conflict: str | None, *, at: dt.datetime, run_id: int | None, actor: str,
) -> int:
    """The moves staged, one row per move, in the moves' order (their history's order): on SQLite in
    a temporary table, on PostgreSQL as arrays bound to its two statements (_unnested).
    A move whose row moves on later is staged with no expected status, so the update leaves its row."""
    h, hh = schema.holds, schema.hold_history
    values = dict(values or {})
    per_row = {column: value.key for column, value in values.items() if isinstance(value, BindParameter)}
    staged = _staging_table(tuple(per_row.items()))
    rows = [(n, m.hold_id, str(m.was), str(m.now), None if m.hold_id in row_moved_on else m.expected, m.note,
             *(m.params[key] for key in per_row.values()))
            for n, m in enumerate(moves)]
    arrays = conn.dialect.name == "postgresql"
    if arrays:
        s = _unnested(staged).c
        params = db.unnested_rows("lc_moves", [c.name for c in staged.c], rows)
    else:
        s, params = staged.c, {}
        _stage(conn, staged)
        db.insert_rows(conn, staged, [c.name for c in staged.c], rows)
    # OR FAIL on SQLite: a constraint broken halfway stops the statement without undoing its
    # earlier rows (the caller's transaction, rolled back, undoes them all), so SQLite keeps no
    # statement journal, the original of every page the statement changes, held in memory
    # (temp_store = MEMORY): 39 MB for a city's 7,456 expired holds, ten times that for a
    # prefecture, the night's peak. An update that sets a foreign key (a copy) keeps its journal.
    update = (
        h.update()
        .prefix_with("OR FAIL", dialect="sqlite")
        .where(h.c.id == s.hold_id, h.c.status == s.expected)
        .values(status=s.now, **{column: s[f"v_{key}"] for column, key in per_row.items()},
                **{column: value for column, value in values.items() if column not in per_row})
    )
    count = conn.execute(update, params).rowcount
    if conflict is not None and count != sum(m.hold_id not in row_moved_on for m in moves):
        if not arrays:
            _unstage(conn, staged)
        raise Conflict(conflict)
    history = select(s.hold_id, literal(at, hh.c.at.type), s.was, s.now, literal(run_id, hh.c.run_id.type),
                     literal(actor, hh.c.actor.type), s.note).order_by(s.seq)
    conn.execute(hh.insert().from_select(
        ["hold_id", "at", "from_status", "to_status", "run_id", "actor", "note"], history), params)
    if not arrays:
        _unstage(conn, staged)
    # Most of a step's moves are not journaled (an allocation, a gate): they are not made Transitions.
    journaled = [m.transition for m in moves if hold_event(m.was, m.now)]
    record_hold_transitions(conn, journaled, at=at, actor=actor, run_id=run_id)
    return count


@functools.lru_cache(maxsize=32)
def _unnested(staged: Table):
    """PostgreSQL: the staged moves as arrays bound to the statements (db.unnested, as lc_moves), not a
    temporary table: each batch in a table cost three statements more than its UPDATE and history
    (create if not exists, COPY, TRUNCATE; the city's allocate sends 22 batches), and the planner,
    knowing nothing of a fresh table's rows, joined the city's 7,456 expired holds by reading the
    whole primary key of holds (200,000 entries) in order."""
    return db.unnested("lc_moves", [(c.name, c.type) for c in staged.c])


def _stage(conn: Connection, staged: Table) -> None:
    """SQLite: the staging table, empty: made by the first batch and emptied after each (_unstage).
    It lasts the connection: a CREATE and a DROP per batch would change the schema, and SQLite
    would prepare again each statement it had cached."""
    conn.exec_driver_sql(_create_statement(conn.dialect, staged))


@functools.lru_cache(maxsize=32)
def _create_statement(dialect: Dialect, staged: Table) -> str:
    return str(CreateTable(staged, if_not_exists=True).compile(dialect=dialect))


def _unstage(conn: Connection, staged: Table) -> None:
    """SQLite: the staging table emptied for the next batch (a DELETE of every row, its truncation)."""
    conn.exec_driver_sql(f"DELETE FROM {staged.name}")


@functools.lru_cache(maxsize=32)
def _staging_table(per_row: tuple[tuple[str, str], ...]) -> Table:
    """The staged moves' columns, for these per-row values ((column, key) pairs): on SQLite a temporary
    table, on PostgreSQL the arrays of _unnested. One definition per shape, so its statements and
    converters are built once, not per call. As the table outlasts a batch (_stage), each shape has its own name."""
    h = schema.holds
    name = "_".join(["lc_moves", *(key for _, key in per_row)])
    return Table(
        name, MetaData(),
        Column("seq", Integer, primary_key=True, autoincrement=False),
        Column("hold_id", Integer, nullable=False),
        Column("was", String(16), nullable=False),
        Column("now", String(16), nullable=False),
        Column("expected", String(16)),  # the row's status now (Move.expected); NULL: not written here
        Column("note", Text),
        # A per-row value has the type of the column it is written to (dates, instants).
        *(Column(f"v_{key}", h.c[column].type) for column, key in per_row),
        prefixes=["TEMPORARY"],
    )


def _update_each(conn: Connection, moves: list[Move], values: Mapping[str, Any] | None) -> int:
    """One UPDATE executed for each move, with its own bound values (an executemany)."""
    h = schema.holds
    stmt = (
        h.update()
        .where(h.c.id == bindparam("lc_hold"), h.c.status == bindparam("lc_expected"))
        .values(status=bindparam("lc_now"), **(values or {}))
    )
    params = [{"lc_hold": m.hold_id, "lc_expected": m.expected, "lc_now": str(m.now), **m.params} for m in moves]
    return conn.execute(stmt, params).rowcount


def _update_sets(conn: Connection, moves: list[Move], values: Mapping[str, Any] | None) -> int:
    """Moves that set the same values: one UPDATE ... WHERE id IN (...) per (expected, now) and chunk of ids."""
    h = schema.holds
    groups: dict[tuple[str, str], list[int]] = {}
    for m in moves:
        groups.setdefault((m.expected, str(m.now)), []).append(m.hold_id)
    count = 0
    for (was, now), ids in groups.items():
        for chunk in db.chunks(sorted(ids)):
            stmt = h.update().where(db.one_of(conn, h.c.id, chunk), h.c.status == was).values(status=now, **(values or {}))
            count += conn.execute(stmt).rowcount
    return count


# hold_history's columns in the order _log builds its rows.
_HISTORY_COLUMNS = ("hold_id", "at", "from_status", "to_status", "run_id", "actor", "note")


def _log(conn: Connection, transitions: list[Transition], *, at: dt.datetime, run_id: int | None, actor: str) -> None:
    """One hold_history row per transition, and the journal entries of those the ILS hears of."""
    if not transitions:
        return
    db.insert_rows(conn, schema.hold_history, _HISTORY_COLUMNS,
                   [(t.hold_id, at, t.from_status, t.to_status, run_id, actor, t.note) for t in transitions])
    record_hold_transitions(conn, transitions, at=at, actor=actor, run_id=run_id)
