"""What only a database server shows: the front end, a second batch and the counter, all during the night's run.

Each test stops the batch at a chosen point inside a step (its transaction open, its row
locks held) and does the other party's work from a second connection, so the interleaving
is the same on every run instead of a race left to chance. A watchdog releases the batch
after WATCHDOG seconds, so a session that waits where it should not fails instead of hanging.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, text

import ils.circulation.copies as circulation
from ils.batch import runner
from ils.circulation.copies import check_in
from ils.errors import BatchRunning, Conflict, HoldRefused
from ils.frontend.api import submit_request
from ils.holds.counter import place_holds
from ils.infra import db, lock, schema
from ils.infra.context import Context
from scenario import Library, at

WATCHDOG = 20.0
NIGHT = "2026-11-26 03:00"


@pytest.fixture
def lib(new_library, engine_name):
    if engine_name != "postgresql":
        pytest.skip("SQLite serialises every writer on its database lock; these interleavings need a server")
    return either_lib(new_library)


@pytest.fixture
def any_lib(new_library):
    """The same library on either engine, for what must hold on SQLite too."""
    return either_lib(new_library)


def either_lib(new_library):
    lib = new_library("kitami")
    lib.branch("central").branch("east").route("central", "east", 1)
    lib.staff("s042")
    for card in ("1001", "1002", "1003", "1004"):
        lib.patron(card)
    for bib in ("B1", "B2", "B3"):
        lib.title(bib)
    return lib


class PausedStep:
    """Wraps one batch step: does its real work, then waits, its transaction still open."""

    def __init__(self, monkeypatch, step: str):
        self.reached, self.release = threading.Event(), threading.Event()
        real = runner.STEPS[step].run

        def paused(ctx):
            counts = real(ctx)
            self.reached.set()
            self.released_in_time = self.release.wait(WATCHDOG)
            return counts

        monkeypatch.setattr(runner.STEPS[step], "run", paused)


class PausedCheckIn:
    """A counter check-in on its own connection in a thread, stopped just before it makes the
    hold ready: its copy and hold are locked and nothing is committed yet."""

    def __init__(self, monkeypatch, lib: Library, barcode: str, now: str):
        self.reached, self.release = threading.Event(), threading.Event()
        self.released_in_time: bool | None = None
        self.result = None
        real_make_ready = circulation.make_ready

        def slow_make_ready(*args, **kwargs):
            self.reached.set()
            self.released_in_time = self.release.wait(WATCHDOG)
            return real_make_ready(*args, **kwargs)

        def scan():
            with second_session(lib, now) as counter:
                self.result = check_in(counter, barcode, lib.ids[("branch", "central")], "s042")

        monkeypatch.setattr(circulation, "make_ready", slow_make_ready)
        self.thread = threading.Thread(target=scan)
        self.thread.start()
        assert self.reached.wait(WATCHDOG), "the check-in never got to its hold"

    def finish(self):
        self.release.set()
        self.thread.join(WATCHDOG * 2)
        return self.result


@contextmanager
def night_in_background(lib: Library, now: str = NIGHT):
    """The batch run on its own connection in a thread; yields a dict that gets its report or error."""
    outcome: dict = {}
    engine = db.open_engine(lib.url)

    def work():
        with engine.connect() as conn:
            ctx = Context(conn=conn, policy=lib.policy, now=at(now))
            try:
                outcome["report"] = runner.run_batch(ctx, now_given=True)
            except Exception as exc:  # noqa: BLE001 - handed to the test to assert on
                outcome["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    try:
        yield outcome
    finally:
        thread.join(WATCHDOG * 2)
        engine.dispose()
    assert not thread.is_alive(), "the batch run never finished"


@contextmanager
def second_session(lib: Library, now: str):
    engine = db.open_engine(lib.url)
    try:
        with engine.connect() as conn:
            yield Context(conn=conn, policy=lib.policy, now=at(now))
    finally:
        engine.dispose()


def hold_request(card: str, bib: str, received: str) -> dict:
    return {"kind": "hold", "card_number": card, "target": bib, "received_at": at(received).isoformat(),
            "channel": "web", "pickup_branch": "central"}


def request_states(lib: Library) -> dict[int, tuple[str, int | None]]:
    r = schema.pending_requests
    rows = {row.id: (row.state, row.run_id) for row in lib.conn.execute(select(r.c.id, r.c.state, r.c.run_id))}
    lib.conn.rollback()
    return rows


# -- the front end writes while the batch runs ------------------------------------------------


def test_requests_written_during_the_run_wait_for_the_next_run_and_none_is_lost(lib, monkeypatch, tmp_path):
    for bib in ("B1", "B2", "B3"):
        lib.copy(bib, "east")
    before = [lib.request("hold", "1001", "B1", pickup="central", received="2026-11-25 10:00")]
    accept_paused = PausedStep(monkeypatch, "accept")
    written_during = []
    with night_in_background(lib) as night:
        assert accept_paused.reached.wait(WATCHDOG)
        with second_session(lib, "2026-11-26 03:00:20") as front:
            # The web form's own entry point refuses and says why (the batch window)...
            with pytest.raises(BatchRunning, match="not accepted while the nightly batch runs"):
                submit_request(front, hold_request("1002", "B2", "2026-11-26 03:00:20"))
            # ...but a front end that inserts into the documented table itself is never
            # blocked: one row stamped before the run's `now` that commits too late for
            # it, and one stamped after.
            t = schema.pending_requests
            with front.conn.begin():
                for row, entered in ((hold_request("1002", "B2", "2026-11-26 02:59"), "2026-11-26 02:59:59"),
                                     (hold_request("1003", "B3", "2026-11-26 03:00:20"), "2026-11-26 03:00:20")):
                    values = row | {"entered_at": at(entered)}
                    written_during.append(front.conn.execute(t.insert().values(**values).returning(t.c.id)).scalar_one())
        accept_paused.release.set()
    assert "error" not in night, night.get("error")
    first_run = night["report"].run_id

    states = request_states(lib)
    assert states[before[0]] == ("accepted", first_run)
    assert all(states[rid] == ("pending", None) for rid in written_during), states

    monkeypatch.undo()  # the paused step, and with it conftest's move into tmp_path...
    monkeypatch.chdir(tmp_path)  # ...which the night's reports need, or they land in the repository
    second = lib.night("2026-11-27 03:00")
    states = request_states(lib)
    assert all(states[rid] == ("accepted", second.run_id) for rid in written_during), states
    h = schema.holds
    holds_per_request = lib.conn.execute(
        select(h.c.request_id, func.count()).where(h.c.request_id.is_not(None)).group_by(h.c.request_id)
    ).all()
    lib.conn.rollback()
    assert dict(holds_per_request) == {rid: 1 for rid in before + written_during}


# -- two batch runs at once ---------------------------------------------------------------------


def test_a_second_batch_run_started_while_one_runs_refuses_at_once_with_one_line(any_lib, monkeypatch):
    """On SQLite too: the second run reads the lock row instead of queueing for the write lock
    (it used to wait out the first run, then run an empty night and exit 0)."""
    lib = any_lib
    lib.request("hold", "1001", "B1", pickup="central")
    paused = PausedStep(monkeypatch, "cancel")
    with night_in_background(lib) as night:
        assert paused.reached.wait(WATCHDOG)
        second = subprocess.run(
            [sys.executable, "-m", "ils", "batch", "run", "--db", lib.url, "--now", at(NIGHT).isoformat()],
            capture_output=True, text=True, timeout=60,
        )
        paused.release.set()
    assert "error" not in night, night.get("error")
    assert second.returncode != 0
    assert f"another batch run is in progress: run {night['report'].run_id}" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1, second.stderr
    r = schema.batch_runs
    assert lib.conn.execute(select(func.count()).select_from(r)).scalar() == 1


def test_two_runs_taking_the_lock_at_the_same_instant_let_exactly_one_through(lib):
    start = threading.Barrier(2, timeout=WATCHDOG)
    results: list[str] = []

    def take():
        with second_session(lib, NIGHT) as ctx:
            start.wait()
            try:
                with ctx.conn.begin():
                    lock.acquire(ctx.conn, at(NIGHT))
                    time.sleep(0.5)  # still uncommitted while the other one tries
                results.append("took it")
            except BatchRunning as exc:
                results.append(f"refused: {exc}")

    threads = [threading.Thread(target=take) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WATCHDOG * 2)
    assert len(results) == 2 and results.count("took it") == 1, results
    [refused] = [r for r in results if r != "took it"]
    assert "another batch run" in refused


# -- the counter and the allocation step on the same copy ---------------------------------------


def bound_holds(lib: Library, barcode: str) -> list[tuple[int, str]]:
    h, c = schema.holds, schema.copies
    rows = lib.conn.execute(
        select(h.c.id, h.c.status).join(c, c.c.id == h.c.copy_id)
        .where(c.c.barcode == barcode, h.c.status.in_(schema.HOLDS_WITH_COPY))
    ).all()
    lib.conn.rollback()
    return [tuple(row) for row in rows]


def test_a_check_in_while_the_batch_allocates_that_copy_is_told_and_the_batch_wins(lib, monkeypatch):
    copy = lib.copy("B1", "central", barcode="9001")
    first = lib.hold("1001", "B1", "central", queued_at="2026-11-01 10:00")
    lib.hold("1002", "B1", "central", queued_at="2026-11-02 10:00")
    paused = PausedStep(monkeypatch, "allocate")
    with night_in_background(lib) as night:
        assert paused.reached.wait(WATCHDOG)
        with second_session(lib, "2026-11-26 03:00:30") as counter:
            with pytest.raises(Conflict, match="working on this copy or hold right now"):
                check_in(counter, copy, lib.ids[("branch", "central")], "s042")
        paused.release.set()
    assert "error" not in night, night.get("error")
    assert paused.released_in_time
    assert bound_holds(lib, copy) == [(first, "allocated")]
    # Scanned again once the batch has committed: the copy is on the first hold's pull list.
    with second_session(lib, "2026-11-26 09:30") as counter:
        outcome = check_in(counter, copy, lib.ids[("branch", "central")], "s042")
    assert (outcome.action, outcome.hold_id) == ("hold_shelf", first)
    assert bound_holds(lib, copy) == [(first, "ready")]


def test_the_batch_skips_a_copy_the_counter_is_checking_in_and_the_counter_wins(lib, monkeypatch):
    # found on the returns cart: free on the shelf as far as the batch can tell
    copy = lib.copy("B1", "central", barcode="9002")
    first = lib.hold("1001", "B1", "central", queued_at="2026-11-01 10:00")
    lib.hold("1002", "B1", "central", queued_at="2026-11-02 10:00")
    counter = PausedCheckIn(monkeypatch, lib, copy, "2026-11-26 03:00:10")
    # The counter holds the copy and the first hold: the night goes round them without waiting.
    report = lib.night()
    result = counter.finish()
    assert counter.released_in_time, "the batch waited for the counter"
    assert (result.action, result.hold_id) == ("hold_shelf", first)
    assert bound_holds(lib, copy) == [(first, "ready")]
    assert lib.status("1002", "B1") == "waiting"
    allocate = next(step for step in report.steps if step.step == "allocate")
    assert (allocate.counts.get("allocated", 0), allocate.counts.get("ready", 0)) == (0, 0)


def waiting_on_a_lock(lib: Library) -> bool:
    """Whether some session of this test's database is queued behind a row lock."""
    with second_session(lib, NIGHT) as ctx:
        return bool(ctx.conn.execute(
            select(func.count()).select_from(text("pg_stat_activity"))
            .where(text("datname = current_database() AND wait_event_type = 'Lock'"))
        ).scalar())


def test_a_cancel_request_judged_while_the_counter_catches_that_hold_sees_it_ready(lib, monkeypatch):
    # Mito-style daytime run: the patron cancels on the web while the copy is being checked in.
    copy = lib.copy("B1", "central", barcode="9003")
    lib.loan(copy, "1004", due_on=at("2026-12-01 00:00").date())
    hold = lib.hold("1001", "B1", "central", queued_at="2026-11-01 10:00")
    cancel = lib.request("cancel", "1001", str(hold), received="2026-11-26 10:00")
    counter = PausedCheckIn(monkeypatch, lib, copy, "2026-11-26 10:05")
    with night_in_background(lib, "2026-11-26 10:10") as run:
        deadline = time.monotonic() + WATCHDOG
        while not waiting_on_a_lock(lib) and time.monotonic() < deadline:
            time.sleep(0.05)
        result = counter.finish()
    assert "error" not in run, run.get("error")
    assert (result.action, result.hold_id) == ("hold_shelf", hold)
    assert lib.verdict(cancel) == ("rejected", "cancel_too_late")  # the patron is told to contact the library
    assert bound_holds(lib, copy) == [(hold, "ready")]


# -- the counter and the accept step on the same patron -----------------------------------------


def test_a_counter_hold_while_the_batch_accepts_that_patrons_requests_keeps_the_hold_limit(new_library, engine_name,
                                                                                           monkeypatch):
    if engine_name != "postgresql":
        pytest.skip("SQLite serialises every writer on its database lock; these interleavings need a server")
    lib = new_library("kitami", {"holds": {"limit": 2}})
    lib.branch("central").patron("1001").staff("s042")
    for bib in ("B1", "B2", "B3"):
        lib.title(bib)
        lib.copy(bib, "central", state="on_loan")
    lib.hold("1001", "B1", "central")
    web = lib.request("hold", "1001", "B2", pickup="central")
    paused = PausedStep(monkeypatch, "accept")
    with night_in_background(lib) as night:
        assert paused.reached.wait(WATCHDOG)
        with second_session(lib, "2026-11-26 03:00:30") as counter:
            with pytest.raises(Conflict, match="right now"):
                place_holds(counter, "1001", ["B3"], "central", staff="s042")
        paused.release.set()
    assert "error" not in night, night.get("error")
    assert lib.verdict(web) == ("accepted", None)
    # Asked again once the batch has committed, the counter counts the web hold too.
    with second_session(lib, "2026-11-26 09:00") as counter:
        with pytest.raises(HoldRefused) as refused:
            place_holds(counter, "1001", ["B3"], "central", staff="s042")
    assert refused.value.reason == "limit_reached"
    assert sorted(lib.holds_of("1001")) == ["B1", "B2"]
