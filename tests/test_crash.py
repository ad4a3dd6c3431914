"""Kill the batch with SIGKILL at many moments; the next run must end exactly where an uninterrupted one does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from ils import schema
from ils.imports import files_in, import_files
from batch.runner import STEPS
from ils.policy import load_policy
from ils.requests import import_request_file
from ils.sample.generator import SampleSpec, write_files

from conftest import NIGHT

# Big enough that a night takes a good part of a second, small enough for CI.
SPEC = SampleSpec(titles=8_000, patrons=2_000, loans=3_000, holds=5_000, requests=6_000)
PROFILE = "kitakyushu"  # series gates that open within the night exercise the allocation rounds
KILL_POINTS = 10
REPO = Path(__file__).resolve().parent.parent
# Tables whose final contents must not depend on where the batch was killed.
COMPARED = ("holds", "hold_history", "pending_requests", "notice_events", "copies", "loans", "patrons", "allocation_todo")


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


def _batch(url: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "batch", "run", "--db", url, "--now", NIGHT.isoformat()],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _dump(url: str) -> dict:
    """The tables, in a form that does not depend on surrogate ids the night itself assigned.

    PostgreSQL does not give back sequence numbers a killed transaction took, so a hold,
    a history row or a notice made by the resumed night may carry another id than in an
    uninterrupted one (and so may the run). Holds are therefore named by the request
    they came from, history and notices by what they say, and run ids are left out.
    Everything else must be equal, row for row.
    """
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = {name: [dict(r._mapping) for r in conn.execute(select(schema.metadata.tables[name]))]
                  for name in COMPARED}
    engine.dispose()
    hold_key = {h["id"]: ("request", h["request_id"]) if h["request_id"] else ("imported", h["id"]) for h in tables["holds"]}

    def canonical(row: dict, drop=("run_id",)) -> tuple:
        out = {}
        for column, value in row.items():
            if column in drop:
                continue
            if column == "hold_id" and value is not None:
                value = hold_key[value]
            if column == "dedupe_key":
                kind, _, rest = value.partition(":")
                if kind in ("ready", "expired"):
                    number, _, tail = rest.partition(":")
                    value = (kind, hold_key[int(number)], tail)
            out[column] = value
        return tuple(sorted((k, repr(v)) for k, v in out.items()))

    dump = {}
    for name, rows in tables.items():
        drop = ("run_id",) if name not in ("holds", "hold_history", "notice_events") else ("run_id", "id")
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
def reference(databases, prepared, tmp_path_factory) -> tuple[dict, float]:
    url = databases.copy(prepared)
    started = time.perf_counter()
    batch = _batch(url, tmp_path_factory.mktemp("reference"))
    out, err = batch.communicate(timeout=300)
    assert batch.returncode == 0, err.decode()
    dump = _dump(url)
    states = {dict(row)["state"] for row in dump["pending_requests"]}
    assert states == {"'accepted'", "'applied'", "'rejected'"}, "the reference night judged every request"
    return dump, time.perf_counter() - started


def test_a_night_killed_anywhere_and_run_again_ends_as_an_uninterrupted_one(databases, prepared, reference, tmp_path):
    expected, duration = reference
    outcomes = []
    for point in range(KILL_POINTS):
        url = databases.copy(prepared)
        delay = duration * (point + 1) / (KILL_POINTS + 1)
        batch = _batch(url, tmp_path)
        time.sleep(delay)
        batch.send_signal(signal.SIGKILL)
        batch.wait()
        outcomes.append(_finished_steps(url))
        again = _batch(url, tmp_path)
        _, err = again.communicate(timeout=300)
        assert again.returncode == 0, err.decode()
        assert _dump(url) == expected, f"killed after {delay:.2f}s: final state differs"
    # the kills landed before the run started, between steps and inside them
    assert any(runs == 0 for runs, _ in outcomes)
    assert any(runs == 1 and 0 < steps < len(STEPS) for runs, steps in outcomes)


def test_a_run_killed_twice_still_converges(databases, prepared, reference, tmp_path):
    expected, duration = reference
    url = databases.copy(prepared)
    for fraction in (0.6, 0.5):
        batch = _batch(url, tmp_path)
        time.sleep(duration * fraction)
        batch.send_signal(signal.SIGKILL)
        batch.wait()
    final = _batch(url, tmp_path)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    assert _dump(url) == expected
