"""Importing the library's data from CSV files: every row checked, a bad file refused whole, every attempt recorded."""

from __future__ import annotations

import datetime as dt
import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Connection

from ils.errors import IlsError, ImportFailed
from ils.exchange.imports import bulk, parsing
from ils.exchange.imports.deletions import DELETIONS, NOT_DELETABLE
from ils.exchange.imports.kinds import KINDS, Columns, ImportContext, Kind, RowProblem
from ils.exchange.imports.parsing import Event, Problem
from ils.infra import schema
from ils.infra.db import rollback_journal, write_transaction
from ils.infra.i18n import _
from ils.library.policy import Policy

ALL_KINDS: dict[str, Kind] = {**KINDS, **DELETIONS}
MAX_RECORDED_PROBLEMS = 1000


@dataclass
class FileResult:
    kind: str
    path: Path
    encoding: str | None = None
    rows_read: int = 0
    rows_written: int = 0
    problems: list[Problem] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # fields both sides changed (ils/exchange/imports/ownership.py)


class _Refused(Exception):
    """Raised inside the import transaction to roll it back."""


def import_files(
    conn: Connection,
    files: list[tuple[str, Path]],
    policy: Policy,
    now: dt.datetime,
    encoding: str = "auto",
    progress: Callable[[str, int], None] | None = None,
) -> list[FileResult]:
    """Import the files in one transaction: all of them, or none if any row is invalid.

    `progress(kind, rows_read)` is called as the rows go by (the CLI shows it on a terminal).
    """
    ctx = ImportContext(conn=conn, policy=policy, now=now, progress=progress)
    results: list[FileResult] = []
    kinds = [(ALL_KINDS[kind_name], Path(path)) for kind_name, path in files]
    with rollback_journal(conn, _first_load(conn, kinds)):
        try:
            with write_transaction(conn), _collector_paused(), parsing.parsed_files(kinds, encoding) as parsed:
                for kind, path in kinds:
                    ctx.state.clear()
                    with bulk.indexes_built_after(conn, kind.indexed_table, kind.indexes_built_after):
                        results.append(_load(ctx, kind, path, parsed))
                        for statement in ctx.state.get("bulk", {}).values():
                            statement.drop()
                        if results[-1].problems:
                            # Later files refer to this one's rows; checking them would only
                            # repeat its problems as missing references.
                            raise _Refused
        except _Refused:
            pass
        refused = any(r.problems for r in results)
        _record(conn, results, now, refused)
    if refused:
        bad = results[-1]
        unchecked = len(files) - len(results)
        raise ImportFailed(
            bad.path, bad.problems, bad.rows_read,
            note=_("; {count} later file(s) not checked").format(count=unchecked) if unchecked else "",
        )
    return results


def _first_load(conn: Connection, kinds: list[tuple[Kind, Path]]) -> bool:
    """Whether every table these files write is empty: a new library's first load, whose one
    transaction writes the whole database (db.rollback_journal says why that matters)."""
    tables = {table for kind, _path in kinds if (table := kind.indexed_table) is not None}
    return bool(tables) and all(bulk.empty(conn, table) for table in tables)


@contextmanager
def _collector_paused():
    """The cyclic garbage collector off while the rows go by: an import makes millions of
    short-lived tuples and dicts and no cycles, and each collection walks all of them (8% of
    the city's import)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def files_in(directory: Path) -> list[tuple[str, Path]]:
    """The import files present in a directory: the rows in dependency order, then the deletions
    (an incremental export's `<kind>.deleted.csv`) in the reverse order."""
    for name in NOT_DELETABLE:
        if (directory / f"{name}.deleted.csv").exists():
            raise IlsError(_("{path}.deleted.csv: {name} cannot be deleted by an import (docs/import-formats.md, "
                             '"Incremental exports")').format(path=directory / name, name=name))
    found = [(name, directory / kind.filename) for name, kind in ALL_KINDS.items()]
    found = [(name, path) for name, path in found if path.exists()]
    if not found:
        names = ", ".join(kind.filename for kind in KINDS.values())
        raise IlsError(_("{directory} holds none of the import files ({names}, or their <kind>.deleted.csv)").format(directory=directory, names=names))
    return found


def _load(ctx: ImportContext, kind: Kind, path: Path, parsed: Iterator[Event]) -> FileResult:
    """Write one file's parsed rows, a chunk at a time, and name its problems in line order;
    `parsed` gives exactly this file's events (parsing.events), then the next file's."""
    result = FileResult(kind=kind.name, path=path)
    ctx.state["source"] = path
    opened = next(parsed)
    assert isinstance(opened, parsing.Opened)  # a file's events start with it, then its batches
    result.encoding = opened.encoding
    result.problems.extend(opened.problems)
    if opened.problems:
        return result
    table = kind.indexed_table
    window = kind.first_load_window if kind.first_load_window and table is not None and bulk.empty(ctx.conn, table) else 0
    chunk: list[tuple[int, dict]] | Columns = []
    for batch in parsed:
        assert isinstance(batch, parsing.Batch)
        result.rows_read = batch.rows_read
        if window and chunk and (batch.problems or batch.unreadable is not None):
            # The window's chunks are written (or their problems named) before this batch's
            # problems, as they would have been a chunk at a time: the problems stay in that order.
            _flush(ctx, kind, chunk, result)
            chunk = []
        result.problems.extend(batch.problems)
        if batch.unreadable is not None:
            result.problems.append(batch.unreadable)
            return result
        chunk = _joined(chunk, batch.parsed)
        if batch.complete:
            gathering = window and isinstance(chunk, Columns) and len(chunk) < window and not batch.last
            if not gathering:
                _flush(ctx, kind, chunk, result)
                chunk = []
            if ctx.progress:
                ctx.progress(kind.name, result.rows_read)
        if batch.last:
            break
    for line, problem in kind.finish(ctx):
        result.problems.append(Problem(path, line, problem.column, str(problem)))
    result.conflicts = [f"{path}: {text}" for text in ctx.state.get("conflicts", [])]
    return result


def _joined(chunk: list[tuple[int, dict]] | Columns, parsed: list[tuple[int, dict]] | Columns) -> list[tuple[int, dict]] | Columns:
    """The chunk with a batch's rows added: still columns when the chunk was empty (a chunk of
    good rows is one batch) or both are columns (a first load's window, Kind.first_load_window),
    else rows."""
    if not chunk:
        return parsed
    if not parsed:
        # The last batch of a file whose rows fill its chunks: no rows (a list), which would
        # turn a window of columns into rows and send it down the row path.
        return chunk
    if isinstance(chunk, Columns) and isinstance(parsed, Columns):
        chunk.lines.extend(parsed.lines)
        for name, values in chunk.values.items():
            values.extend(parsed.values[name])
        return chunk
    rows = chunk.rows() if isinstance(chunk, Columns) else chunk
    rows.extend(parsed.rows() if isinstance(parsed, Columns) else parsed)
    return rows


def _flush(ctx: ImportContext, kind: Kind, chunk: list[tuple[int, dict]] | Columns, result: FileResult) -> None:
    if not chunk:
        return
    if isinstance(chunk, Columns):
        # A kind that can check and write a chunk a column at a time does so when every row of
        # it is good; if any is not, it wrote nothing and the rows go one by one to name it.
        if not result.problems and kind.write_columns(ctx, chunk):
            result.rows_written += len(chunk)
            return
        chunk = chunk.rows()
    good, lines = [], []
    for (line, _values), record in zip(chunk, kind.resolve(ctx, chunk), strict=True):
        if record is None:
            continue  # nothing to do: a deletion of a row already gone
        if isinstance(record, RowProblem):
            result.problems.append(Problem(result.path, line, record.column, str(record)))
        else:
            good.append(record)
            lines.append(line)
    if not result.problems and good:
        kind.write(ctx, good, lines)
        result.rows_written += len(good)


def _record(conn: Connection, results: list[FileResult], now: dt.datetime, refused: bool) -> None:
    for r in results:
        record_attempt(
            conn,
            r.kind,
            r.path,
            now,
            encoding=r.encoding,
            rows_read=r.rows_read,
            rows_written=0 if refused else r.rows_written,
            problems=[str(p) for p in r.problems],
            refused=refused,
        )


def record_attempt(
    conn: Connection,
    kind: str,
    path: Path,
    now: dt.datetime,
    *,
    rows_read: int,
    rows_written: int,
    problems: list[str] | None = None,
    encoding: str | None = None,
    refused: bool | None = None,
) -> None:
    """Write one import attempt, accepted or refused, to import_runs."""
    refused = bool(problems) if refused is None else refused
    row = {
        "at": now,
        "kind": kind,
        "source": str(path),
        "encoding": encoding,
        "rows_read": rows_read,
        "rows_written": rows_written,
        "status": "refused" if refused else "imported",
        "problems": json.dumps(problems[:MAX_RECORDED_PROBLEMS], ensure_ascii=False) if problems else None,
    }
    with write_transaction(conn):
        conn.execute(schema.import_runs.insert(), [row])
