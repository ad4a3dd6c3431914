"""The night's reports run in a forked child beside render (docs/batch.md): the same files and
tables as one after the other, and a failure of either is the failure of that step, resumable."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text

from conftest import NIGHT
from ils import cli
from ils.batch import runner
from ils.exchange.imports import files_in, import_files
from ils.frontend.requests import import_request_file
from ils.infra import forked, schema
from ils.library.policy import load_policy
from ils.tools.sample.generator import SampleSpec, write_files

REPO = Path(__file__).resolve().parent.parent
SPEC = SampleSpec(titles=1_500, patrons=400, loans=500, holds=800, requests=1_000)
# Tables the night writes or reads for the reports; their rows must not depend on how the steps ran.
COMPARED = ("holds", "hold_history", "pending_requests", "notice_events", "mail_outbox", "copies", "loans", "patrons")

pytestmark = pytest.mark.skipif(forked.why_not_fork() == "this system cannot fork" or forked.available_cpus() < 2,
                                reason="the reports run beside render only where a child gets a CPU of its own")


@pytest.fixture(scope="module")
def prepared(databases, tmp_path_factory) -> str:
    """A library with a day of requests, never opened again: each test's night runs on a copy."""
    directory = tmp_path_factory.mktemp("beside")
    write_files(SPEC, directory / "data")
    url = databases.initialised("kitami")
    engine = create_engine(url)
    with engine.connect() as conn:
        import_files(conn, files_in(directory / "data"), load_policy("kitami"), NIGHT)
        import_request_file(conn, directory / "data" / "requests.jsonl", NIGHT)
    engine.dispose()
    return url


def _night(url: str, cwd: Path, plant: str = "", *extra: str) -> subprocess.CompletedProcess:
    """`ils -v batch run` in a process of its own (tests/planted_child.py), with `plant` planted."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(REPO), str(REPO / "tests"))), "ILS_PLANT": plant,
           "ILS_STAFF_LANGUAGE": "en"}  # as the suite's tests run (a module's fixture runs before their setting)
    argv = [sys.executable, str(REPO / "tests" / "planted_child.py"), "-v", "batch", "run", "--db", url,
            "--now", NIGHT.isoformat(), *extra]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _tables(url: str) -> dict:
    """The tables, messages named by their key, not by their id: PostgreSQL does not give back
    the sequence numbers of a transaction rolled back (render's, when the reports failed)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = {name: [dict(row._mapping) for row in conn.execute(select(schema.metadata.tables[name]))]
                for name in COMPARED}
    engine.dispose()
    keys = {row.pop("id"): row["dedupe_key"] for row in rows["mail_outbox"]}
    for row in rows["notice_events"]:
        row["outbox_id"] = keys.get(row["outbox_id"])
    return {name: sorted(repr(sorted(row.items())) for row in table) for name, table in rows.items()}


def _files(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def _steps(url: str) -> list[tuple[str, bool]]:
    """The last run's steps in the order `ils batch show` lists them, and whether each finished."""
    s = schema.batch_steps
    engine = create_engine(url)
    with engine.connect() as conn:
        run = conn.execute(text("SELECT max(id) FROM batch_runs")).scalar()
        rows = conn.execute(select(s.c.step, s.c.finished_at).where(s.c.run_id == run).order_by(s.c.started_at)).all()
    engine.dispose()
    return [(step, finished is not None) for step, finished in rows]


@pytest.fixture(scope="module")
def one_after_the_other(databases, prepared, tmp_path_factory) -> tuple[dict, dict]:
    """The night with the reports and render one after the other: its tables and report files."""
    url, where = databases.copy(prepared), tmp_path_factory.mktemp("inline")
    night = _night(url, where, "inline")
    assert night.returncode == 0, night.stderr
    assert "ran in process" not in night.stderr
    return _tables(url), _files(where / "reports")


def test_the_reports_run_in_a_child_beside_render_and_the_night_ends_as_one_after_the_other(
        databases, prepared, one_after_the_other, tmp_path):
    url = databases.copy(prepared)
    night = _night(url, tmp_path)
    assert night.returncode == 0, night.stderr
    assert "reports: ran in process" in night.stderr and "beside render" in night.stderr
    tables, files = one_after_the_other
    assert _tables(url) == tables
    assert _files(tmp_path / "reports") == files
    # render marked notices it could not mail as problems, which the contact problems list
    # reads: the list equals the one made before render ran, so the child read what allocate left.
    assert any("('delivery', 'problem')" in row for row in tables["notice_events"])
    assert [step for step, _ in _steps(url)] == runner.step_names()
    shown = CliRunner().invoke(cli.main, ["batch", "show", "--db", url])
    assert shown.exit_code == 0, shown.output
    assert shown.output.index("reports") < shown.output.index("render")


def test_reports_that_start_after_render_has_done_its_work_still_read_what_allocate_left(
        databases, prepared, one_after_the_other, tmp_path):
    """render is done long before these reports start; its changes are not committed until they are."""
    url = databases.copy(prepared)
    night = _night(url, tmp_path, "reports:late=2")
    assert night.returncode == 0, night.stderr
    assert _files(tmp_path / "reports") == one_after_the_other[1]


def test_a_failed_reports_child_fails_the_run_in_step_reports_undoes_render_and_the_run_resumes(
        databases, prepared, one_after_the_other, tmp_path):
    url = databases.copy(prepared)
    night = _night(url, tmp_path, "reports:raise")
    assert night.returncode != 0
    assert "failed in step reports" in night.stderr and "RuntimeError: planted fault in reports" in night.stderr
    assert ("reports", True) not in _steps(url) and ("render", True) not in _steps(url)
    assert _tables(url)["mail_outbox"] == [], "render's transaction commits only with the reports"
    resumed = _night(url, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming batch run" in resumed.stderr
    tables, files = one_after_the_other
    assert _tables(url) == tables
    # The system summary gives the seconds of a run that has finished once (here: failed), as
    # after any resumed run; every other file is the uninterrupted night's.
    system = {f"2026-11-26/summary.{ext}" for ext in ("txt", "csv", "html")}
    written = _files(tmp_path / "reports")
    assert written.keys() == files.keys()
    assert {k: v for k, v in written.items() if k not in system} == {k: v for k, v in files.items() if k not in system}


def test_a_reports_child_killed_by_a_signal_is_a_failure_of_the_step_not_a_hang(databases, prepared, tmp_path):
    url = databases.copy(prepared)
    night = _night(url, tmp_path, "reports:kill")
    assert night.returncode != 0
    assert "failed in step reports" in night.stderr and "killed by SIGKILL" in night.stderr
    assert _night(url, tmp_path).returncode == 0
    assert all(finished for _, finished in _steps(url))


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status  # a zombie left for a container's init to reap is gone too


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's parent-death signal is Linux's")
def test_a_killed_batch_leaves_no_reports_process_at_work(databases, prepared, tmp_path):
    url, child = databases.copy(prepared), tmp_path / "reports.pid"
    night = _night(url, tmp_path, f"reports:hang={child},render:kill-after={child}")
    assert night.returncode == -9
    pid = int(child.read_text())
    for _ in range(100):
        if not _alive(pid):
            break
        time.sleep(0.1)
    assert not _alive(pid), "the reports process outlived the batch"
    assert _night(url, tmp_path).returncode == 0


def test_a_failed_render_beside_the_reports_keeps_the_reports_and_the_resumed_run_renders_only(
        databases, prepared, one_after_the_other, tmp_path):
    url = databases.copy(prepared)
    night = _night(url, tmp_path, "render:raise")
    assert night.returncode != 0
    assert "failed in step render" in night.stderr and "planted fault in render" in night.stderr
    assert ("reports", True) in _steps(url) and ("render", True) not in _steps(url)
    resumed = _night(url, tmp_path, "reports:raise")  # would fail if the reports were run again
    assert resumed.returncode == 0, resumed.stderr
    assert "steps already done" in resumed.stderr and "reports" in resumed.stderr.split("steps already done")[1]
    assert _tables(url) == one_after_the_other[0]


def _no_fork(*_args):
    raise AssertionError("forked")


def test_on_one_cpu_the_reports_and_render_run_one_after_the_other(databases, prepared, monkeypatch, tmp_path):
    monkeypatch.setattr(forked, "available_cpus", lambda: 1)
    monkeypatch.setattr(os, "fork", _no_fork)
    result = CliRunner().invoke(cli.main, ["batch", "run", "--db", databases.copy(prepared), "--now", NIGHT.isoformat()])
    assert result.exit_code == 0, result.output
    assert forked.why_not_fork() == "one CPU only"


def test_no_fork_while_other_threads_run(databases, prepared, monkeypatch, tmp_path):
    monkeypatch.setattr(forked, "available_cpus", lambda: 2)
    monkeypatch.setattr(os, "fork", _no_fork)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        result = CliRunner().invoke(cli.main, ["batch", "run", "--db", databases.copy(prepared),
                                               "--now", NIGHT.isoformat()])
    finally:
        stop.set()
        other.join()
    assert result.exit_code == 0, result.output


def test_only_the_reports_run_in_the_batch_process(databases, prepared, monkeypatch):
    monkeypatch.setattr(forked, "why_not_fork", lambda: None)
    monkeypatch.setattr(os, "fork", _no_fork)
    result = CliRunner().invoke(cli.main, ["batch", "run", "--only", "reports", "--db", databases.copy(prepared),
                                           "--now", NIGHT.isoformat()])
    assert result.exit_code == 0, result.output


# A process of its own: a test runner's threads would keep the runner from forking.
HEAR_THE_STEPS = """
import logging
import sys
logging.basicConfig(level=logging.INFO)
from ils.batch import runner
from ils.infra.context import open_context
from conftest import NIGHT
with open_context(sys.argv[1], None, NIGHT) as ctx:
    report = runner.run_batch(ctx, now_given=True, on_step=lambda step: print("heard", step.step, flush=True))
print("report", *(step.step for step in report.steps))
"""


def test_every_step_is_reported_in_order_when_the_reports_run_beside_render(databases, prepared, tmp_path):
    """on_step (the progress bar's feed) hears of every step, the reports before render."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(REPO), str(REPO / "tests")))}
    ran = subprocess.run([sys.executable, "-c", HEAR_THE_STEPS, databases.copy(prepared)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert [line.split()[1] for line in lines if line.startswith("heard ")] == runner.step_names()
    assert lines[-1].split()[1:] == runner.step_names()
    assert "reports: ran in process" in ran.stderr


def test_the_batch_process_frees_its_page_cache_and_heap_before_the_reports_fork(databases, prepared, monkeypatch):
    # A forked child starts with its parent's resident heap counted in its own peak (a prefecture's reports: 614 MB).
    done = []
    monkeypatch.setattr(forked, "why_not_fork", lambda: None)
    monkeypatch.setattr(runner.db, "release_page_cache", lambda conn: done.append("page cache freed"))
    monkeypatch.setattr(forked, "free_heap", lambda: done.append("heap trimmed"))

    def fork():
        done.append("forked")
        raise OSError("no fork in this test")

    monkeypatch.setattr(os, "fork", fork)
    result = CliRunner().invoke(cli.main, ["batch", "run", "--db", databases.copy(prepared), "--now", NIGHT.isoformat()])
    assert result.exit_code == 1 and "step reports" in result.output, result.output
    assert done == ["page cache freed", "heap trimmed", "forked"]
