"""Faults of the machine around the program — a locked, read-only or full database, a missing folder, a vanished server — as one sentence a person can act on.

The drivers say these things in their own words (`sqlite3.OperationalError: database is
locked`, psycopg's SQLSTATE codes, an OSError's errno). `explain` turns each into the typed
error of ils/errors.py whose message names the cause and what to do; `translated` does it
for a block of work, so a command never ends in a traceback for a fault a person must fix.
"""

from __future__ import annotations

import contextlib
import errno
import os

from sqlalchemy.exc import DBAPIError

from ils.errors import (
    CannotWrite,
    DatabaseBusy,
    DatabaseReadOnly,
    DatabaseUnreachable,
    DiskFull,
    IlsError,
    NotADatabase,
)
from ils.infra.i18n import _

# PostgreSQL's SQLSTATE codes for the faults staff can act on.
PG_READ_ONLY = "25006"
PG_DISK_FULL = "53100"
PG_NO_DATABASE = "3D000"
PG_SHUTDOWN = ("57P01", "57P02", "57P03")


def explain(exc: BaseException, database: str | None = None) -> IlsError | None:
    """The typed error for a fault of the machine, or None if `exc` is not one (a bug)."""
    if isinstance(exc, IlsError):
        return exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return _database_fault(exc.orig, database or "the database")
    if isinstance(exc, OSError):
        return _file_fault(exc)
    return None


@contextlib.contextmanager
def translated(database: str | None = None):
    """Raise the typed error for a fault of the machine met inside the block (bugs pass through unchanged)."""
    try:
        yield
    except (DBAPIError, OSError) as exc:
        found = explain(exc, database)
        if found is None:
            raise
        raise found from exc


def _database_fault(orig: BaseException, where: str) -> IlsError | None:
    name = getattr(orig, "sqlite_errorname", None)
    if name:
        return _sqlite_fault(name, str(orig), where)
    if hasattr(orig, "sqlstate"):
        return _postgresql_fault(orig, where)
    return None


def sqlite_temp_folder() -> str:
    """The folder SQLite writes its temporary files in, found as SQLite finds it (os_unix.c):
    $SQLITE_TMPDIR, $TMPDIR, /var/tmp, /usr/tmp, /tmp, the first that is a folder this user may write in."""
    for folder in (os.environ.get("SQLITE_TMPDIR"), os.environ.get("TMPDIR"), "/var/tmp", "/usr/tmp", "/tmp"):
        if folder and os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK):
            return folder
    return "."


def _sqlite_fault(name: str, text: str, where: str) -> IlsError | None:
    if name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED"):
        return DatabaseBusy(
            _("the database {where} stayed locked by another program (the batch, a counter, a backup) "
              "past the busy timeout: try again when it has finished").format(where=where)
        )
    if name.startswith("SQLITE_READONLY"):
        return DatabaseReadOnly(
            _("the database {where} cannot be written ({text}): make the file and its folder writable "
              "for this user (SQLite writes -wal and -shm files beside it)").format(where=where, text=text)
        )
    if name.startswith("SQLITE_FULL"):
        # A sort or a statement journal larger than memory goes to SQLite's temporary folder (a
        # first load's index builds: ils.infra.db.sorting_in_files), which may be another disk.
        return DiskFull(_("the disk under the database {where} is full, or that of SQLite's temporary folder {folder}: "
                          "free space there and run the command again").format(where=where, folder=sqlite_temp_folder()))
    if name.startswith("SQLITE_CANTOPEN"):
        return DatabaseReadOnly(
            _("cannot open the database {where}: its folder must exist and be writable for this user "
              "(SQLite keeps -wal and -shm files beside it)").format(where=where)
        )
    if name.startswith("SQLITE_NOTADB") or name.startswith("SQLITE_CORRUPT"):
        return NotADatabase(_("{where} is not an SQLite database, or is damaged: check --db (or restore it from a "
                              "backup)").format(where=where))
    if name.startswith("SQLITE_IOERR"):
        return CannotWrite(_("the disk under the database {where} failed ({text}): check the disk and try again").format(where=where, text=text))
    return None


def _postgresql_fault(orig: BaseException, where: str) -> IlsError | None:
    state = getattr(orig, "sqlstate", None)
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if state == PG_READ_ONLY:
        return DatabaseReadOnly(_("the database {where} is read-only ({first}): ask its administrator").format(where=where, first=first))
    if state == PG_DISK_FULL:
        return DiskFull(_("the PostgreSQL server of {where} is out of disk space: free space there and try again").format(where=where))
    if state == PG_NO_DATABASE or "does not exist" in first:
        return DatabaseUnreachable(
            _("{first} (on {where}): check --db, or create it (createdb) and run `ils init --profile "
              "NAME` there").format(first=first, where=where)
        )
    if state in PG_SHUTDOWN or state is None or state.startswith("08") or state.startswith("28"):
        return DatabaseUnreachable(
            _("cannot reach the PostgreSQL server of {where}: {first}; check that the server runs and "
              "the URL, user and password are right").format(where=where, first=first)
        )
    return None


def _file_fault(exc: OSError) -> IlsError | None:
    path = exc.filename or "a file"
    folder = os.path.dirname(str(path)) or "."
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return DiskFull(_("no space left on the disk of {folder} while writing {path}: free space there and run "
                          "the command again").format(folder=folder, path=path))
    if exc.errno == errno.EROFS:
        return CannotWrite(_("cannot write {path}: the disk of {folder} is mounted read-only").format(path=path, folder=folder))
    if exc.errno in (errno.EACCES, errno.EPERM):
        return CannotWrite(_("cannot write {path}: permission denied; let this user write into {folder}").format(path=path, folder=folder))
    if exc.errno == errno.ENOENT:
        return CannotWrite(_("cannot write {path}: the folder {folder} does not exist; create it or choose another "
                             "path").format(path=path, folder=folder))
    if exc.errno == errno.ENOTDIR:
        return CannotWrite(_("cannot write {path}: a part of {folder} is a file, not a folder").format(path=path, folder=folder))
    return None
