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


def _sqlite_fault(name: str, text: str, where: str) -> IlsError | None:
    if name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED"):
        return DatabaseBusy(
            f"the database {where} stayed locked by another program (the batch, a counter, a backup) "
            "past the busy timeout: try again when it has finished"
        )
    if name.startswith("SQLITE_READONLY"):
        return DatabaseReadOnly(
            f"the database {where} cannot be written ({text}): make the file and its folder writable "
            "for this user (SQLite writes -wal and -shm files beside it)"
        )
    if name.startswith("SQLITE_FULL"):
        return DiskFull(f"the disk under the database {where} is full: free space there and run the command again")
    if name.startswith("SQLITE_CANTOPEN"):
        return DatabaseReadOnly(
            f"cannot open the database {where}: its folder must exist and be writable for this user "
            "(SQLite keeps -wal and -shm files beside it)"
        )
    if name.startswith("SQLITE_NOTADB") or name.startswith("SQLITE_CORRUPT"):
        return NotADatabase(f"{where} is not an SQLite database, or is damaged: check --db (or restore it from a backup)")
    if name.startswith("SQLITE_IOERR"):
        return CannotWrite(f"the disk under the database {where} failed ({text}): check the disk and try again")
    return None


def _postgresql_fault(orig: BaseException, where: str) -> IlsError | None:
    state = getattr(orig, "sqlstate", None)
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if state == PG_READ_ONLY:
        return DatabaseReadOnly(f"the database {where} is read-only ({first}): ask its administrator")
    if state == PG_DISK_FULL:
        return DiskFull(f"the PostgreSQL server of {where} is out of disk space: free space there and try again")
    if state == PG_NO_DATABASE or "does not exist" in first:
        return DatabaseUnreachable(
            f"{first} (on {where}): check --db, or create it (createdb) and run `ils init --profile NAME` there"
        )
    if state in PG_SHUTDOWN or state is None or state.startswith("08") or state.startswith("28"):
        return DatabaseUnreachable(
            f"cannot reach the PostgreSQL server of {where}: {first}; check that the server runs and the URL, "
            "user and password are right"
        )
    return None


def _file_fault(exc: OSError) -> IlsError | None:
    path = exc.filename or "a file"
    folder = os.path.dirname(str(path)) or "."
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return DiskFull(f"no space left on the disk of {folder} while writing {path}: free space there and run the command again")
    if exc.errno == errno.EROFS:
        return CannotWrite(f"cannot write {path}: the disk of {folder} is mounted read-only")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return CannotWrite(f"cannot write {path}: permission denied; let this user write into {folder}")
    if exc.errno == errno.ENOENT:
        return CannotWrite(f"cannot write {path}: the folder {folder} does not exist; create it or choose another path")
    if exc.errno == errno.ENOTDIR:
        return CannotWrite(f"cannot write {path}: a part of {folder} is a file, not a folder")
    return None
