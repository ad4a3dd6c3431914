"""Kill the batch with SIGKILL at many moments; the next run must end exactly where an uninterrupted one does."""

from __future__ import annotations

import json
import os
import select as io_select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from conftest import NIGHT
from ils.batch.runner import PIPELINE, STEPS
from ils.exchange.imports import files_in, import_files
from ils.frontend.requests import import_request_file
from ils.infra import schema
from ils.library.policy import load_policy
from ils.tools.sample.generator import SampleSpec, write_files

# Big enough that every step has work and each kill lands inside one; small enough for CI
# (half the size it was, and fewer evenly spread kills: the kills in the middle of every
# step that no spread kill reached now cover each step at least once).
SPEC = SampleSpec(titles=4_000, patrons=1_000, loans=1_500, holds=2_500, requests=3_000)
PROFILE = "kitakyushu"  # series gates that open within the night exercise the allocation rounds
KILL_POINTS = 6  # evenly spread over the night, besides one inside every step they miss
REPO = Path(__file__).resolve().parent.parent
# Tables whose final contents must not depend on where the batch was killed.
COMPARED = ("holds", "hold_history", "pending_requests", "notice_events", "mail_outbox", "copies", "loans", "patrons",
            "allocation_todo")


@pytest.fixture(scope="module")
def prepared(databases, tmp_path_factory) -> str:
    """A library with a day of requests, never opened again: each kill point runs on a copy."""
    directory = tmp_path_factory.mktemp("crash")
    write_files(SPEC, directory / "data")
    url = databases.initialised(PROFILE)
    engine = create_engine(url)
    with engine.connect() as conn:
        import_files(conn, files_in(directory / "data"), load_policy(PROFILE), NIGHT)
        import_request_file(conn, directory / "data" / "requests.jsonl", NIGHT)
    engine.dispose()
    return url


class Batches:
    """`ils batch run` in children of one fork server that imported ils once (tests/crash_child.py --serve)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.runs = 0
        env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(REPO), str(REPO / "tests")))}
        self.server = subprocess.Popen([sys.executable, str(REPO / "tests" / "crash_child.py"), "--serve"],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)

    def run(self, url: str, cwd: Path, *, kill_at: int = 0, count_to: Path | None = None) -> subprocess.CompletedProcess:
        """`ils batch run` in a child that kills itself at its `kill_at`th SQL statement."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(REPO), str(REPO / "tests"))),
               "ILS_KILL_AT_STATEMENT": str(kill_at)}
        if count_to is not None:
            env["ILS_COUNT_STATEMENTS_TO"] = str(count_to)
        self.runs += 1
        out, err = self.directory / f"{self.runs}.out", self.directory / f"{self.runs}.err"
        argv = ["batch", "run", "--db", url, "--now", NIGHT.isoformat()]
        self.server.stdin.write(json.dumps({"argv": argv, "env": env, "cwd": str(cwd), "stdout": str(out),
                                            "stderr": str(err)}) + "\n")
        self.server.stdin.flush()
        ready, _, _ = io_select.select([self.server.stdout], [], [], 600)
        if not ready:
            self.close()
            pytest.fail("the batch did not end within 600 s")
        reply = self.server.stdout.readline()
        assert reply, "the fork server ended"
        return subprocess.CompletedProcess(argv, json.loads(reply)["returncode"], out.read_bytes(), err.read_bytes())

    def close(self) -> None:
        self.server.stdin.close()
        try:
            self.server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()
        self.server.stdout.close()


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    made = Batches(tmp_path_factory.mktemp("batch-output"))
    yield made
    made.close()


def _killed(result: subprocess.CompletedProcess) -> bool:
    return result.returncode == -signal.SIGKILL


def _dump(url: str) -> dict:
    """The tables, in a form that does not depend on surrogate ids the night itself assigned.

    PostgreSQL does not give back sequence numbers a killed transaction took, so a hold,
    a history row, a notice or a message made by the resumed night may carry another id
    than in an uninterrupted one (and so may the run). Holds are therefore named by the
    request they came from, history, notices and messages by what they say, and run ids
    are left out.
    Everything else must be equal, row for row.
    """
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = {name: [dict(r._mapping) for r in conn.execute(select(schema.metadata.tables[name]))]
                  for name in COMPARED}
    engine.dispose()
    hold_key = {h["id"]: ("request", h["request_id"]) if h["request_id"] else ("imported", h["id"]) for h in tables["holds"]}

    def event_key(value: str):
        kind, _, rest = value.partition(":")
        if kind in ("ready", "expired"):
            number, _, tail = rest.partition(":")
            return (kind, hold_key[int(number)], tail)
        return value

    events = {e["id"]: event_key(e["dedupe_key"]) for e in tables["notice_events"]}

    def message_key(value: str):
        """A message's key names a notice by its id (notice:EVENT, digest:PATRON:EVENT): name it by what it says."""
        kind, _, rest = value.partition(":")
        if kind in ("notice", "digest"):
            head, _, event = rest.rpartition(":")
            return (kind, head, events[int(event)])
        return value

    messages = {o["id"]: message_key(o["dedupe_key"]) for o in tables["mail_outbox"]}

    def canonical(row: dict, drop=("run_id",)) -> tuple:
        out = {}
        for column, value in row.items():
            if column in drop:
                continue
            if column == "hold_id" and value is not None:
                value = hold_key[value]
            if column == "outbox_id" and value is not None:
                value = messages[value]
            if column == "dedupe_key":
                value = message_key(value) if "raw" in row else event_key(value)
            out[column] = value
        return tuple(sorted((k, repr(v)) for k, v in out.items()))

    # The Message-ID (and so the raw message) is derived from the key, which holds a notice id.
    dropped = {"holds": ("run_id", "id"), "hold_history": ("run_id", "id"), "notice_events": ("run_id", "id"),
               "mail_outbox": ("id", "message_id", "raw")}
    dump = {}
    for name, rows in tables.items():
        drop = dropped.get(name, ("run_id",))
        if name == "holds":
            dump[name] = sorted((hold_key[r["id"]], canonical(r, drop)) for r in rows)
        else:
            dump[name] = sorted(canonical(r, drop) for r in rows)
    return dump


def _finished_steps(url: str) -> tuple[int, int]:
    """(batch_runs rows, finished steps) left by a killed run."""
    engine = create_engine(url)
    with engine.connect() as conn:
        runs = conn.execute(select(func.count()).select_from(schema.batch_runs)).scalar()
        steps = conn.execute(
            select(func.count()).select_from(schema.batch_steps).where(schema.batch_steps.c.finished_at.is_not(None))
        ).scalar()
    engine.dispose()
    return runs, steps


@pytest.fixture(scope="module")
def reference(databases, prepared, batches, tmp_path_factory) -> tuple[dict, int, list[int]]:
    """The uninterrupted night's final tables, how many SQL statements it sent, and the
    statement each step began at."""
    url = databases.copy(prepared)
    where = tmp_path_factory.mktemp("reference")
    batch = batches.run(url, where, count_to=where / "statements")
    assert batch.returncode == 0, batch.stderr.decode()
    dump = _dump(url)
    states = {dict(row)["state"] for row in dump["pending_requests"]}
    assert states == {"'accepted'", "'applied'", "'rejected'"}, "the reference night judged every request"
    assert dump["mail_outbox"], "the reference night rendered the morning's mail"
    statements, *step_starts = map(int, (where / "statements").read_text().split())
    assert len(step_starts) == len(PIPELINE)
    return dump, statements, step_starts


def kill_points(statements: int, step_starts: list[int]) -> list[int]:
    """The 3rd statement (before the run is recorded), then KILL_POINTS spread evenly over the
    night, then the middle of each step none of them fell in: every step is cut short once."""
    spread = [statements * (point + 1) // (KILL_POINTS + 1) for point in range(KILL_POINTS)]
    ends = [*step_starts[1:], statements]
    missed = [(start + end) // 2 for start, end in zip(step_starts, ends, strict=True)
              if not any(start < point < end for point in spread)]
    return [3, *spread, *missed]


def test_every_step_is_killed_once(reference):
    _, statements, step_starts = reference
    points = kill_points(statements, step_starts)
    ends = [*step_starts[1:], statements]
    assert all(any(start < point < end for point in points) for start, end in zip(step_starts, ends, strict=True))


def test_a_night_killed_anywhere_and_run_again_ends_as_an_uninterrupted_one(databases, prepared, reference, batches, tmp_path):
    expected, statements, step_starts = reference
    outcomes = []
    for point in kill_points(statements, step_starts):
        url = databases.copy(prepared)
        killed = batches.run(url, tmp_path, kill_at=point)
        assert _killed(killed), f"statement {point} of {statements}: {killed.stderr.decode()}"
        outcomes.append(_finished_steps(url))
        again = batches.run(url, tmp_path)
        assert again.returncode == 0, again.stderr.decode()
        assert _dump(url) == expected, f"killed at statement {point} of {statements}: final state differs"
    # the kills landed before the run started, between steps and inside them
    assert any(runs == 0 for runs, _ in outcomes), outcomes
    assert any(runs == 1 and 0 < steps < len(STEPS) for runs, steps in outcomes), outcomes


def test_a_run_killed_twice_still_converges(databases, prepared, reference, batches, tmp_path):
    expected, statements, _ = reference
    url = databases.copy(prepared)
    # The first kill undoes its step, so the resumed run still sends at least the other 70%
    # of the night's statements: its kill at 35% lands inside it, on any engine.
    for fraction in (0.3, 0.35):
        killed = batches.run(url, tmp_path, kill_at=int(statements * fraction))
        assert _killed(killed), killed.stderr.decode()
    final = batches.run(url, tmp_path)
    assert final.returncode == 0, final.stderr.decode()
    assert _dump(url) == expected
