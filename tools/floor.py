"""The honest floor of a night: its own writes, found by diffing the night's database against the one it started from, replayed as plain batched statements.

The night turns database B (before) into N (after). The floor is the least a program
could do to get the same result on the same engine: the rows that differ between B and
N, written into a fresh copy of B — same tables, same indexes, same settings — with
executemany DELETE / UPDATE by primary key / INSERT, and the report files written again
(same bytes, same names). Nothing is computed, nothing is read but the diff.

Grouping: the replay commits once per table (inserts and updates in foreign-key order,
then deletes in reverse order), about as many transactions as the night's steps; the
rows' own step is not recorded in every table (holds, loans, patrons), so the replay
does not pretend to split them by step.

A replay that does not end with tables equal to the night's (the same canonical diff,
run again between the replay and N) is a broken floor, and FloorMismatch stops the
benchmark.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Table
from sqlalchemy.engine import Engine

from ils.infra import schema

BATCH = 5_000  # rows per fetch while diffing


class FloorMismatch(RuntimeError):
    """The replay's tables differ from the night's: the floor measured something else."""


@dataclass
class TableDiff:
    """What the night did to one table: whole rows inserted or updated, keys deleted."""

    table: Table
    inserted: list[tuple] = field(default_factory=list)
    updated: list[tuple] = field(default_factory=list)
    deleted: list[tuple] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.inserted) + len(self.updated) + len(self.deleted)


@dataclass
class Floor:
    seconds: float  # the database's part plus the files'
    database_seconds: float
    files_seconds: float
    rows: int  # rows inserted, updated or deleted
    files: int
    file_bytes: int
    by_table: dict[str, int]


def _is_text(column) -> bool:
    try:
        return column.type.python_type is str
    except NotImplementedError:
        return False


def _key_width(table: Table) -> int:
    return len(table.primary_key.columns)


def _ordered(table: Table) -> list:
    """Columns with the primary key first, so a row's key is its first columns."""
    key = list(table.primary_key.columns)
    return key + [c for c in table.columns if c not in key]


def _rows(engine: Engine, table: Table) -> Iterator[tuple]:
    """Every row of `table`, key first, in key order as Python compares the keys (PostgreSQL
    sorts text keys by its locale unless told the byte order, "C")."""
    columns = _ordered(table)
    text_collate = ' COLLATE "C"' if engine.dialect.name == "postgresql" else ""
    order = ", ".join(
        f'"{c.name}"' + (text_collate if _is_text(c) else "") for c in table.primary_key.columns
    )
    sql = f'SELECT {", ".join(chr(34) + c.name + chr(34) for c in columns)} FROM "{table.name}" ORDER BY {order}'
    raw = engine.raw_connection()
    if engine.dialect.name == "sqlite":
        raw.driver_connection.text_factory = _text  # type: ignore[union-attr]
    try:
        cursor = raw.cursor()
        cursor.execute(sql)
        while batch := cursor.fetchmany(BATCH):
            yield from (tuple(row) for row in batch)
        cursor.close()
        raw.rollback()
    finally:
        raw.close()


def _text(stored: bytes) -> str | bytes:
    """SQLite text as str, or as its bytes where the front end stored bytes that are not UTF-8
    (schema.ForeignText): read as bytes, they are written back and compared as bytes."""
    try:
        return stored.decode()
    except UnicodeDecodeError:
        return stored


def diff_table(before: Engine, after: Engine, table: Table) -> TableDiff:
    """The rows of `after` not in `before` or different there, and the keys gone, by a merge of both in key order."""
    width = _key_width(table)
    found = TableDiff(table)
    old, new = _rows(before, table), _rows(after, table)
    a, b = next(old, None), next(new, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[:width] < b[:width]):
            found.deleted.append(a[:width])  # type: ignore[index]
            a = next(old, None)
        elif a is None or b[:width] < a[:width]:
            found.inserted.append(b)
            b = next(new, None)
        else:
            if a != b:
                found.updated.append(b)
            a, b = next(old, None), next(new, None)
    return found


def diff_database(before: Engine, after: Engine) -> list[TableDiff]:
    """Every table's diff, in foreign-key order, tables the night left alone left out."""
    diffs = (diff_table(before, after, table) for table in schema.metadata.sorted_tables)
    return [d for d in diffs if d.rows]


def _statements(table: Table, mark: str) -> tuple[str, str, str]:
    columns = _ordered(table)
    key = columns[: _key_width(table)]
    rest = columns[len(key):] or key  # a table that is all key updates nothing; its UPDATE is a no-op
    name = f'"{table.name}"'
    where = " AND ".join(f'"{c.name}" = {mark}' for c in key)
    insert = f'INSERT INTO {name} ({", ".join(chr(34) + c.name + chr(34) for c in columns)}) ' \
             f'VALUES ({", ".join(mark for _ in columns)})'
    update = f'UPDATE {name} SET {", ".join(chr(34) + c.name + chr(34) + " = " + mark for c in rest)} WHERE {where}'
    delete = f"DELETE FROM {name} WHERE {where}"
    return insert, update, delete


def _update_order(d: TableDiff) -> list[tuple]:
    """The updated rows in an order the unique indexes allow. A copy serves one active hold
    (uq_holds_active_copy), checked at each row: the night let a hold's copy go before
    another hold took it, so the replay updates the holds that leave the copy-holding
    statuses first."""
    if d.table is not schema.holds:
        return d.updated
    status = [c.name for c in _ordered(d.table)].index("status")
    return sorted(d.updated, key=lambda row: row[status] in schema.HOLDS_WITH_COPY)


def replay(engine: Engine, diffs: list[TableDiff]) -> float:
    """Write the diffs into `engine`'s database; the seconds it took (statements and commits only)."""
    sqlite = engine.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    raw = engine.raw_connection()

    def begin():
        # ils.infra.db runs SQLite's driver in autocommit and says BEGIN itself, as the night does;
        # psycopg begins on the first statement.
        cursor = raw.cursor()
        if sqlite:
            cursor.execute("BEGIN")
        return cursor

    try:
        started = time.perf_counter()
        for d in diffs:  # parents before children
            insert, update, _ = _statements(d.table, mark)
            width = _key_width(d.table)
            cursor = begin()
            if d.updated and len(d.table.columns) > width:
                cursor.executemany(update, [row[width:] + row[:width] for row in _update_order(d)])
            if d.inserted:
                cursor.executemany(insert, d.inserted)
            raw.commit()
        for d in reversed(diffs):  # children before parents
            if d.deleted:
                begin().executemany(_statements(d.table, mark)[2], d.deleted)
                raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def night_files(folder: Path, since: float) -> dict[Path, bytes]:
    """The files under `folder` the night wrote (modified at or after `since`, a time.time()), by relative name."""
    if not folder.is_dir():
        return {}
    return {path.relative_to(folder): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file() and path.stat().st_mtime >= since}


def write_files(folder: Path, files: dict[Path, bytes]) -> float:
    """Seconds to write the same bytes under the same names into a fresh `folder` (folders made as needed)."""
    started = time.perf_counter()
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return time.perf_counter() - started


def measure(base: Engine, night: Engine, replica: Engine, files: dict[Path, bytes], scratch: Path) -> Floor:
    """The floor: the night's diff replayed into `replica` (a fresh copy of `base`), checked equal to `night`,
    and the night's files written again under `scratch`."""
    diffs = diff_database(base, night)
    database_seconds = replay(replica, diffs)
    left = diff_database(replica, night)
    if left:
        raise FloorMismatch("the replay of the night's writes does not give the night's tables: "
                            + ", ".join(f"{d.table.name} differs in {d.rows} rows" for d in left))
    files_seconds = write_files(scratch, files)
    return Floor(
        seconds=database_seconds + files_seconds, database_seconds=database_seconds, files_seconds=files_seconds,
        rows=sum(d.rows for d in diffs), files=len(files), file_bytes=sum(map(len, files.values())),
        by_table={d.table.name: d.rows for d in diffs},
    )
