"""The shared context of a command or a batch run: connection, policy, "now", calendars, run id."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from ils.errors import Conflict
from ils.infra import db, files, i18n
from ils.infra.config import Settings, database_url, policy_for, read_settings
from ils.infra.db import write_transaction
from ils.infra.i18n import _
from ils.library.calendar import BranchCalendar, load_calendars
from ils.library.clock import library_date
from ils.library.policy import Policy


@dataclass
class Context:
    """What a command or a step works with: the connection, the library's policy, the run's "now" and the installation's settings."""

    conn: Connection
    policy: Policy
    now: dt.datetime
    settings: Settings = field(default_factory=Settings)
    run_id: int | None = None
    mode: str = "night"  # or "intraday": serve only what changed since the last run

    @property
    def today(self) -> dt.date:
        return library_date(self.now)

    @contextlib.contextmanager
    def writing(self):
        """One unit of work, holding the write lock from its start (SQLite: BEGIN IMMEDIATE).

        A read made before it (looking up a branch, say) may have left an implicit read
        transaction open; db.write_transaction ends it.
        """
        try:
            with write_transaction(self.conn):
                yield self.conn
        except OperationalError as exc:
            if not db.lock_not_available(exc):
                raise
            # On PostgreSQL the counter asks for its rows with NOWAIT rather than queue
            # behind a batch step that may hold them for a minute: one side wins, this one is told.
            raise Conflict(
                _("another session (the batch, or another counter) is working on this copy or hold right "
                  "now; scan it again in a moment")
            ) from None

    @cached_property
    def calendars(self) -> dict[int, BranchCalendar]:
        return load_calendars(self.conn, self.policy.calendar)


@contextlib.contextmanager
def open_context(db_url: str | None, config_path: str | None, now: dt.datetime):
    """Open the configured database, check its schema, load its library's policy."""
    settings = read_settings(config_path)
    files.use(files.privacy_for(settings.files))
    with db.connect(database_url(db_url, settings), busy_timeout=settings.busy_timeout) as conn:
        policy = policy_for(conn, settings)
        i18n.use(policy.library.staff_language)
        conn.commit()  # end the read transaction; callers begin their own
        yield Context(conn=conn, policy=policy, now=now, settings=settings)
