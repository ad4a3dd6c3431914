"""The engines every database test runs on: an SQLite file, and a PostgreSQL database of its own.

ILS_TEST_ENGINES (default "sqlite,postgresql") chooses them; ILS_TEST_PG names the
PostgreSQL server (default: this machine's, trust auth). If PostgreSQL is asked for and
cannot be reached (after trying to start this machine's cluster), its tests fail: CI must
not pass on SQLite alone.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ils.infra.installation import initialise

ENGINES = tuple(e.strip() for e in os.environ.get("ILS_TEST_ENGINES", "sqlite,postgresql").split(",") if e.strip())
PG_SERVER = os.environ.get("ILS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# One prefix per process: under pytest-xdist each worker is a process of its own, so no
# worker (nor a second suite running at the same time) ever makes or drops another's databases.
PREFIX = f"ils_t{os.getpid()}_"


OPEN: dict[str, Databases] = {}
"""This process's Databases, by engine (conftest.py releases each test's own after it)."""


class Databases:
    """Makes databases for one engine: blank, initialised for a profile (from a template), or copied."""

    def __init__(self, engine: str, directory: Path):
        self.engine = engine
        self.directory = directory
        self._names = itertools.count(1)
        self._templates: dict[str, str] = {}
        self._created: list[str] = []
        self._dropper: _Dropper | None = None
        if engine == "postgresql":
            self._server = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
            self._drop_leftovers()
            self._dropper = _Dropper(self._server)

    # -- the three ways to get a database ------------------------------------------------

    def blank(self) -> str:
        name = f"{PREFIX}{next(self._names)}"
        if self.engine == "sqlite":
            path = self.directory / (name + ".db")
            path.touch()  # an empty file is an empty SQLite database; ils refuses a missing one
            return f"sqlite:///{path}"
        self._execute(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return self._url(name)

    def initialised(self, profile: str) -> str:
        if profile not in self._templates:
            url = self.blank()
            initialise(url, profile)
            self._templates[profile] = url
        return self.copy(self._templates[profile])

    def copy(self, url: str) -> str:
        """A copy of a database nobody has open (an SQLite file, or a PostgreSQL template)."""
        target = self.blank() if self.engine == "sqlite" else None
        if self.engine == "sqlite":
            shutil.copy(make_url(url).database, make_url(target).database)
            return target
        name = f"{PREFIX}{next(self._names)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"')
        self._created.append(name)
        return self._url(name)

    # -- housekeeping -------------------------------------------------------------------

    def mark(self) -> int:
        """Where the list of databases made so far ends (for `release`)."""
        return len(self._created)

    def release(self, since: int) -> None:
        """Drop the databases made after `mark()` returned `since`, templates excepted: a test's own,
        once the test is over. They are dropped by a thread of their own while the next tests run
        (a DROP DATABASE waits on a checkpoint of the server, which costs this process no CPU)."""
        if self._dropper is None:
            return
        keep = {make_url(url).database for url in self._templates.values()}
        made = self._created[since:]
        self._created[since:] = [name for name in made if name in keep]
        for name in made:
            if name not in keep:
                self._dropper.put(name)

    def close(self) -> None:
        if self._dropper is None:
            return
        for name in reversed(self._created):
            self._dropper.put(name)
        self._created.clear()
        self._dropper.close()
        self._server.dispose()

    def _url(self, name: str) -> str:
        return make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)

    def _execute(self, sql: str) -> None:
        with self._server.connect() as conn:
            conn.execute(text(sql))

    def _drop_leftovers(self) -> None:
        """Databases a killed test session left behind (not another live session's)."""
        with self._server.connect() as conn:
            names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'ils\\_t%\\_%'")).scalars()
            stale = [n for n in names if not _alive(n)]
        for name in stale:
            # IF EXISTS: another worker of the same run may be dropping the same leftover.
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _Dropper:
    """Drops PostgreSQL databases in threads of their own, several at once.

    A DROP DATABASE waits for a checkpoint of the whole server; drops that wait together
    share one. Measured on the busy 2-core machine of 2026-12-01 (load 8, 12 databases of
    the kitami schema): 4.9 s a drop one after another, 0.36 s a drop four at once."""

    THREADS = 4

    def __init__(self, server):
        self._server = server
        self._pool = ThreadPoolExecutor(self.THREADS, thread_name_prefix="drop-test-databases")
        self._drops: list[tuple[str, Future]] = []

    def put(self, name: str) -> None:
        self._drops.append((name, self._pool.submit(self._drop, name)))

    def close(self) -> None:
        """Wait until every database handed over is dropped; fail naming any that could not be."""
        self._pool.shutdown(wait=True)
        failed = [f"{name}: {type(exc).__name__}: {exc}".splitlines()[0]
                  for name, drop in self._drops if (exc := drop.exception()) is not None]
        if failed:
            raise RuntimeError("could not drop the test databases: " + "; ".join(failed[:5]))

    def _drop(self, name: str) -> None:
        with self._server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _alive(name: str) -> bool:
    pid = name[len("ils_t"):].split("_", 1)[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ensure_postgresql() -> str | None:
    """None once the server answers; starts this machine's cluster if it is down. Else why not."""
    problem = postgresql_reachable()
    if problem is None or "ILS_TEST_PG" in os.environ or not shutil.which("pg_ctlcluster"):
        return problem
    clusters = sorted(Path("/etc/postgresql").glob("*/main"))
    if not clusters:
        return problem
    version = clusters[-1].parent.name
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                   capture_output=True, check=False, timeout=60)
    for _ in range(30):
        problem = postgresql_reachable()
        if problem is None:
            return None
        time.sleep(1)
    return problem


def postgresql_reachable() -> str | None:
    """None if the server answers, else why not."""
    # Disposed at once: a pooled connection left for the garbage collector may be
    # finalised in the middle of CPython 3.11's ast.parse (pytest's assertion rewriting),
    # which then fails with "AST constructor recursion depth mismatch".
    engine = create_engine(PG_SERVER)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means: not reachable
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        engine.dispose()
    return None


def query_plan(conn, statement: str, parameters) -> list[str]:
    """How the database would run `statement` with these (DBAPI) parameters, a line per step:
    SQLite's EXPLAIN QUERY PLAN details; PostgreSQL's EXPLAIN with sequential scans discouraged
    (a test's tables are so small the planner would read them whole), in the connection's
    transaction, which the caller rolls back."""
    if conn.dialect.name == "sqlite":
        return [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return [row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)]
