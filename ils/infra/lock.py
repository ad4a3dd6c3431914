"""The one-at-a-time lock of the batch: a row any engine can hold, that a crashed run cannot keep forever."""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ils.errors import BatchRunning
from ils.infra import schema
from ils.infra.i18n import _

LOCK_NAME = "batch"
# A live run beats its heartbeat at every step; one silent this long has died or hung.
STALE_AFTER = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class Holder:
    """Who holds the batch lock: their run, the process (owner), since when, and their last heartbeat."""

    run_id: int | None
    owner: str
    acquired_at: dt.datetime
    heartbeat_at: dt.datetime

    def describe(self) -> str:
        return f"run {self.run_id} ({self.owner}, since {self.acquired_at:%Y-%m-%d %H:%M:%S %Z})"


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder(conn: Connection, name: str = LOCK_NAME) -> Holder | None:
    t = schema.batch_lock
    row = conn.execute(select(t).where(t.c.name == name)).first()
    if row is None:
        return None
    return Holder(row.run_id, row.owner, row.acquired_at, row.heartbeat_at)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_live(found: Holder, wall_now: dt.datetime) -> bool:
    """Whether the holder may still be running: a dead process on this host, or a heartbeat
    older than STALE_AFTER, means a crashed run left the row behind."""
    if wall_now - found.heartbeat_at > STALE_AFTER:
        return False
    host, _colon, pid = found.owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        return _process_alive(int(pid))
    return True


def acquire(conn: Connection, wall_now: dt.datetime, name: str = LOCK_NAME) -> Holder | None:
    """Take the lock in the caller's transaction; returns the stale holder it replaced, if any."""
    t = schema.batch_lock
    found = holder(conn, name)
    what = _what(name)
    if found is not None:
        _refuse_live(found, wall_now, name)
        conn.execute(delete(t).where(t.c.name == name, t.c.owner == found.owner))
    try:
        with conn.begin_nested():
            conn.execute(t.insert().values(name=name, owner=owner_id(), acquired_at=wall_now, heartbeat_at=wall_now))
    except IntegrityError:
        raise BatchRunning(_("another {what} took the lock at the same moment").format(what=what)) from None
    return found


def check_free(conn: Connection, wall_now: dt.datetime, name: str = LOCK_NAME) -> None:
    """Look, without waiting for any write lock, whether a live run holds the lock; raise BatchRunning if so.

    On SQLite a second run that went straight for the lock would queue behind the first
    run's write transaction for the whole busy timeout, and then, the first run finished,
    run an empty night; a plain read (WAL lets it through) refuses it at once instead.
    """
    found = holder(conn, name)
    if conn.in_transaction():
        conn.rollback()
    if found is not None:
        _refuse_live(found, wall_now, name)


def _what(name: str) -> str:
    return "batch run" if name == LOCK_NAME else f"{name} run"


def _refuse_live(found: Holder, wall_now: dt.datetime, name: str) -> None:
    if is_live(found, wall_now):
        raise BatchRunning(_("another {what} is in progress: {found}").format(what=_what(name), found=found.describe()))


def attach_run(conn: Connection, run_id: int) -> None:
    t = schema.batch_lock
    conn.execute(update(t).where(t.c.name == LOCK_NAME, t.c.owner == owner_id()).values(run_id=run_id))


def heartbeat(conn: Connection, wall_now: dt.datetime, name: str = LOCK_NAME) -> bool:
    """Tell later runs this one is alive; False if the lock is no longer this process's."""
    t = schema.batch_lock
    beat = update(t).where(t.c.name == name, t.c.owner == owner_id()).values(heartbeat_at=wall_now)
    return conn.execute(beat).rowcount == 1


def release(conn: Connection, name: str = LOCK_NAME) -> None:
    t = schema.batch_lock
    conn.execute(delete(t).where(t.c.name == name, t.c.owner == owner_id()))


def refuse_if_running(conn: Connection, wall_now: dt.datetime) -> None:
    """For the front end: raise BatchRunning while a live run holds the lock."""
    found = holder(conn)
    if found is not None and is_live(found, wall_now):
        raise BatchRunning(
            _("requests are not accepted while the nightly batch runs; please try again later ({found})").format(found=found.describe())
        )
