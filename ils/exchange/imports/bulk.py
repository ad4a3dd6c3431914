"""Many rows through one statement compiled once: values converted by their columns' own types, the batch handed to the driver whole."""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, and_, bindparam, or_
from sqlalchemy.engine import Connection

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


def upsert(conn: Connection, table: Table, columns: Sequence[str], key: Sequence[str]) -> Bulk:
    """Insert rows, or update the row with the same key where a value differs: an unchanged row
    is not rewritten (no index or page is touched), which is what makes a nightly re-import cheap."""
    stmt = _insert(conn, table).values(_binds(table, columns))
    changing = [name for name in columns if name not in key]
    if not changing:
        return Bulk(conn, stmt.on_conflict_do_nothing(index_elements=list(key)))
    differs = or_(*(table.c[name].is_distinct_from(stmt.excluded[name]) for name in changing))
    return Bulk(conn, stmt.on_conflict_do_update(
        index_elements=list(key), set_={name: stmt.excluded[name] for name in changing}, where=differs,
    ))


def insert(conn: Connection, table: Table, columns: Sequence[str]) -> Bulk:
    return Bulk(conn, table.insert().values(_binds(table, columns)))


def update(conn: Connection, table: Table, columns: Sequence[str], key: str = "id", only_changed: bool = False) -> Bulk:
    """Update by key; the row's key value is bound as `_<key>`, the new values by their column names.
    With `only_changed`, a row whose values are already these is not rewritten."""
    binds = _binds(table, columns)
    where = table.c[key] == bindparam(f"_{key}", type_=table.c[key].type)
    if only_changed:
        where = and_(where, or_(*(table.c[name].is_distinct_from(binds[name]) for name in columns)))
    return Bulk(conn, table.update().where(where).values(binds))


def lookup(conn: Connection, table: Table, key_column: str, keys: set) -> dict:
    """Natural key → id for the keys the table holds, in one plain query per chunk of keys."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    found: dict = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = tuple(ordered[start : start + LOOKUP_CHUNK])
        sql = f"SELECT {key_column}, id FROM {table.name} WHERE {key_column} IN ({', '.join([mark] * len(chunk))})"
        found.update(conn.exec_driver_sql(sql, chunk).fetchall())
    return found
