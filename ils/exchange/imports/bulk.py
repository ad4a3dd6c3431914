"""Many rows through one statement compiled once: values converted by their columns' own types, the batch handed to the driver whole."""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, and_, bindparam, or_
from sqlalchemy.engine import Connection

from ils.infra import db

LOOKUP_CHUNK = 2000


class Bulk:
    """One statement for one connection's engine; `run(rows)` writes a batch of dicts in one executemany.

    SQLAlchemy builds its parameters row by row (most of an import's time on a million rows);
    here the statement is compiled once and each row becomes a plain tuple, converted by the
    same bind processors SQLAlchemy would use (an instant to UTC, a date as SQLite stores it).
    """

    def __init__(self, conn: Connection, statement):
        compiled = statement.compile(dialect=conn.dialect)
        processors = compiled._bind_processors  # the types' converters, as SQLAlchemy applies them
        names = list(compiled.positiontup or []) if compiled.positional else list(compiled.binds)
        self._conn = conn
        self._sql = compiled.string
        self._positional = compiled.positional
        self._names = names
        self._values = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
        self._convert = [(i, processors[n]) for i, n in enumerate(names) if processors.get(n) is not None]

    def run(self, rows: Sequence[dict]) -> None:
        if not rows:
            return
        values, convert = self._values, self._convert
        params: list = [values(row) for row in rows]
        if convert:
            params = [_converted(list(p), convert) for p in params]
        if not self._positional:
            params = [dict(zip(self._names, p, strict=True)) for p in params]
        self._conn.exec_driver_sql(self._sql, params)


def _converted(values: list, convert) -> tuple:
    for i, processor in convert:
        values[i] = processor(values[i])
    return tuple(values)


def _insert(conn: Connection, table: Table) -> Any:
    """The engine's own INSERT, which knows ON CONFLICT."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def _binds(table: Table, columns: Sequence[str]) -> dict:
    return {name: bindparam(name, type_=table.c[name].type) for name in columns}


def upsert(conn: Connection, table: Table, columns: Sequence[str], key: Sequence[str]) -> Bulk | Staged:
    """Insert rows, or update the row with the same key where a value differs: an unchanged row
    is not rewritten (no index or page is touched), which is what makes a nightly re-import cheap."""
    changing = [name for name in columns if name not in key]
    if conn.dialect.name == "postgresql":
        conflict = f"ON CONFLICT ({', '.join(key)}) DO NOTHING"
        if changing:
            conflict = (f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
                        f"{', '.join(f'{c} = EXCLUDED.{c}' for c in changing)} WHERE "
                        f"{' OR '.join(f'{table.name}.{c} IS DISTINCT FROM EXCLUDED.{c}' for c in changing)}")
        return Staged(conn, table, columns, lambda stage: (
            f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {stage} "
            f"ORDER BY _n {conflict}"))
    stmt = _insert(conn, table).values(_binds(table, columns))
    if not changing:
        return Bulk(conn, stmt.on_conflict_do_nothing(index_elements=list(key)))
    differs = or_(*(table.c[name].is_distinct_from(stmt.excluded[name]) for name in changing))
    return Bulk(conn, stmt.on_conflict_do_update(
        index_elements=list(key), set_={name: stmt.excluded[name] for name in changing}, where=differs,
    ))


def insert(conn: Connection, table: Table, columns: Sequence[str]) -> Bulk | Staged:
    if conn.dialect.name == "postgresql":
        return Staged(conn, table, columns, lambda stage: (
            f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {stage} ORDER BY _n"))
    return Bulk(conn, table.insert().values(_binds(table, columns)))


def update(conn: Connection, table: Table, columns: Sequence[str], key: str = "id",
           only_changed: bool = False) -> Bulk | Staged:
    """Update by key; the row's key value is bound as `_<key>`, the new values by their column names.
    With `only_changed`, a row whose values are already these is not rewritten."""
    if conn.dialect.name == "postgresql":
        changed = f" AND ({' OR '.join(f'{table.name}.{c} IS DISTINCT FROM s.{c}' for c in columns)})"
        return Staged(conn, table, [*columns, f"_{key}"], lambda stage: (
            f"UPDATE {table.name} SET {', '.join(f'{c} = s.{c}' for c in columns)} FROM {stage} s "
            f"WHERE {table.name}.{key} = s._{key}{changed if only_changed else ''}"), key_type=table.c[key])
    binds = _binds(table, columns)
    where = table.c[key] == bindparam(f"_{key}", type_=table.c[key].type)
    if only_changed:
        where = and_(where, or_(*(table.c[name].is_distinct_from(binds[name]) for name in columns)))
    return Bulk(conn, table.update().where(where).values(binds))


class Staged:
    """PostgreSQL: a batch COPYed into a temporary table, then merged into `table` by one statement
    (a statement per row, even in a pipeline, waits on the server for each)."""

    def __init__(self, conn: Connection, table: Table, columns: Sequence[str], merge, key_type=None):
        self._conn = conn
        self._stage = f"import_stage_{table.name}_{len(columns)}"
        kinds = {c: (table.c[c] if c in table.c else key_type).type.compile(dialect=conn.dialect) for c in columns}
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self._stage}")
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {self._stage} (_n integer, {', '.join(f'{c} {kinds[c]}' for c in columns)}) "
            "ON COMMIT DROP"
        )
        self._merge = merge(self._stage)
        self._columns = list(columns)
        self._converters = [None, *db.bind_converters(conn, table, columns)]  # `_n` first

    def run(self, rows: Sequence[dict]) -> None:
        if not rows:
            return
        self._conn.exec_driver_sql(f"TRUNCATE {self._stage}")
        db.copy_rows(self._conn, self._stage, ["_n", *self._columns], self._converters,
                     ((n, *(row[c] for c in self._columns)) for n, row in enumerate(rows)))
        self._conn.exec_driver_sql(self._merge)


def lookup(conn: Connection, table: Table, key_column: str, keys: set) -> dict:
    """Natural key → id for the keys the table holds, in one plain query per chunk of keys."""
    return {row[0]: row[1] for row in find(conn, table, key_column, keys, ("id",))}


def find(conn: Connection, table: Table, key_column: str, keys: set, columns: Sequence[str]) -> list:
    """The rows (key first, then `columns`, by name too) whose key is one of `keys`: plain
    queries, no per-row result processing (keys, ids and codes need none)."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    selected = ", ".join((key_column, *columns))
    found: list = []
    ordered = sorted(keys)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = tuple(ordered[start : start + LOOKUP_CHUNK])
        sql = f"SELECT {selected} FROM {table.name} WHERE {key_column} IN ({', '.join([mark] * len(chunk))})"
        found.extend(conn.exec_driver_sql(sql, chunk).fetchall())
    return found


Writer = Bulk | Staged
