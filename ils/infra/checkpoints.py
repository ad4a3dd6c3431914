"""SQLite: the batch's write-ahead log copied into the database file by a thread of its own, beside the next step, not by the commit that filled it.

SQLite copies the log back into the database file (a checkpoint) in the commit that takes the
log past 1,000 pages, and the committing process waits for it. A night's steps each commit a
large transaction: a city's accept commit waited 0.25 s for its checkpoint, and the night 0.4 s
in all, on a machine whose second core sat idle meanwhile. Here the batch's connection does not
checkpoint (`wal_autocheckpoint = 0`); after each step's commit a thread, on a connection of its
own, runs a PASSIVE checkpoint while the next step works: it copies the frames committed so far
and waits for no reader or writer, and the writer starts the log from its beginning again once
a checkpoint has copied all of it. Nothing it does changes what a reader sees, and a checkpoint
that fails loses nothing: the log still holds every committed page, and the next checkpoint (the
thread's, a commit's once the batch is done, or the last connection's as it closes) copies them.

A forked child must not start beside a running thread (ils/infra/forked.py): `stop()` ends the
thread, and hands checkpoints back to the connection's commits, before the reports' fork.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import Connection

from ils.infra.db import names_a_file, sqlite_driver

log = logging.getLogger(__name__)


class Checkpoints:
    """The thread that checkpoints after each of the batch's commits (`committed()`), until `stop()`."""

    def __init__(self, conn: Connection, path: Path, busy_timeout: float):
        self._path = path
        self._busy_timeout = busy_timeout
        self._wanted = threading.Condition()
        self._pending = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        # On the driver's connection: a pragma, not a unit of work (SQLAlchemy would begin one).
        self._driver = sqlite_driver(conn)
        self._restore: int | None = self._driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        self._driver.execute("PRAGMA wal_autocheckpoint = 0")
        self.done = 0  # checkpoints run (for the log and the tests)

    def committed(self) -> None:
        """A step has committed: copy its log into the database file, beside the next step."""
        if self._restore is None:
            return  # stopped: the connection's commits checkpoint again
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="ils-checkpoints", daemon=True)
            self._thread.start()
        with self._wanted:
            self._pending = True
            self._wanted.notify()

    def stop(self) -> None:
        """End the thread (after the checkpoint it is running, if any) and let the connection's
        commits checkpoint again, as they do outside a batch."""
        if self._thread is not None:
            with self._wanted:
                self._stopping = True
                self._wanted.notify()
            self._thread.join()
            self._thread = None
        if self._restore is not None:
            self._driver.execute(f"PRAGMA wal_autocheckpoint = {int(self._restore)}")
            self._restore = None

    def _work(self) -> None:
        own = None
        try:
            # mode=rw: a file moved away meanwhile is not created anew, empty, in its place.
            own = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=rw", uri=True, timeout=self._busy_timeout,
                                  isolation_level=None, check_same_thread=False)
            while self._next():
                self._checkpoint(own)
        except Exception:  # noqa: BLE001 - the log keeps every page: a later checkpoint copies them
            log.debug("the checkpoint thread stopped; the connection's commits checkpoint again", exc_info=True)
        finally:
            if own is not None:
                own.close()

    def _next(self) -> bool:
        """Wait for a commit to checkpoint after; False once stopping (the pending one is done first)."""
        with self._wanted:
            while not self._pending and not self._stopping:
                self._wanted.wait()
            pending, self._pending = self._pending, False
            return pending

    def _checkpoint(self, own: sqlite3.Connection) -> None:
        try:
            busy, frames, copied = own.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # the disk full, say: nothing is lost, the log holds it
            log.debug("checkpoint failed, left to the next one: %s", exc)
            return
        self.done += 1
        log.debug("checkpoint: %s of %s log frames copied into the database file%s",
                  copied, frames, " (a reader held the rest)" if busy else "")


class _NoCheckpoints:
    """PostgreSQL, or an SQLite database without a file or a write-ahead log: nothing to do."""

    def committed(self) -> None:
        pass

    def stop(self) -> None:
        pass


@contextlib.contextmanager
def beside_the_steps(conn: Connection, busy_timeout: float) -> Iterator[Checkpoints | _NoCheckpoints]:
    """Checkpoints in a thread of their own for the duration of the block, on an SQLite file in WAL mode."""
    path = _wal_file(conn)
    if path is None:
        yield _NoCheckpoints()
        return
    checkpoints = Checkpoints(conn, path, busy_timeout)
    try:
        yield checkpoints
    finally:
        checkpoints.stop()


def _wal_file(conn: Connection) -> Path | None:
    if conn.dialect.name != "sqlite":
        return None
    database = conn.engine.url.database
    if not names_a_file(database) or database.startswith("file:"):
        return None
    if sqlite_driver(conn).execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        return None
    return Path(database)

