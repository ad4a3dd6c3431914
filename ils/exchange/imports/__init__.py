"""Importing the library's data from CSV files: every row checked, a bad file refused whole, every attempt recorded."""

from __future__ import annotations

import datetime as dt
import gc
import json
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from sqlalchemy.engine import Connection

from ils.errors import IlsError, ImportFailed
from ils.exchange.imports import bulk
from ils.exchange.imports.deletions import DELETIONS, NOT_DELETABLE
from ils.exchange.imports.kinds import KINDS, Columns, ImportContext, Kind, RowProblem
from ils.exchange.imports.reader import UnreadableFile, open_csv
from ils.infra import schema
from ils.infra.db import write_transaction
from ils.infra.i18n import _
from ils.library.policy import Policy

CHUNK_ROWS = 2000
ALL_KINDS: dict[str, Kind] = {**KINDS, **DELETIONS}
MAX_RECORDED_PROBLEMS = 1000


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        return f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


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
    try:
        with write_transaction(conn), _collector_paused():
            for kind_name, path in files:
                ctx.state.clear()
                kind = ALL_KINDS[kind_name]
                with bulk.indexes_built_after(conn, kind.indexed_table, kind.indexes_built_after):
                    results.append(_load(ctx, kind, Path(path), encoding))
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


def _load(ctx: ImportContext, kind: Kind, path: Path, encoding: str) -> FileResult:
    result = FileResult(kind=kind.name, path=path)
    ctx.state["source"] = path
    try:
        source = open_csv(path, encoding, keyed=False)
    except FileNotFoundError:
        result.problems.append(Problem(path, 0, None, _("file does not exist")))
        return result
    except UnreadableFile as exc:
        result.problems.append(Problem(path, exc.line, None, str(exc)))
        return result
    result.encoding = source.encoding
    if not _header_ok(kind, source.columns, result):
        return result
    plan = _plan(kind, source.columns)
    seen_keys: dict[str, int] = {}
    chunk: list[tuple[int, dict]] | Columns = []
    batch: list = []
    try:
        while True:
            # A batch fills the chunk up to CHUNK_ROWS if all its rows are good: the chunks,
            # and so the order of the problems, are those of a parse row by row. The batch is
            # taken from the reader in one go (a file that turns unreadable keeps the rows
            # before, whose problems come first).
            wanted = CHUNK_ROWS - len(chunk)
            batch.extend(islice(source.rows, wanted))
            result.rows_read += len(batch)
            if len(batch) < wanted:
                break
            chunk = _joined(chunk, _parse_batch(kind, plan, batch, result, seen_keys))
            batch = []
            if len(chunk) >= CHUNK_ROWS:
                _flush(ctx, kind, chunk, result)
                chunk = []
                if ctx.progress:
                    ctx.progress(kind.name, result.rows_read)
    except UnreadableFile as exc:
        result.rows_read += len(batch)
        _parse_batch(kind, plan, batch, result, seen_keys)
        result.problems.append(Problem(path, exc.line, None, str(exc)))
        return result
    chunk = _joined(chunk, _parse_batch(kind, plan, batch, result, seen_keys))
    _flush(ctx, kind, chunk, result)
    if ctx.progress:
        ctx.progress(kind.name, result.rows_read)
    for line, problem in kind.finish(ctx):
        result.problems.append(Problem(path, line, problem.column, str(problem)))
    result.conflicts = [f"{path}: {text}" for text in ctx.state.get("conflicts", [])]
    return result


def _header_ok(kind: Kind, columns: list[str], result: FileResult) -> bool:
    known = {c.name for c in kind.columns}
    for name in columns:
        if name not in known:
            result.problems.append(Problem(result.path, 1, name, _("unknown column")))
    for col in kind.columns:
        if col.required and col.name not in columns:
            result.problems.append(Problem(result.path, 1, col.name, _("required column is missing")))
    if len(set(columns)) != len(columns):
        result.problems.append(Problem(result.path, 1, None, _("a column appears twice in the header")))
    return not result.problems


def _plan(kind: Kind, header: list[str]) -> list[tuple[int, str, Callable, bool, object]]:
    """For each of the kind's columns: its position in this file's rows (-1: not in the file), and how to read it."""
    where = {name: i for i, name in enumerate(header)}
    return [(where.get(c.name, -1), c.name, c.parse, c.required, c.default) for c in kind.columns]


def _joined(chunk: list[tuple[int, dict]] | Columns, parsed: list[tuple[int, dict]] | Columns) -> list[tuple[int, dict]] | Columns:
    """The chunk with a batch's rows added: still a batch's columns when the chunk was empty (a
    chunk of good rows is one batch), else rows."""
    if not chunk:
        return parsed
    rows = chunk.rows() if isinstance(chunk, Columns) else chunk
    rows.extend(parsed.rows() if isinstance(parsed, Columns) else parsed)
    return rows


def _parse_batch(kind: Kind, plan, batch: list, result: FileResult, seen_keys: dict) -> list[tuple[int, dict]] | Columns:
    """The batch's good rows, parsed: column by column while every cell is good (most of an
    import's time was spent parsing cell by cell), else row by row, which names each problem."""
    columns = _parse_columns(kind, plan, batch, seen_keys)
    if columns is not None:
        return columns
    parsed = []
    for line, raw in batch:
        values = _parse(kind, plan, line, raw, result, seen_keys)
        if values is not None:
            parsed.append((line, values))
    return parsed


def _parse_columns(kind: Kind, plan, batch: list, seen_keys: dict) -> Columns | None:
    """The batch parsed a column at a time, or None if any row has a problem."""
    if not batch or any(isinstance(raw, dict) for _line, raw in batch):
        return None
    cells = list(zip(*(raw for _line, raw in batch), strict=True))
    names, columns = [], []
    for position, name, parse, required, default in plan:
        column = ([default] * len(batch) if position < 0
                  else _parse_column(list(map(str.strip, cells[position])), parse, required, default))
        if column is None:
            return None
        names.append(name)
        columns.append(column)
    lines = [line for line, _raw in batch]
    if kind.key:
        keys = columns[names.index(kind.key)]
        if len(set(keys)) != len(keys) or not seen_keys.keys().isdisjoint(keys):
            return None
        seen_keys.update(zip(keys, lines, strict=True))
    return Columns(lines, dict(zip(names, columns, strict=True)))


def _parse_column(cells: list[str], parse, required: bool, default) -> list | None:
    """A column's values (blank cells: the default), as `parse` gives them cell by cell; None if a cell is bad."""
    whole = getattr(parse, "column", None) or (lambda values: [parse(v) for v in values])
    blank = "" in cells
    if blank and required:
        return None
    try:
        if not blank:
            return whole(cells)
        parsed = iter(whole([cell for cell in cells if cell]))
    except Exception:  # noqa: BLE001 - row by row, the same cell raises again where it is named
        return None
    return [next(parsed) if cell else default for cell in cells]


def _parse(kind: Kind, plan, line: int, raw, result: FileResult, seen_keys: dict) -> dict | None:
    if isinstance(raw, dict):  # the reader's note of a row of the wrong width
        result.problems.append(Problem(result.path, line, None, raw["__width__"]))
        return None
    values, ok = {}, True
    for position, name, parse, required, default in plan:
        text = raw[position].strip() if position >= 0 else ""
        if not text:
            if required:
                result.problems.append(Problem(result.path, line, name, _("required value is blank")))
                ok = False
            values[name] = default
            continue
        try:
            values[name] = parse(text)
        except ValueError as exc:
            result.problems.append(Problem(result.path, line, name, str(exc)))
            ok = False
    if ok and kind.key:
        key = values[kind.key]
        if key in seen_keys:
            result.problems.append(Problem(result.path, line, kind.key, _("{key!r} is also on line {line}").format(
                key=key, line=seen_keys[key])))
            return None
        seen_keys[key] = line
    return values if ok else None


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
