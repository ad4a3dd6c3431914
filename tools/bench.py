"""Benchmark of one night at a given scale: wall time, rows per second, peak memory, ratio to an I/O floor."""

from __future__ import annotations

import compileall
import datetime as dt
import math
import multiprocessing
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from ils.exchange.imports import files_in, import_files
from ils.frontend.requests import import_request_file, submit
from ils.infra import db, schema
from ils.infra.installation import initialise
from ils.library.policy import load_policy
from ils.tools import bulkload, floor
from ils.tools.floor import Floor, night_files
from ils.tools.sample.generator import SampleSpec, write_files

NIGHT = dt.datetime.fromisoformat("2026-11-26T03:00:00+09:00")
LOADED_AT = NIGHT - dt.timedelta(hours=1)
INTRADAY_ENTERED = dt.datetime.fromisoformat("2026-11-26T10:00:00+09:00")
INTRADAY_RUN = dt.datetime.fromisoformat("2026-11-26T10:10:00+09:00")
# Marks a PostgreSQL benchmark library whose load finished (a killed load is redone).
LOADED_SETTING = "benchmark_loaded"


@dataclass
class Figures:
    preset: str
    profile: str
    engine: str = "sqlite"
    copies: int = 0
    patrons: int = 0
    active_holds: int = 0
    requests: int = 0
    load_seconds: float | None = None
    night_seconds: float = 0.0
    # The night's CPU (user + sys) in its child process: on a shared machine the wall time
    # also counts the waits for a core; the CPU time does not (PostgreSQL's server not counted).
    night_cpu_seconds: float = 0.0
    # The night's peak resident memory (PostgreSQL's server processes not counted). Where the
    # reports run in a second process beside render (docs/batch.md), the sum of both processes'
    # peaks: an upper bound of what the night held at once (pages the two share copy-on-write
    # after the fork, the modules and the policy, are counted twice); each also on its own.
    night_peak_mb: float = 0.0
    night_batch_process_peak_mb: float = 0.0
    night_reports_process_peak_mb: float = 0.0  # 0 when the reports ran in the batch process
    rows_written: int = 0
    rows_per_second: float = 0.0
    # The honest floor (tools/floor.py): the night's own diff replayed, and its report files written again.
    floor_seconds: float = 0.0
    floor_database_seconds: float = 0.0
    floor_files_seconds: float = 0.0
    floor_rows: int = 0
    floor_files: int = 0
    ratio_to_floor: float = 0.0
    floor_rows_by_table: dict = field(default_factory=dict)
    # The old floor: rows_written synthetic rows appended to an empty, unindexed table in one transaction.
    bare_append_seconds: float = 0.0
    ratio_to_bare_append: float = 0.0
    intraday_requests: int = 0
    intraday_seconds: float = 0.0  # `ils batch run --intraday` as a whole process, start-up included
    intraday_peak_mb: float = 0.0
    intraday_in_process_seconds: float = 0.0  # the front end's ils.frontend.api.run_intraday, imports done
    steps: dict = field(default_factory=dict)  # step -> seconds tonight
    growth: dict = field(default_factory=dict)  # step -> {size: seconds}, and the exponent full vs quarter


Progress = Callable[[str], None]


def _bring_up_to_date(url: str, progress: Progress) -> None:
    """Migrate a kept library to this code's schema: a benchmark's base outlives the code
    that loaded it, and the night refuses a database whose schema is behind."""
    engine = db.open_engine(url)
    try:
        before, after = db.upgrade(engine)
    finally:
        engine.dispose()
    if before != after:
        progress(f"schema migrated from {before} to {after}")


class SqliteStore:
    """The benchmark's databases as SQLite files in the work directory."""

    engine = "sqlite"

    def __init__(self, workdir: Path):
        self.workdir = workdir

    def prepare(self, spec: SampleSpec, preset: str, profile: str, progress: Progress) -> tuple[Path, float | None]:
        """The generated library, imported once through the validated importer and kept;
        returns it and the seconds it took (None if reused)."""
        path = self.workdir / f"{preset}-{spec.seed}-{profile}.db"
        if path.exists():
            progress(f"reusing {path}")
            _bring_up_to_date(f"sqlite:///{path}", progress)
            return path, None
        started = time.perf_counter()
        files = self.workdir / f"{preset}-{spec.seed}"
        if not (files / "requests.jsonl").exists():
            progress(f"generating the {preset} library into {files}")
            write_files(spec, files)
        partial = path.with_suffix(".partial")
        for stale in self.workdir.glob(partial.name + "*"):
            stale.unlink()
        url = f"sqlite:///{partial}"
        initialise(url, profile)
        engine = db.open_engine(url)
        try:
            with engine.connect() as conn:
                progress("importing (branches ... holds)")
                import_files(conn, files_in(files), load_policy(profile), LOADED_AT)
                progress("importing the day's requests")
                import_request_file(conn, files / "requests.jsonl", LOADED_AT)
                conn.commit()
                # Fold the WAL into the file that is copied for each night; outside any
                # transaction (SQLAlchemy would begin one), or SQLite refuses.
                conn.connection.dbapi_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            engine.dispose()
        partial.rename(path)
        return path, time.perf_counter() - started

    def fresh_copy(self, base: Path, name: str, progress: Progress) -> str:
        """A copy of the library `base` to run on, as `name`.db in the work directory."""
        copy = self.workdir / f"{name}.db"
        for stale in self.workdir.glob(f"{name}.db*"):
            stale.unlink()
        progress(f"copying the database ({name})")
        shutil.copy(base, copy)
        return f"sqlite:///{copy}"

    def io_floor(self, rows: int, _night_url: str) -> float:
        return io_floor(rows, self.workdir)

    def drop_copies(self) -> None:
        pass  # the copies stay in the work directory, replaced by the next run


class PostgresStore:
    """The benchmark's databases on a PostgreSQL server: the library loaded once by COPY
    into a database of its own, and each night on a copy made with CREATE DATABASE ... TEMPLATE."""

    engine = "postgresql"

    def __init__(self, server_url: str, workdir: Path):
        self.server_url = server_url
        self.workdir = workdir
        self.owner = os.getpid()
        self.copies: set[str] = set()

    @cached_property
    def _server(self):
        return create_engine(self.server_url, isolation_level="AUTOCOMMIT")

    def __getstate__(self):  # sent to the loading process without its engine
        return {k: v for k, v in self.__dict__.items() if k != "_server"}

    def _url(self, name: str) -> str:
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def _execute(self, sql: str) -> None:
        with self._server.connect() as conn:
            conn.execute(text(sql))

    def _exists(self, name: str) -> bool:
        with self._server.connect() as conn:
            return conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first() is not None

    def prepare(self, spec: SampleSpec, preset: str, profile: str, progress: Progress) -> tuple[str, float | None]:
        name = f"ils_bench_{preset}_{spec.seed}_{profile}"
        if self._exists(name):
            engine = db.open_engine(self._url(name))
            with engine.connect() as conn:
                complete = db.get_setting(conn, LOADED_SETTING) == "yes"
            engine.dispose()
            if complete:
                progress(f"reusing database {name}")
                _bring_up_to_date(self._url(name), progress)
                return name, None
            self._execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        started = time.perf_counter()
        self._execute(f'CREATE DATABASE "{name}"')
        url = self._url(name)
        initialise(url, profile)
        engine = db.open_engine(url)
        try:
            with engine.connect() as conn:
                bulkload.load(conn, spec, load_policy(profile), LOADED_AT, progress)
                with conn.begin():
                    db.put_setting(conn, LOADED_SETTING, "yes")
        finally:
            engine.dispose()
        return name, time.perf_counter() - started

    def fresh_copy(self, base: str, name: str, progress: Progress) -> str:
        """A copy of the library `base` to run on, as database ils_bench_`name`_PID: two benchmarks
        on one server (two people at work) do not drop each other's copies."""
        copy = f"ils_bench_{name}_{self.owner}"
        progress(f"copying the database ({copy}, CREATE DATABASE ... TEMPLATE)")
        self._execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        self._execute(f'CREATE DATABASE "{copy}" TEMPLATE "{base}"')
        self.copies.add(copy)
        # PostgreSQL 15 copies a template through its WAL (about 660 MB for the city): without a
        # checkpoint now, the server would write those pages out during the night being timed.
        try:
            self._execute("CHECKPOINT")
        except DBAPIError as e:  # not a superuser nor pg_checkpoint: the night pays for it, as it did
            progress(f"no CHECKPOINT after the copy ({e.orig})")
        return self._url(copy)

    def drop_copies(self) -> None:
        for copy in self.copies:
            self._execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        self.copies.clear()

    def io_floor(self, rows: int, night_url: str) -> float:
        """Seconds this server takes to write `rows` rows of similar width with plain executemany."""
        engine = create_engine(night_url)
        data = ((i, i * 7, "waiting", NIGHT, f"request {i}") for i in range(rows))
        with engine.connect() as conn:
            conn.execute(text("CREATE TABLE io_floor (id serial PRIMARY KEY, a integer, b integer, c text, "
                              "d timestamptz, e text)"))
            conn.commit()
            raw = conn.connection.dbapi_connection
            started = time.perf_counter()
            with raw.cursor() as cursor:
                cursor.executemany("INSERT INTO io_floor (a, b, c, d, e) VALUES (%s, %s, %s, %s, %s)", data)
            raw.commit()
            seconds = time.perf_counter() - started
            conn.execute(text("DROP TABLE io_floor"))
            conn.commit()
        engine.dispose()
        return seconds


def compile_package() -> None:
    """Compile ils's modules to bytecode once, as `pip install` does for an installed ils.

    The children run from this source tree, and with PYTHONDONTWRITEBYTECODE set (or a tree
    that has never been imported from) each would compile every module it imports again: a
    tenth of a second or more per process, which an installed ils never pays."""
    import ils
    import ils.batch

    for folder in {*ils.__path__, *ils.batch.__path__}:
        compileall.compile_dir(folder, quiet=1)


# What the runner logs (at -v) when the reports ran in a process of their own beside render.
BESIDE_PEAKS = re.compile(r"ran in process \d+ beside \w+, [\d.]+ s; peak memory ([\d.]+) MB there, ([\d.]+) MB here")


def _run_child(url: str, cwd: Path, now: dt.datetime, *extra: str) -> tuple[float, tuple[float, float, float], float]:
    """Run `ils batch run` in a child process: (wall seconds, (peak resident MB, that of the batch
    process, that of the reports' process), CPU seconds); the CPU of the process it forked for the
    reports included (the kernel adds a waited-for child's), its memory added to the batch's."""
    command = [sys.executable, "-m", "ils", "-v", "batch", "run", "--db", url, "--now", now.isoformat(), *extra]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    said = child.stderr.read().decode("utf-8", "replace")  # to its end first: a full pipe would stop the night
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"batch run failed: {said}")
    return seconds, beside_peaks(said, usage.ru_maxrss / 1024), usage.ru_utime + usage.ru_stime  # Linux: kilobytes


def beside_peaks(said: str, peak_mb: float) -> tuple[float, float, float]:
    """(the night's peak MB, the batch process's, the reports process's) from the night's log and
    the peak the kernel gave for the batch process (the larger of its own and its child's)."""
    found = BESIDE_PEAKS.search(said)
    if found is None:
        return peak_mb, peak_mb, 0.0
    there, here = float(found[1]), float(found[2])
    return here + there, here, there


def rows_written(conn, run_id: int) -> int:
    """Rows the run inserted or updated: requests judged, holds made or changed, history, notices,
    loans renewed, addresses changed."""
    r, h, n = schema.pending_requests, schema.hold_history, schema.notice_events
    judged = conn.execute(select(func.count()).where(r.c.run_id == run_id)).scalar()
    history = conn.execute(select(func.count()).where(h.c.run_id == run_id)).scalar()
    notices = conn.execute(select(func.count()).where(n.c.run_id == run_id)).scalar()
    applied = conn.execute(
        select(func.count()).where(r.c.run_id == run_id, r.c.state == "applied", r.c.kind.in_(("renew", "email_change")))
    ).scalar()
    holds_written = history  # each history row stands for one hold inserted or updated
    return judged + holds_written + history + notices + applied


def io_floor(rows: int, directory: Path) -> float:
    """Seconds SQLite takes to write `rows` rows of similar width with plain executemany, in WAL."""
    path = directory / "io-floor.db"
    for stale in directory.glob("io-floor.db*"):
        stale.unlink()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, c TEXT, d TEXT, e TEXT)")
    data = ((None, i, i * 7, "waiting", "2026-11-26 03:00:00.000000", f"request {i}") for i in range(rows))
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", data)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    for stale in directory.glob("io-floor.db*"):
        stale.unlink()
    return seconds


def _counts(conn) -> dict:
    count = lambda t, *w: conn.execute(select(func.count()).select_from(t).where(*w)).scalar()  # noqa: E731
    return {
        "copies": count(schema.copies),
        "patrons": count(schema.patrons),
        "active_holds": count(schema.holds, schema.holds.c.status.in_(schema.ACTIVE_HOLD_STATUSES)),
        "requests": count(schema.pending_requests, schema.pending_requests.c.state == "pending"),
    }


def _intraday_requests(conn, how_many: int, seed: int, entered: dt.datetime = INTRADAY_ENTERED) -> list[dict]:
    """New hold requests of the morning: random active patrons, random titles, their home branch."""
    p, t, b = schema.patrons, schema.titles, schema.branches
    rng = random.Random(seed)
    top_patron = conn.execute(select(func.max(p.c.id))).scalar()
    top_title = conn.execute(select(func.max(t.c.id))).scalar()
    branches = conn.execute(select(b.c.code).where(b.c.kind == "library")).scalars().all()
    patron_ids = [rng.randint(1, top_patron) for _ in range(how_many)]
    title_ids = [rng.randint(1, top_title) for _ in range(how_many)]
    cards = dict(conn.execute(select(p.c.id, p.c.card_number).where(p.c.id.in_(patron_ids))).all())
    bibs = dict(conn.execute(select(t.c.id, t.c.bib_id).where(t.c.id.in_(title_ids))).all())
    return [
        {"kind": "hold", "card_number": cards.get(pid), "target": bibs.get(tid), "channel": "web",
         "received_at": (entered - dt.timedelta(seconds=i)).isoformat(),
         "pickup_branch": rng.choice(branches), "client_ref": f"bench-{seed}-{i}"}
        for i, (pid, tid) in enumerate(zip(patron_ids, title_ids, strict=True))
    ]


def _quiet(_message: str) -> None:
    pass


# The phases the bench reports as it goes (its progress messages), for a progress bar's total:
# the night's copy, the night, the honest floor, the intraday run and the old floor, after the
# library is prepared (once reused, on a first run generated and imported: then the bar fills
# early and waits at its end); and per growth size, its library, its copy and its night.
PHASES = 6
PHASES_OF_GROWTH = 2 * 3


def _stderr_progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def benchmark(preset: str, profile: str, workdir: Path, *, seed: int | None = None, intraday: int = 200,
              pg_server: str | None = None, growth: bool = True, progress: Progress | None = None) -> Figures:
    """One night at scale on SQLite, or on PostgreSQL when pg_server names a server; its honest
    floor; an intraday run; and unless `growth` is off, the same night at a quarter and half the size.
    `progress`, if given, is told what is happening (the loading process prints to stderr)."""
    progress = progress or _quiet
    # Absolute: the night runs in a child process whose working directory is the workdir,
    # so a relative path (the default, `bench`) would name bench/bench there.
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    store = PostgresStore(pg_server, workdir) if pg_server else SqliteStore(workdir)
    try:
        return _benchmark(store, preset, profile, seed, intraday, growth, progress)
    finally:
        store.drop_copies()


def _benchmark(store, preset: str, profile: str, seed: int | None, intraday: int, growth: bool,
               progress: Progress) -> Figures:
    workdir = store.workdir
    figures = Figures(preset=preset, profile=profile, engine=store.engine)
    base, figures.load_seconds = _prepare(store, preset, profile, seed, progress)
    compile_package()
    url = store.fresh_copy(base, "night", progress)
    engine = db.open_engine(url)
    with engine.connect() as conn:
        for key, value in _counts(conn).items():
            setattr(figures, key, value)
    engine.dispose()
    progress(f"running the night ({figures.requests:,} requests, {figures.active_holds:,} active holds)")
    started_at = time.time()
    figures.night_seconds, peak, figures.night_cpu_seconds = _run_child(url, workdir, NIGHT)
    figures.night_peak_mb, figures.night_batch_process_peak_mb, figures.night_reports_process_peak_mb = peak
    engine = db.open_engine(url)
    with engine.connect() as conn:
        figures.rows_written = rows_written(conn, 1)
        figures.steps = step_seconds(conn, 1)
    engine.dispose()
    figures.rows_per_second = figures.rows_written / figures.night_seconds
    progress("the honest floor: the night's own writes replayed into a fresh copy of the library")
    _floor(figures, store, base, url, started_at)
    progress(f"{intraday} requests of the morning, then an intraday run, as a process and in-process")
    figures.intraday_requests = intraday
    spec_seed = seed if seed is not None else SampleSpec.preset(preset).seed
    _morning(url, intraday, spec_seed, INTRADAY_ENTERED)
    figures.intraday_seconds, (figures.intraday_peak_mb, _, _), _ = _run_child(url, workdir, INTRADAY_RUN, "--intraday")
    _morning(url, intraday, spec_seed + 1, INTRADAY_ENTERED + INTRADAY_GAP)
    figures.intraday_in_process_seconds = _in_spawned_process(intraday_in_process, url, INTRADAY_RUN + INTRADAY_GAP)
    progress(f"the old floor: {figures.rows_written:,} rows appended to an empty table")
    figures.bare_append_seconds = store.io_floor(figures.rows_written, url)
    figures.ratio_to_bare_append = figures.night_seconds / figures.bare_append_seconds
    if growth:
        figures.growth = _growth(store, preset, profile, seed, figures.steps, figures.night_seconds, progress)
    return figures


# The growth sizes, smallest first, as fractions of the preset (tools/sample/spec.py FRACTIONS).
GROWTH_SIZES = ("quarter", "half")
# A step whose time grows as n·log n has, from a quarter to the whole, an exponent
# log(t_full / t_quarter) / log 4 a little above 1 (1.1 at the city's n); above this it is flagged.
GROWTH_FLAG = 1.15
INTRADAY_GAP = dt.timedelta(minutes=10)  # the second intraday run (in-process), ten minutes after the first


def _prepare(store, preset: str, profile: str, seed: int | None, progress: Progress):
    """The preset's library, loaded once (generated and imported in a process of its own) and reused."""
    spec = SampleSpec.preset(preset)
    if seed is not None:
        spec = spec.with_seed(seed)
    loading_progress = _stderr_progress if progress is not _quiet else _quiet
    # Loading holds the generator's arrays; done in a process of its own, it leaves this
    # one small. A child's peak memory as the kernel counts it includes the RSS of the
    # process that started it, so a fat parent would inflate every figure below.
    return _in_spawned_process(store.prepare, spec, preset, profile, loading_progress)


def _in_spawned_process(function, *args):
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as worker:
        return worker.submit(function, *args).result()


def step_seconds(conn, run_id: int) -> dict[str, float]:
    """Each step of the run and the seconds it took, in the order they ran."""
    s = schema.batch_steps
    rows = conn.execute(select(s.c.step, s.c.started_at, s.c.finished_at).where(s.c.run_id == run_id)
                        .order_by(s.c.started_at))
    return {step: (finished - started).total_seconds() for step, started, finished in rows}


def _floor(figures: Figures, store, base, night_url: str, night_started_at: float) -> None:
    replica = store.fresh_copy(base, "floor", _quiet)
    floor = _in_spawned_process(measure_floor, night_url, replica, store.workdir, night_started_at)
    figures.floor_seconds, figures.floor_rows, figures.floor_files = floor.seconds, floor.rows, floor.files
    figures.floor_database_seconds, figures.floor_files_seconds = floor.database_seconds, floor.files_seconds
    figures.floor_rows_by_table = floor.by_table
    figures.ratio_to_floor = figures.night_seconds / floor.seconds


def measure_floor(night_url: str, replica_url: str, workdir: Path, night_started_at: float) -> Floor:
    """The night's floor (tools/floor.py): `replica` is a fresh copy of the library the night started from;
    the reports' files are the ones the night wrote under the work directory's reports/."""
    night, replica = db.open_engine(night_url), db.open_engine(replica_url)
    scratch = workdir / "floor-reports"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        files = night_files(workdir / "reports", night_started_at)
        return floor.measure(replica, night, replica, files, scratch)
    finally:
        night.dispose()
        replica.dispose()


def _morning(url: str, how_many: int, seed: int, entered: dt.datetime) -> None:
    """`how_many` new hold requests entered at `entered`, as the web would have sent them."""
    engine = db.open_engine(url)
    with engine.connect() as conn:
        morning = _intraday_requests(conn, how_many, seed, entered)
        conn.commit()
        with conn.begin():
            submit(conn, morning, now=entered)
    engine.dispose()


def intraday_in_process(url: str, now: dt.datetime) -> float:
    """Seconds the front end's run_intraday takes in a process that has already started (imports,
    context open): what a web server calling ils.frontend.api pays."""
    from ils.frontend.api import run_intraday
    from ils.infra.context import open_context

    with open_context(url, None, now) as ctx:
        started = time.perf_counter()
        run_intraday(ctx)
        return time.perf_counter() - started


def _growth(store, preset: str, profile: str, seed: int | None, full: dict[str, float], night: float,
            progress: Progress) -> dict:
    """Each step's seconds at a quarter, half and the whole preset, and the exponent from a quarter to the whole."""
    sizes: dict[str, dict[str, float]] = {}
    for size in GROWTH_SIZES:
        base, _ = _prepare(store, f"{size}-{preset}", profile, seed, progress)
        url = store.fresh_copy(base, "growth", progress)
        progress(f"the night at the {size} size")
        seconds, _, _ = _run_child(url, store.workdir, NIGHT)
        engine = db.open_engine(url)
        with engine.connect() as conn:
            sizes[size] = {**step_seconds(conn, 1), "night": seconds}
        engine.dispose()
    sizes["full"] = {**full, "night": night}
    return {step: {**{size: sizes[size].get(step, 0.0) for size in sizes},
                   "exponent": growth_exponent(sizes["quarter"].get(step, 0.0), seconds)}
            for step, seconds in sizes["full"].items()}


def growth_exponent(quarter: float, full: float) -> float | None:
    """k in t ∝ n^k from a quarter to the whole size; None when a time is too small to say (under 5 ms)."""
    if min(quarter, full) < 0.005:
        return None
    return math.log(full / quarter) / math.log(4)


def figure_rows(figures: Figures) -> list[dict]:
    """The figures as (figure, value) rows for the one renderer: the totals, then each step's seconds,
    then the growth, one row per step (seconds at each size, the exponent, flagged above GROWTH_FLAG)."""
    data = asdict(figures)
    steps, growth, by_table = data.pop("steps"), data.pop("growth"), data.pop("floor_rows_by_table")
    shown = [{"figure": key, "value": _shown(value)} for key, value in data.items()]
    shown += [{"figure": f"floor rows in {table}", "value": _shown(rows)} for table, rows in by_table.items()]
    shown += [{"figure": f"step {step} seconds", "value": _shown(seconds)} for step, seconds in steps.items()]
    for step, at in growth.items():
        times = " / ".join(f"{at[size]:.3f}" for size in (*GROWTH_SIZES, "full"))
        exponent = at["exponent"]
        verdict = "too small to say" if exponent is None else (
            f"exponent {exponent:.2f}" + (" WORSE THAN n log n" if exponent > GROWTH_FLAG else ""))
        shown.append({"figure": f"growth {step} (1/4, 1/2, 1 size, s)", "value": f"{times}; {verdict}"})
    return shown


def _shown(value):
    if value is None:
        return "(reused)"
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, int):
        return f"{value:,}"
    return value
