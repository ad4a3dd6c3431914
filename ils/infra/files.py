"""Files that hold patron data (database, .eml, reports, exports): created for their owner, and a group if configured, only.

Whatever the umask of the shell or cron that starts `ils`, a file this product creates
is 0600 (or 0640 with `[files] group = "..."` in ils.toml) and a folder it creates is
0700 (0750). SQLite gives its -wal and -shm files the mode of the database file, so
creating the database file privately makes all three private.
"""

from __future__ import annotations

import contextlib
import grp
import os
from dataclasses import dataclass
from pathlib import Path

from ils.errors import ConfigError
from ils.infra.i18n import _
from ils.infra.sections import section_settings


@dataclass(frozen=True)
class Privacy:
    """The modes and group a created file or folder gets."""

    gid: int | None = None

    @property
    def file_mode(self) -> int:
        return 0o640 if self.gid is not None else 0o600

    @property
    def dir_mode(self) -> int:
        return 0o750 if self.gid is not None else 0o700

    @property
    def umask(self) -> int:
        return 0o027 if self.gid is not None else 0o077

    def apply(self, path: Path | str | int, *, directory: bool = False) -> None:
        """Give an existing file or folder (or an open file's descriptor) exactly the private mode (and group)."""
        if self.gid is not None:
            os.chown(path, -1, self.gid)
        os.chmod(path, self.dir_mode if directory else self.file_mode)


OWNER_ONLY = Privacy()
_current = OWNER_ONLY


def privacy_for(raw: dict | None) -> Privacy:
    """The [files] section of ils.toml as a Privacy; an unknown group is a ConfigError."""
    if not raw:  # the usual case, and every command's: no pydantic to say so
        return OWNER_ONLY
    from ils.infra.file_settings import FileSettings

    settings = section_settings(FileSettings, raw, "files")
    if settings.group is None:
        return OWNER_ONLY
    try:
        return Privacy(gid=grp.getgrnam(settings.group).gr_gid)
    except KeyError:
        raise ConfigError(_("[files] group {group!r} is not a group on this machine").format(group=settings.group)) from None


def use(privacy: Privacy) -> None:
    """Make `privacy` the process's rule for every file it creates from now on (sets the umask)."""
    global _current
    _current = privacy
    os.umask(privacy.umask)


def current() -> Privacy:
    return _current


def private_dir(path: Path) -> Path:
    """Create a folder (and its missing parents) for private files; an existing folder is left as it is."""
    path = Path(path)
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        _current.apply(path, directory=True)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write a whole file atomically (a temporary beside it, then rename): a reader sees the old or the new, never half."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _current.file_mode)
        with os.fdopen(fd, "wb") as fh:
            _current.apply(fh.fileno())
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def create_private(path: Path) -> None:
    """Create an empty file with the private mode if it does not exist (an SQLite database before its first open)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _current.file_mode)
    try:
        _current.apply(fd)
    finally:
        os.close(fd)
