"""Many rows through one statement: a batch bound as one VALUES list (SQLite) or COPYed into a temporary table (PostgreSQL), merged into its table by one INSERT or UPDATE ... FROM."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain

from sqlalchemy import Table
from sqlalchemy.engine import Connection

from ils.infra import db

LOOKUP_CHUNK = 2000


def upsert(conn: Connection, table: Table, columns: Sequence[str], key: Sequence[str]) -> Staged:
    """Insert rows, or update the row with the same key where a value differs: an unchanged row
    is not rewritten (no index or page is touched), which is what makes a nightly re-import cheap."""
    changing = [name for name in columns if name not in key]
    differs = _differs(conn)
    conflict = f"ON CONFLICT ({', '.join(key)}) DO NOTHING"
    if changing:
        conflict = (f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
                    f"{', '.join(f'{c} = excluded.{c}' for c in changing)} WHERE "
                    f"{' OR '.join(f'{table.name}.{c} {differs} excluded.{c}' for c in changing)}")
    # The stage's SELECT has a WHERE so that `ON CONFLICT` after it is never read as a join's (SQLite's parser).
    return Staged(conn, table, columns, lambda stage: (
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {stage} "
        f"WHERE true ORDER BY _n {conflict}"),
        listed=lambda rows: f"INSERT INTO {table.name} ({', '.join(columns)}) {rows} {conflict}")


def insert(conn: Connection, table: Table, columns: Sequence[str]) -> Staged:
    return Staged(conn, table, columns, lambda stage: (
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {stage} ORDER BY _n"),
        listed=lambda rows: f"INSERT INTO {table.name} ({', '.join(columns)}) {rows}")


def update(conn: Connection, table: Table, columns: Sequence[str], key: str = "id",
           only_changed: bool = False) -> Staged:
    """Update by key; the row's key value is given as `_<key>`, the new values by their column names.
    With `only_changed`, a row whose values are already these is not rewritten."""
    differs = _differs(conn)
    changed = f" AND ({' OR '.join(f'{table.name}.{c} {differs} s.{c}' for c in columns)})"

    def merge(stage: str) -> str:
        return (f"UPDATE {table.name} SET {', '.join(f'{c} = s.{c}' for c in columns)} FROM {stage} s "
                f"WHERE {table.name}.{key} = s._{key}{changed if only_changed else ''}")

    return Staged(conn, table, [*columns, f"_{key}"], merge, key_type=table.c[key],
                  listed=lambda rows: f"WITH listed ({', '.join([*columns, f'_{key}'])}) AS ({rows}) {merge('listed')}")


def _differs(conn: Connection) -> str:
    return "IS DISTINCT FROM" if conn.dialect.name == "postgresql" else "IS NOT"


class Staged:
    """A batch merged into `table` by one statement.

    PostgreSQL: a statement per row, even in a pipeline, waits on the server for each; the batch
    is COPYed into a temporary table and merged from there. SQLite: a statement per row
    re-evaluates the table's CHECK constraints from scratch each time (an `IN (...)` list is
    built anew per execution: most of an insert's cost on titles and copies); one statement
    builds them once. There the batch is bound as one statement's `VALUES (...), (...)` list
    (`listed`), in file order, not written into a temporary table first and read back (a fifth
    of what a first load's rows cost). Each value reaches the table exactly as a bound
    parameter of a row's own statement would.
    """

    def __init__(self, conn: Connection, table: Table, columns: Sequence[str], merge, key_type=None, *, listed):
        self._conn = conn
        self._postgresql = conn.dialect.name == "postgresql"
        self._stage = f"import_stage_{table.name}_{len(columns)}"
        if self._postgresql:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self._stage}")
            kinds = {c: (table.c[c] if c in table.c else key_type).type.compile(dialect=conn.dialect) for c in columns}
            conn.exec_driver_sql(
                f"CREATE TEMPORARY TABLE {self._stage} (_n integer, {', '.join(f'{c} {kinds[c]}' for c in columns)}) "
                "ON COMMIT DROP"
            )
            self._merge = merge(self._stage)
        else:
            self._listed = listed
            self._rows_per_statement = max(1, bound_values_limit(conn) // len(columns))
        self._columns = list(columns)
        converters = db.bind_converters(conn, table, columns)
        if key_type is not None and not self._postgresql:  # `_<key>`: converted as the key column is
            converters[-1] = db.bind_converters(conn, table, [key_type.name])[0]
        self._converters = [None, *converters]  # `_n` first

    def run(self, rows: Sequence[dict]) -> None:
        if rows:
            self.run_columns([[row[name] for row in rows] for name in self._columns])

    def run_columns(self, columns: Sequence[Sequence]) -> None:
        """The rows given a column at a time, in the stage's order of columns (a row's dict is
        never needed: the columnar import path hands its parsed columns straight here)."""
        if not columns or not columns[0]:
            return
        numbers = range(len(columns[0]))
        if self._postgresql:
            self._conn.exec_driver_sql(f"TRUNCATE {self._stage}")
            db.copy_rows(self._conn, self._stage, ["_n", *self._columns], self._converters,
                         zip(numbers, *columns, strict=True))
            self._conn.exec_driver_sql(self._merge)
        else:
            self._run_listed(columns)

    def _run_listed(self, columns: Sequence[Sequence]) -> None:
        # A column at a time: each converter mapped over its column, no call per row.
        values = [column if convert is None else list(map(convert, column))
                  for column, convert in zip(columns, self._converters[1:], strict=True)]
        row = f"({', '.join('?' * len(columns))})"
        step = self._rows_per_statement
        for start in range(0, len(values[0]), step):
            piece = [column[start : start + step] for column in values]
            # The values row after row, as the statement's marks read them.
            bound = tuple(chain.from_iterable(zip(*piece, strict=True)))
            self._conn.exec_driver_sql(self._listed(f"VALUES {', '.join([row] * len(piece[0]))}"), bound)

    def drop(self) -> None:
        """The stage is no longer needed (it would otherwise stay until the transaction ends)."""
        if self._postgresql:
            self._conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self._stage}")


def empty(conn: Connection, table: Table) -> bool:
    """Whether the table holds no row (a first load's, as a file begins)."""
    return conn.execute(table.select().limit(1)).first() is None


@contextmanager
def indexes_built_after(conn: Connection, table: Table | None, names: Sequence[str]) -> Iterator[None]:
    """While a file is written into an empty table, these of its indexes are dropped and, once the
    rows are in, built again from their own definition, in the same transaction: building an index
    over 2 million sorted keys costs a fraction of updating it row by row in random order. A
    refused import rolls the drop back with everything else. A table that already holds rows
    (tonight's re-import) keeps its indexes: rebuilding them would cost more than the few rows it
    changes, and readers keep using them meanwhile."""
    if table is None or not names or not empty(conn, table):
        yield
        return
    definitions = [_index_definition(conn, name) for name in names]
    for name in names:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    yield
    with db.sorting_in_files(conn):
        for definition in definitions:
            conn.exec_driver_sql(definition)


def _index_definition(conn: Connection, name: str) -> str:
    """The index's CREATE statement as the database holds it, so it is built again exactly."""
    if conn.dialect.name == "postgresql":
        sql = "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = %s"
    else:
        sql = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?"
    return conn.exec_driver_sql(sql, (name,)).scalar_one()


def bound_values_limit(conn: Connection) -> int:
    """How many values one statement may bind: SQLite's own limit, which is 999 in an SQLite
    before 3.32 (RHEL 8's 3.26, say) and 32,766 from then on; PostgreSQL's 65,535."""
    if conn.dialect.name != "sqlite":
        return 65_535
    return conn.connection.dbapi_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[union-attr]


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
    size = min(LOOKUP_CHUNK, bound_values_limit(conn))
    for start in range(0, len(ordered), size):
        chunk = tuple(ordered[start : start + size])
        sql = f"SELECT {selected} FROM {table.name} WHERE {key_column} IN ({', '.join([mark] * len(chunk))})"
        found.extend(conn.exec_driver_sql(sql, chunk).fetchall())
    return found


Writer = Staged
