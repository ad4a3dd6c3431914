"""`ils db backup`: a consistent copy of an SQLite database while the counter works; for PostgreSQL, the pg_dump command.

SQLite: the online backup API (sqlite3.Connection.backup), in one step. It copies the
database page for page inside one read transaction, so the copy is the database as of
one commit; in WAL mode (how ils opens it) writers go on meanwhile and are not in the
copy. `VACUUM INTO` would give the same snapshot but rebuilds every table and index
on the way (minutes of CPU for a city's two million copies, where the backup API copies
pages); a smaller file is not worth that at 02:00. The copy is written beside DEST and
renamed into place, so a half-written backup never carries DEST's name, and it is made a
single file in rollback-journal mode (no -wal to carry along); `ils` opens it in WAL mode
again when it is restored.

PostgreSQL: the server's own pg_dump is the tool (a consistent snapshot, restorable
with pg_restore); the command for the configured database is printed, never its password.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from ils.errors import DatabaseMissing, IlsError
from ils.infra import db, files
from ils.infra.i18n import _


class BackupRefused(IlsError):
    """The backup's destination cannot be used (it exists, or its folder does not)."""

    code = "backup_refused"


def backup_sqlite(database: Path, dest: Path, *, force: bool = False) -> int:
    """Copy the SQLite database at `database` into the file `dest` (private mode); returns the copy's size in bytes."""
    database, dest = Path(database), Path(dest)
    if not database.is_file():
        raise DatabaseMissing(_("the database {path} does not exist: check --db (or $ILS_DATABASE_URL, "
                                "or [database] url in ils.toml)").format(path=database.resolve()))
    if dest.resolve() == database.resolve():
        raise BackupRefused(_("{dest} is the database itself; give another file name").format(dest=dest))
    if dest.is_dir():
        raise BackupRefused(_("{dest} is a folder; give the backup's file name").format(dest=dest))
    if dest.exists() and not force:
        raise BackupRefused(_("{dest} exists; give --force to replace it, or another file name").format(dest=dest))
    if not dest.parent.is_dir():
        raise BackupRefused(_("the folder {folder} does not exist; create it first").format(folder=dest.parent))
    temporary = dest.with_name(f".{dest.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    try:
        files.create_private(temporary)
        _copy(database, temporary)
        os.replace(temporary, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return dest.stat().st_size


def _copy(database: Path, into: Path) -> None:
    source = sqlite3.connect(database, timeout=db.BUSY_TIMEOUT)  # only read
    target = sqlite3.connect(into)
    try:
        source.backup(target)  # pages=-1: the whole database in one step, one snapshot
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        target.close()
        source.close()


def pg_dump_command(url: str, dest: str) -> str:
    """The pg_dump command that backs up the PostgreSQL database at `url` into `dest`; the password left out."""
    parsed = make_url(db.normalise_url(url))
    words = ["pg_dump", "--format=custom", f"--file={dest}"]
    if parsed.host:
        words.append(f"--host={parsed.host}")
    if parsed.port:
        words.append(f"--port={parsed.port}")
    if parsed.username:
        words.append(f"--username={parsed.username}")
    words.append(parsed.database or "")
    return shlex.join(words)
