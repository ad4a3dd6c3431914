"""Reading and checking an import file's cells, which needs no database: on a large import, in a worker process that runs ahead of the writes."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

from ils.exchange.imports.kinds import Columns, Kind
from ils.exchange.imports.reader import UnreadableFile, open_csv
from ils.infra import forked
from ils.infra.i18n import _

CHUNK_ROWS = 2000
# Files of this many bytes in all are read by a worker process while the rows before are
# written (below it, starting the process costs more than it saves; tests set it to 0).
READ_AHEAD_BYTES = 8 << 20
# Batches the worker may hold ready for the writer, each pickled (0.1-0.3 MB for 2,000 rows):
# enough to read most of the next file while the writer builds the indexes of the last one (the
# city's copies: 2.4-2.7 s, time to parse and pickle all 152 batches of patrons; with 8 batches
# the writer then waited up to 2.9 s for them), and a bound that does not grow with the library
# (at most some 40 MB; the objects themselves take several times that).
BATCHES_AHEAD = 128


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
class Opened:
    """A file's start: its encoding, and the problems that stop it before any row (then nothing follows)."""

    encoding: str | None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Batch:
    """The next rows of a file, parsed: the good ones (a batch's columns, or rows), the problems of
    the others in line order, and whether the chunk is now complete (to be written)."""

    rows_read: int  # in the file so far
    parsed: list | Columns
    problems: list[Problem]
    complete: bool = False
    last: bool = False
    unreadable: Problem | None = None  # the file could not be read past these rows


Event = Opened | Batch


@contextmanager
def parsed_files(files: Sequence[tuple[Kind, Path]], encoding: str) -> Iterator[Iterator[Event]]:
    """The events of every file in order (see `events`): a large import's come from a worker
    process that reads ahead while the caller writes; it is stopped when the caller is done,
    fails or is interrupted, and stops itself if the caller dies."""
    if not _worth_a_worker(files):
        yield chain.from_iterable(events(kind, path, encoding) for kind, path in files)
        return
    # fork: the worker has every module and parser already, and the collector's pause; it
    # touches nothing but the files and the queue (never the database connection).
    mp = multiprocessing.get_context("fork")
    ready = mp.Queue(maxsize=BATCHES_AHEAD)
    worker = mp.Process(target=_read_ahead, args=(files, encoding, ready, os.getpid()), daemon=True,
                        name="ils import: reading ahead")
    worker.start()
    try:
        yield _received(ready, worker)
    finally:
        worker.terminate()
        worker.join(timeout=5)
        if worker.is_alive():
            worker.kill()
            worker.join()
        ready.close()


def _worth_a_worker(files: Sequence[tuple[Kind, Path]]) -> bool:
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    size = 0
    for _kind, path in files:
        try:
            size += Path(path).stat().st_size
        except OSError:
            pass  # a missing file is a problem reported in its turn
    return size >= READ_AHEAD_BYTES


class _Failed:
    """The worker stopped on an unexpected error; its traceback, for the caller to raise."""

    def __init__(self, text: str):
        self.text = text


def _read_ahead(files, encoding, ready, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # and stops us by SIGTERM, whatever the parent does with it
    forked.die_with(parent)  # Linux: killed with the importer, even while parsing rather than waiting on the queue
    try:
        for event in chain.from_iterable(events(kind, path, encoding) for kind, path in files):
            _put(ready, event, parent)
    except Exception:  # noqa: BLE001 - told to the parent, which raises it
        _put(ready, _Failed(traceback.format_exc()), parent)


def _put(ready, event, parent: int) -> None:
    pickled = pickle.dumps(event, pickle.HIGHEST_PROTOCOL)  # as the queue would, but held as bytes while it waits
    while True:
        try:
            ready.put(pickled, timeout=1)
            return
        except queue.Full:
            if os.getppid() != parent:  # the importer died without stopping us (where die_with cannot ask the kernel)
                os._exit(1)


def _received(ready, worker) -> Iterator[Event]:
    while True:
        try:
            event = pickle.loads(ready.get(timeout=1))
        except queue.Empty:
            if not worker.is_alive():
                raise RuntimeError(f"the import's reading process ended unexpectedly (exit code {worker.exitcode})") from None
            continue
        if isinstance(event, _Failed):
            raise RuntimeError(f"reading the import files failed:\n{event.text}")
        yield event


def events(kind: Kind, path: Path, encoding: str) -> Iterator[Event]:
    """A file read and parsed: Opened, then (unless it has problems) its batches up to the last.

    A batch fills the chunk up to CHUNK_ROWS if all its rows are good: the chunks, and so the
    order of the problems, are those of a parse row by row. The batch is taken from the
    reader in one go (a file that turns unreadable keeps the rows before, whose problems
    come first)."""
    try:
        source = open_csv(path, encoding, keyed=False)
    except FileNotFoundError:
        yield Opened(None, [Problem(path, 0, None, _("file does not exist"))])
        return
    except UnreadableFile as exc:
        yield Opened(None, [Problem(path, exc.line, None, str(exc))])
        return
    opened = Opened(source.encoding, _header_problems(kind, source.columns, path))
    yield opened
    if opened.problems:
        return
    plan = _plan(kind, source.columns)
    seen_keys: dict[str, int] = {}
    in_chunk = rows_read = 0
    batch: list = []
    try:
        while True:
            wanted = CHUNK_ROWS - in_chunk
            batch.extend(islice(source.rows, wanted))
            rows_read += len(batch)
            if len(batch) < wanted:
                break
            problems: list[Problem] = []
            parsed = _parse_batch(kind, plan, batch, path, problems, seen_keys)
            in_chunk += len(parsed)
            complete = in_chunk >= CHUNK_ROWS
            in_chunk = 0 if complete else in_chunk
            yield Batch(rows_read, parsed, problems, complete=complete)
            batch = []
    except UnreadableFile as exc:
        rows_read += len(batch)
        problems = []
        _parse_batch(kind, plan, batch, path, problems, seen_keys)
        yield Batch(rows_read, [], problems, unreadable=Problem(path, exc.line, None, str(exc)))
        return
    problems = []
    parsed = _parse_batch(kind, plan, batch, path, problems, seen_keys)
    yield Batch(rows_read, parsed, problems, complete=True, last=True)


def _header_problems(kind: Kind, columns: list[str], path: Path) -> list[Problem]:
    problems = []
    known = {c.name for c in kind.columns}
    for name in columns:
        if name not in known:
            problems.append(Problem(path, 1, name, _("unknown column")))
    for col in kind.columns:
        if col.required and col.name not in columns:
            problems.append(Problem(path, 1, col.name, _("required column is missing")))
    if len(set(columns)) != len(columns):
        problems.append(Problem(path, 1, None, _("a column appears twice in the header")))
    return problems


def _plan(kind: Kind, header: list[str]) -> list[tuple[int, str, Callable, bool, object]]:
    """For each of the kind's columns: its position in this file's rows (-1: not in the file), and how to read it."""
    where = {name: i for i, name in enumerate(header)}
    return [(where.get(c.name, -1), c.name, c.parse, c.required, c.default) for c in kind.columns]


def _parse_batch(kind: Kind, plan, batch: list, path: Path, problems: list, seen_keys: dict) -> list[tuple[int, dict]] | Columns:
    """The batch's good rows, parsed: column by column while every cell is good (most of an
    import's time was spent parsing cell by cell), else row by row, which names each problem."""
    columns = _parse_columns(kind, plan, batch, seen_keys)
    if columns is not None:
        return columns
    parsed = []
    for line, raw in batch:
        values = _parse(kind, plan, line, raw, path, problems, seen_keys)
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


def _parse(kind: Kind, plan, line: int, raw, path: Path, problems: list, seen_keys: dict) -> dict | None:
    if isinstance(raw, dict):  # the reader's note of a row of the wrong width
        problems.append(Problem(path, line, None, raw["__width__"]))
        return None
    values, ok = {}, True
    for position, name, parse, required, default in plan:
        text = raw[position].strip() if position >= 0 else ""
        if not text:
            if required:
                problems.append(Problem(path, line, name, _("required value is blank")))
                ok = False
            values[name] = default
            continue
        try:
            values[name] = parse(text)
        except ValueError as exc:
            problems.append(Problem(path, line, name, str(exc)))
            ok = False
    if ok and kind.key:
        key = values[kind.key]
        if key in seen_keys:
            problems.append(Problem(path, line, kind.key, _("{key!r} is also on line {line}").format(
                key=key, line=seen_keys[key])))
            return None
        seen_keys[key] = line
    return values if ok else None
