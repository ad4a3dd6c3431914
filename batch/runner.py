"""The runner: orders the steps, holds the lock, records the run, resumes a crashed one; no business rules."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import importlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from types import ModuleType

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from ils.errors import BatchFailed, IlsError
from ils.infra import checkpoints, collector, db, faults, forked, lock, schema
from ils.infra.context import Context
from ils.infra.db import write_transaction
from ils.infra.i18n import _
from ils.library.clock import LIBRARY_TZ

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedStep:
    """A step of the night as the runner plans it, before its module is loaded."""

    name: str
    module: str  # in batch/
    intraday: bool
    in_dry_run: bool


# The night, in order. Each step is a module with one run(ctx) that names itself (NAME)
# and says whether an intraday run does it too (INTRADAY: Mito's every-ten-minutes runs
# serve only the new work) and whether a dry run may (IN_DRY_RUN: not with effects
# outside the database, which the rollback cannot undo). This table repeats those three
# so that a run imports only the steps it runs: the night's reports and mail load jinja,
# tabulate and the templates, a third of an intraday run's start-up.
# tests/test_pipeline.py and tests/test_startup.py hold the table to the modules.
PLAN: tuple[PlannedStep, ...] = (
    PlannedStep("accept", "s01_accept", intraday=True, in_dry_run=True),
    PlannedStep("cancel", "s02_cancel", intraday=True, in_dry_run=True),
    PlannedStep("pickup_change", "s03_pickup_change", intraday=True, in_dry_run=True),
    PlannedStep("renew", "s04_renew", intraday=True, in_dry_run=True),
    PlannedStep("email", "s05_email_change", intraday=True, in_dry_run=True),
    PlannedStep("contact_change", "s06_contact_change", intraday=True, in_dry_run=True),
    PlannedStep("newsletter_subscription", "s07_newsletter_subscription", intraday=True, in_dry_run=True),
    PlannedStep("expire", "s08_expire", intraday=False, in_dry_run=True),
    PlannedStep("suspend", "s08_suspend", intraday=True, in_dry_run=True),
    PlannedStep("allocate", "s09_allocate", intraday=True, in_dry_run=True),
    PlannedStep("reports", "s10_reports", intraday=False, in_dry_run=False),
    PlannedStep("render", "s11_render", intraday=False, in_dry_run=True),
)
_PLANNED = {step.name: step for step in PLAN}

# The night's last two steps do not depend on each other: the reports read what allocate
# left and write files, render writes the outbox and marks the notices (which the contact
# problems list reads: it must not see tonight's). So the reports run in a forked child
# process while this one renders (docs/batch.md), and render's transaction commits only once
# the reports are done: they read the database as allocate left it, as when they ran first.
BESIDE = ("reports", "render")


class _StepModules(Mapping[str, ModuleType]):
    """Step name -> its module, imported the first time it is asked for."""

    def __getitem__(self, name: str) -> ModuleType:
        return importlib.import_module(f"{__package__}.{_PLANNED[name].module}")  # ils.batch, installed or not

    def __iter__(self) -> Iterator[str]:
        return iter(_PLANNED)

    def __len__(self) -> int:
        return len(_PLANNED)


STEPS: Mapping[str, ModuleType] = _StepModules()


def __getattr__(name: str):
    if name == "PIPELINE":  # every step's module, in order (loads them all)
        return tuple(STEPS[step.name] for step in PLAN)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def step_names(mode: str = "night") -> list[str]:
    """The steps a run of this mode does, in order."""
    return [step.name for step in PLAN if mode == "night" or step.intraday]


@dataclass
class StepReport:
    """What one step of a run did: its counts and its seconds."""

    step: str
    counts: dict
    seconds: float
    skipped: bool = False  # done by the crashed run this one resumed


class StepFailure(Exception):
    """A step of a pair run side by side failed: which one, and why (the exception it raised)."""

    def __init__(self, step: str, cause: Exception):
        super().__init__(step)
        self.step, self.cause = step, cause


@dataclass
class RunReport:
    """One batch run: its id, the time it ran as of, its mode, and each step's report."""

    run_id: int | None
    as_of: dt.datetime
    mode: str
    dry_run: bool
    resumed: bool = False
    steps: list[StepReport] = field(default_factory=list)


def wall_clock() -> dt.datetime:
    return dt.datetime.now(tz=LIBRARY_TZ)


def steps_for(mode: str, only: str | None) -> list[str]:
    if only:
        if only not in STEPS:
            raise IlsError(_("unknown step {only!r}; steps are {steps}").format(only=only, steps=', '.join(STEPS)))
        return [only]
    return step_names(mode)


def run_batch(
    ctx: Context,
    *,
    now_given: bool,
    only: str | None = None,
    mode: str = "night",
    dry_run: bool = False,
    on_step: Callable[[StepReport], None] | None = None,
    clock: Callable[[], dt.datetime] = wall_clock,
) -> RunReport:
    """Run tonight's steps; each in its own transaction, recorded with its counts."""
    names = steps_for(mode, only)
    if dry_run:
        return _dry_run(ctx, [n for n in names if _PLANNED[n].in_dry_run], mode, on_step, clock)
    conn = ctx.conn
    lock.check_free(conn, clock())
    try:
        with write_transaction(conn):
            lock.acquire(conn, clock())
            run_id, as_of, done = _start_or_resume(conn, ctx.now, now_given, mode, only, clock())
            lock.attach_run(conn, run_id)
    except OperationalError:
        lock.check_free(conn, clock())  # what kept us waiting was another run: name it
        raise
    ctx.run_id, ctx.now, ctx.mode = run_id, as_of, mode
    report = RunReport(run_id, as_of, mode, dry_run=False, resumed=bool(done))
    try:
        with batch_gc(), checkpoints.beside_the_steps(conn, ctx.settings.busy_timeout) as checkpointing:
            for name in names:
                if any(step.step == name for step in report.steps):
                    continue  # run beside the step before it
                if name in done:
                    report.steps.append(StepReport(name, done[name], 0.0, skipped=True))
                    continue
                if name == BESIDE[0]:
                    _load_beside(names, done)  # while the thread still checkpoints allocate's commit
                    checkpointing.stop()  # the pair may fork, and a child is not forked beside a thread
                if _beside(name, names, done):
                    ran = _run_beside(ctx, *BESIDE, clock)
                else:
                    ran = [_run_step(ctx, name, clock)]
                    checkpointing.committed()
                report.steps += ran
                if on_step:
                    for step in ran:
                        on_step(step)
    except Exception as exc:
        if isinstance(exc, StepFailure):
            name, exc = exc.step, exc.cause
        why = _why(exc)
        log.debug("batch run %s failed in step %s", run_id, name, exc_info=exc)
        recorded = _finish_failed(conn, run_id, f"step {name}: {why}", clock)
        raise BatchFailed(
            _("batch run {run_id} failed in step {name} (its changes were undone, earlier steps are "
              "kept): {why}; fix the cause and run `ils batch run` again to resume it{recorded}").format(run_id=run_id, name=name, why=why, recorded=recorded)
        ) from exc
    _finish(conn, run_id, "succeeded", None, clock)
    if mode == "night":
        _refresh_statistics(conn)
    return report


# What a night changes in most rows: every pending request's state, to accepted, rejected or
# applied. In a young library (its first weeks, when the pending requests are mostly one night's)
# the planner, reading statistics taken before the night, expected thousands of rows where none
# are pending any more, and PostgreSQL read the whole table for each step of the next intraday run
# (the city: about 0.1 s of a 0.3-0.6 s run; docs/performance.md).
NIGHT_CHANGES_MOST_OF = {"pending_requests": ("state",)}


def _refresh_statistics(conn: Connection) -> None:
    """PostgreSQL: the planner's statistics of what the night changed most of, brought up to date
    once it has succeeded. A failure here is logged, not the night's: the day's statements only
    plan as before (autovacuum will analyze the table in its time)."""
    try:
        db.refresh_statistics(conn, NIGHT_CHANGES_MOST_OF)
    except Exception as exc:  # noqa: BLE001 - the night is done and recorded
        if conn.in_transaction():
            conn.rollback()
        log.warning("could not bring the statistics of %s up to date: %s", ", ".join(NIGHT_CHANGES_MOST_OF), _why(exc))


# The steps allocate millions of rows and tuples that hold no cycles; at Python's default
# threshold (700) the cyclic collector ran ~10% of a night, walking them over and over.
BATCH_GC_THRESHOLDS = (100_000, 50, 100)


@contextlib.contextmanager
def batch_gc() -> Iterator[None]:
    """The run's collector: what start-up made (modules, the engine, the policy) is frozen
    out of every collection, and a collection waits for 100,000 new objects, not 700.

    In a process whose start-up froze its modules already (`ils`, ils.__main__), they stay
    frozen after the run: thawed, they were all gone over again as Python exits, which cost a
    city intraday run 160-200 ms of CPU after its atexit handlers (20-30 ms frozen), a third
    of its time. A front end's process, which froze nothing, gets its collector back as it was."""
    before = gc.get_threshold()
    thaw = collector.nothing_frozen()
    gc.freeze()
    gc.set_threshold(*BATCH_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if thaw:
            gc.unfreeze()


def run_until_current(ctx: Context, *, now_given: bool, **options) -> list[RunReport]:
    """Run tonight's batch; if a crashed or failed run was resumed first, go on with tonight's.

    Without this, the cron run after a bad night would finish the bad night and stop,
    leaving tonight undone until someone noticed.
    """
    tonight = ctx.now
    runs = [run_batch(ctx, now_given=now_given, **options)]
    last = runs[-1]
    if last.resumed and not now_given and not options.get("dry_run") and last.as_of != tonight:
        ctx.now = tonight
        runs.append(run_batch(ctx, now_given=True, **options))
    return runs


def _start_or_resume(conn: Connection, now: dt.datetime, now_given: bool, mode, only, wall_now):
    """Resume the last run if it crashed or failed (same `now`, finished steps skipped), else start one."""
    r, s = schema.batch_runs, schema.batch_steps
    last = conn.execute(select(r).order_by(r.c.id.desc()).limit(1)).first()
    if last is not None and last.status in ("running", "failed") and not last.dry_run:
        if not now_given or last.as_of == now:
            conn.execute(update(r).where(r.c.id == last.id).values(status="running", message=None))
            finished = select(s.c.step, s.c.counts).where(s.c.run_id == last.id, s.c.finished_at.is_not(None))
            done = {step: json.loads(counts) for step, counts in conn.execute(finished)}
            log.warning("resuming batch run %s of %s; steps already done: %s", last.id, last.as_of, ", ".join(done) or "none")
            return last.id, last.as_of.astimezone(LIBRARY_TZ), done
        conn.execute(update(r).where(r.c.id == last.id).values(status="interrupted", finished_at=wall_now))
    run_id = conn.execute(
        r.insert().values(as_of=now, started_at=wall_now, status="running", only_step=only, dry_run=False).returning(r.c.id)
    ).scalar_one()
    return run_id, now, {}


def _run_step(ctx: Context, name: str, clock) -> StepReport:
    conn = ctx.conn
    started = time.perf_counter()
    # The step's effects and the record that it finished commit together: a crash
    # leaves either both or neither, so a resumed run knows exactly what is left.
    with write_transaction(conn):
        lock.heartbeat(conn, clock())
        _record_start(conn, ctx.run_id, name, clock())
        counts = STEPS[name].run(ctx)
        _record_end(conn, ctx.run_id, name, clock(), counts)
    return StepReport(name, counts, time.perf_counter() - started)


def _record_start(conn: Connection, run_id: int | None, name: str, started_at: dt.datetime) -> None:
    s = schema.batch_steps
    conn.execute(s.delete().where(s.c.run_id == run_id, s.c.step == name))
    conn.execute(s.insert().values(run_id=run_id, step=name, started_at=started_at))


def _record_end(conn: Connection, run_id: int | None, name: str, finished_at: dt.datetime, counts: dict) -> None:
    s = schema.batch_steps
    conn.execute(s.update().where(s.c.run_id == run_id, s.c.step == name)
                 .values(finished_at=finished_at, counts=json.dumps(counts, ensure_ascii=False)))


def _why(exc: BaseException) -> str:
    """A step's failure in one line: the typed fault's sentence, else the exception's first line."""
    if isinstance(exc, forked.ChildFailed):
        return exc.why
    cause = faults.explain(exc)
    return str(cause) if cause is not None else f"{type(exc).__name__}: {exc}".splitlines()[0]


def _beside(name: str, names: list[str], done: Mapping[str, dict]) -> bool:
    """Whether `name` starts the pair of steps run side by side: both left to do tonight, on a
    machine where a forked child gets a CPU of its own (else one after the other, as ever)."""
    if name != BESIDE[0] or not set(BESIDE) <= set(names) or set(BESIDE) & set(done):
        return False
    why_not = forked.why_not_fork()
    if why_not is not None:
        log.debug("%s and %s one after the other: %s", *BESIDE, why_not)
    return why_not is None


def _load_beside(names: list[str], done: Mapping[str, dict]) -> None:
    """Import the modules of the pair's steps left to do tonight. Both are loaded before the fork: the
    child inherits what render imports (jinja, the mail, the settings), most of what the reports
    import too, instead of importing it again on the night's critical path (a city: 0.1-0.2 s of
    the reports' 1.7 s). And before the checkpoint thread is stopped: stopping waits for the
    checkpoint of allocate's commit (a city: 0.08-0.11 s), which copies the log with the GIL
    released, so the imports (0.07-0.09 s) are made in that wait instead of after it."""
    for name in BESIDE:
        if name in names and name not in done:
            STEPS[name]


def _run_beside(ctx: Context, there: str, here: str, clock) -> list[StepReport]:
    """Step `there` in a forked child while this process runs `here`; both recorded here, in one
    transaction: the child only reads, so it never waits for (or holds) the write lock.

    `here`'s transaction commits after the child is done, with both records: if the child
    fails, `here` is undone too, as if `there` had failed first (then `here` never ran), and
    a resumed run does both, `there` reading what allocate left. If `here` fails, `there`'s
    record (if the child succeeded) is committed on its own, as if it had run first. Both steps'
    modules are loaded already (_load_beside, before the checkpoint thread stopped): the child
    inherits them.
    """
    conn = ctx.conn
    if conn.in_transaction():
        conn.commit()  # fork with the connection idle: no transaction, no lock held in the child's copy
    # The child never reads this connection's page cache (it opens its own), and render needs few of
    # its pages: freed, it is not counted again in the child's peak (a prefecture's reports: 1,050-
    # 1,078 MB before, 972-975 MB with the heap's free pages given back too, forked.free_heap).
    db.release_page_cache(conn)
    began, started = clock(), time.perf_counter()
    child = forked.fork(partial(_child_step, ctx, there, clock), _why)
    reaped = False

    def wait() -> tuple[dict, dt.datetime, float]:
        nonlocal reaped
        try:
            counts, finished_at = child.result()
        except forked.ChildFailed as exc:
            raise StepFailure(there, exc) from None
        finally:
            reaped = True
        seconds = time.perf_counter() - started
        log.info("%s: ran in process %d beside %s, %.2f s; peak memory %.0f MB there, %.0f MB here",
                 there, child.pid, here, seconds, child.peak_kb / 1024, _own_peak_kb() / 1024)
        return counts, finished_at, seconds

    try:
        try:
            with write_transaction(conn):
                lock.heartbeat(conn, clock())
                _record_start(conn, ctx.run_id, there, began)
                _record_start(conn, ctx.run_id, here, clock())
                counts = STEPS[here].run(ctx)
                _record_end(conn, ctx.run_id, here, clock(), counts)
                ran_here = StepReport(here, counts, time.perf_counter() - started)
                there_counts, finished_at, seconds = wait()
                _record_end(conn, ctx.run_id, there, finished_at, there_counts)
        except StepFailure:
            raise
        except Exception as exc:
            if not reaped:  # `here` failed: `there` is kept if it was done, as if it had run first
                there_counts, finished_at, seconds = wait()
                with write_transaction(conn):
                    _record_start(conn, ctx.run_id, there, began)
                    _record_end(conn, ctx.run_id, there, finished_at, there_counts)
            raise StepFailure(here, exc) from exc
    finally:
        if not reaped:  # leaving on KeyboardInterrupt, SystemExit...: the child goes too
            child.stop()
    return [StepReport(there, there_counts, seconds), ran_here]


def _child_step(ctx: Context, name: str, clock) -> tuple[dict, dt.datetime]:
    """Step `name` in a forked child, on a connection of its own, in one read transaction; its
    counts and when it finished. It writes nothing: the parent records it."""
    # SQLite: a file of up to 1 GB read whole through the memory map, not only its first 256 MB (a
    # larger one is not mapped at all: db.UNMAPPED_FROM). The child starts with an empty page cache,
    # and a city's holds, patrons and their indexes lie past 256 MB: each page was read with a system
    # call, copied, into memory newly allocated (city: 0.1-0.2 s of the reports' CPU, their critical
    # path beside render).
    engine = db.open_engine_like(ctx.conn, busy_timeout=ctx.settings.busy_timeout, mmap_bytes=db.READER_MMAP_BYTES)
    with faults.translated(db.location(str(engine.url))):
        conn = engine.connect()  # never closed: the child leaves by os._exit (ils/infra/forked.py)
        if conn.dialect.name == "postgresql":
            # One snapshot for all the reports, as one transaction gave them when they ran
            # first; render's writes are not committed before this child is done anyway.
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        counts = STEPS[name].run(dataclasses.replace(ctx, conn=conn))
        finished_at = clock()
        conn.rollback()
    return counts, finished_at


def _own_peak_kb() -> int:
    import resource  # POSIX, as fork is

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _finish_failed(conn: Connection, run_id: int, message: str, clock) -> str:
    """Record the failure; if the database itself is what failed, say so instead (the next run still resumes:
    a run left `running` by a dead process is resumed like a failed one)."""
    try:
        _finish(conn, run_id, "failed", message, clock)
    except Exception as exc:  # noqa: BLE001 - the original fault is what the person must see
        log.debug("could not record the failure of run %s", run_id, exc_info=True)
        if faults.explain(exc) is None:
            raise
        return " (the failure could not be recorded in the database either)"
    return ""


def _finish(conn: Connection, run_id: int, status: str, message: str | None, clock) -> None:
    if conn.in_transaction():
        conn.rollback()
    r = schema.batch_runs
    with write_transaction(conn):
        conn.execute(update(r).where(r.c.id == run_id).values(status=status, finished_at=clock(), message=message))
        lock.release(conn)


def _dry_run(ctx: Context, names, mode, on_step, clock) -> RunReport:
    """Every step inside one transaction that is rolled back: what tonight would do, changing nothing."""
    conn = ctx.conn
    r = schema.batch_runs
    report = RunReport(None, ctx.now, mode, dry_run=True)
    lock.check_free(conn, clock())
    outer = write_transaction(conn)
    try:
        lock.acquire(conn, clock())
        ctx.run_id = conn.execute(
            r.insert().values(as_of=ctx.now, started_at=clock(), status="running", dry_run=True).returning(r.c.id)
        ).scalar_one()
        ctx.mode = mode
        for name in names:
            started = time.perf_counter()
            with conn.begin_nested():
                counts = STEPS[name].run(ctx)
            report.steps.append(StepReport(name, counts, time.perf_counter() - started))
            if on_step:
                on_step(report.steps[-1])
    finally:
        outer.rollback()
    return report


def recent_runs(conn: Connection, limit: int = 10) -> list[dict]:
    r = schema.batch_runs
    query = select(r).where(r.c.dry_run.is_(False)).order_by(r.c.id.desc()).limit(limit)
    return [
        {"run": row.id, "as_of": row.as_of.astimezone(LIBRARY_TZ), "status": row.status,
         "started": row.started_at.astimezone(LIBRARY_TZ),
         "seconds": round((row.finished_at - row.started_at).total_seconds(), 2) if row.finished_at else None,
         "message": row.message or ""}
        for row in conn.execute(query)
    ]


def run_steps(conn: Connection, run_id: int | None = None) -> list[dict]:
    """A run's steps: their counts, one row per count, and how long each took (latest run by default)."""
    r, s = schema.batch_runs, schema.batch_steps
    if run_id is None:
        run_id = conn.execute(select(r.c.id).where(r.c.dry_run.is_(False)).order_by(r.c.id.desc()).limit(1)).scalar()
    if run_id is None:
        raise IlsError(_("no batch run has been recorded yet"))
    rows = []
    for row in conn.execute(select(s).where(s.c.run_id == run_id).order_by(s.c.started_at)):
        if row.finished_at is None:
            rows.append({"step": row.step, "what": "unfinished", "count": None})
            continue
        seconds = round((row.finished_at - row.started_at).total_seconds(), 3)
        rows += count_rows(row.step, json.loads(row.counts)) + [{"step": row.step, "what": "seconds", "count": seconds}]
    return [{"run": run_id, **row} for row in rows]

def count_rows(step: str, counts: dict) -> list[dict]:
    """A step's counts as (step, what, count) rows; rejections one row per reason."""
    rows = []
    for key, value in counts.items():
        if key == "rejected_by_reason":
            rows += [{"step": step, "what": f"rejected: {reason}", "count": n} for reason, n in value.items()]
        elif value:
            rows.append({"step": step, "what": key, "count": value})
    return rows or [{"step": step, "what": "nothing to do", "count": 0}]
