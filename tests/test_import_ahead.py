"""A large import's cells are read and checked by a worker process ahead of the writes: the same rows, the same problems, and no process left behind."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import NIGHT
from ils.errors import ImportFailed
from ils.exchange.imports import files_in, import_files, parsing
from ils.exchange.imports.kinds import Titles
from ils.exchange.imports.parsing import CHUNK_ROWS
from ils.infra import schema


@pytest.fixture
def workers(monkeypatch):
    """Every import here is read ahead by a worker; the list of the workers started."""
    started = []
    real = parsing.multiprocessing.get_context

    def context(method):
        made = real(method)

        class Counted(made.Process):
            def start(self):
                started.append(self)
                super().start()

        class Context:
            Queue = made.Queue
            Process = Counted

        return Context

    monkeypatch.setattr(parsing, "READ_AHEAD_BYTES", 0)
    monkeypatch.setattr(parsing.multiprocessing, "get_context", context)
    return started


def _count(conn, table):
    return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _problems(conn, policy, path) -> list[str]:
    with pytest.raises(ImportFailed) as caught:
        import_files(conn, [("titles", path)], policy, NIGHT)
    return [str(problem) for problem in caught.value.problems]


def _titles(tmp_path, bad: dict[int, str]):
    rows = [f"B{n},本{n},book,2026-01-01" for n in range(CHUNK_ROWS * 3 + 10)]
    for i, row in bad.items():
        rows[i] = row
    path = tmp_path / "titles.csv"
    path.write_text("bib_id,title,material_type,catalogued_on\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_the_worker_gives_the_rows_and_the_problems_of_a_parse_in_process(conn_for, examples, tmp_path, workers):
    conn, policy = conn_for()
    results = import_files(conn, files_in(examples), policy, NIGHT)
    assert len(workers) == 1 and not multiprocessing.active_children()
    assert all(r.rows_written and not r.problems for r in results if r.kind in ("titles", "copies", "patrons"))
    bad = _titles(tmp_path, {5: "B5,本,scroll,", CHUNK_ROWS + 3: "B1,重複,book,", -1: "B-last,本,book,2026-02-30"})
    read_ahead = _problems(conn, policy, bad)
    with pytest.MonkeyPatch.context() as in_process:
        in_process.setattr(parsing, "READ_AHEAD_BYTES", bad.stat().st_size + 1)
        in_one_process = _problems(conn, policy, bad)
    assert len(in_one_process) == 3  # a bad cell in the first chunk, a duplicate key across chunks, one in the last
    assert read_ahead == in_one_process
    assert len(workers) == 2 and not multiprocessing.active_children()


def test_an_import_interrupted_while_the_worker_reads_ahead_leaves_no_process_and_no_row(
        conn_for, tmp_path, workers, monkeypatch):
    conn, policy = conn_for()
    path = _titles(tmp_path, {})
    written = []

    def interrupted(self, ctx, chunk):
        written.append(len(chunk))
        if len(written) == 2:
            raise KeyboardInterrupt  # Ctrl-C while the worker has batches ready or is reading
        return real(self, ctx, chunk)

    real = Titles.write_columns
    monkeypatch.setattr(Titles, "write_columns", interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_files(conn, [("titles", path)], policy, NIGHT)
    assert workers and not workers[0].is_alive() and not multiprocessing.active_children()
    assert _count(conn, schema.titles) == 0


def test_a_worker_that_fails_is_an_error_with_its_traceback_and_nothing_is_imported(
        conn_for, tmp_path, workers, monkeypatch):
    conn, policy = conn_for()
    path = _titles(tmp_path, {})

    def broken(*args):
        raise MemoryError("no room for the batch")

    monkeypatch.setattr(parsing, "_parse_batch", broken)  # the forked worker has it too
    with pytest.raises(RuntimeError, match="(?s)reading the import files failed:.*no room for the batch"):
        import_files(conn, [("titles", path)], policy, NIGHT)
    assert not multiprocessing.active_children()
    assert _count(conn, schema.titles) == 0


KILLED_WHILE_PARSING = """
import multiprocessing, sys, time
from pathlib import Path
from ils.exchange.imports import parsing
from ils.exchange.imports.kinds import KINDS
parsing.READ_AHEAD_BYTES = 0
parsing._parse_batch = lambda *args: time.sleep(600)  # the worker busy on a batch, not waiting on the queue
with parsing.parsed_files([(KINDS["titles"], Path(sys.argv[1]))], "auto") as events:
    next(events)
    print(multiprocessing.active_children()[0].pid, flush=True)
    time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # ended, if not yet reaped by whoever adopted it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_worker_dies_with_an_importer_that_is_killed_while_it_parses(tmp_path):
    importer = subprocess.Popen([sys.executable, "-c", KILLED_WHILE_PARSING, str(_titles(tmp_path, {}))],
                                stdout=subprocess.PIPE, text=True)
    worker = int(importer.stdout.readline())
    importer.send_signal(signal.SIGKILL)
    importer.wait()
    deadline = time.monotonic() + 10
    while not _gone(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert _gone(worker)
    finally:
        if not _gone(worker):
            os.kill(worker, signal.SIGKILL)
