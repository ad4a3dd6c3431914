"""The installation's settings: which database, which library profile, which overrides (ils.toml)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Connection

from ils.errors import ConfigError
from ils.infra import db
from ils.infra.i18n import _
from ils.library.policy import Policy, load_policy

CONFIG_ENV = "ILS_CONFIG"
DATABASE_ENV = "ILS_DATABASE_URL"
DEFAULT_CONFIG = Path("ils.toml")
PROFILE_SETTING = "profile"
KNOWN_TABLES = {"database", "library", "policy", "mail", "reports", "files"}


@dataclass(frozen=True)
class Settings:
    """What an ils.toml says; every part is optional."""

    path: Path | None = None
    database_url: str | None = None
    busy_timeout: float = 30.0  # [database] busy_timeout_seconds: how long an SQLite writer waits for another
    profile: str | None = None
    policy_overrides: dict = field(default_factory=dict)
    mail: dict = field(default_factory=dict)
    reports: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """What a relative path in the settings (a mail or reports directory) is relative to:
        the config file's folder, or the working directory without one."""
        return self.path.parent if self.path else Path.cwd()


def read_settings(path: str | Path | None = None) -> Settings:
    """Read the configuration file named, or $ILS_CONFIG, or ./ils.toml if it exists."""
    explicit = path or os.environ.get(CONFIG_ENV)
    candidate = Path(explicit) if explicit else DEFAULT_CONFIG
    if not candidate.exists():
        if explicit:
            raise ConfigError(_("configuration file {candidate} does not exist").format(candidate=candidate))
        return Settings()
    try:
        raw = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(_("{candidate}: cannot read configuration: {exc}").format(candidate=candidate, exc=exc)) from None
    unknown = set(raw) - KNOWN_TABLES
    if unknown:
        raise ConfigError(
            _("{candidate}: unknown table(s) {unknown}; expected {expected}").format(candidate=candidate, unknown=', '.join(sorted(unknown)), expected=', '.join(sorted(KNOWN_TABLES)))
        )
    return Settings(
        path=candidate,
        database_url=raw.get("database", {}).get("url"),
        busy_timeout=_busy_timeout(candidate, raw.get("database", {})),
        profile=raw.get("library", {}).get("profile"),
        policy_overrides=raw.get("policy", {}),
        mail=raw.get("mail", {}),
        reports=raw.get("reports", {}),
        files=raw.get("files", {}),
    )


def _busy_timeout(path: Path, database: dict) -> float:
    value = database.get("busy_timeout_seconds", 30.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
        raise ConfigError(_("{path}: [database] busy_timeout_seconds must be a number of seconds from 0 to 3600").format(path=path))
    return float(value)


def database_url(cli_value: str | None, settings: Settings) -> str:
    """--db, then $ILS_DATABASE_URL, then the config file, then ./ils.db."""
    return (
        cli_value
        or os.environ.get(DATABASE_ENV)
        or settings.database_url
        or db.DEFAULT_URL
    )


def policy_for(conn: Connection, settings: Settings) -> Policy:
    """The policy of the library this database belongs to, with the installation's overrides.

    `ils init --profile` records the profile in the database, so every later command
    applies the same library's rules; a configuration file naming another profile is a
    mistake worth stopping for.
    """
    recorded = db.get_setting(conn, PROFILE_SETTING)
    if recorded is None:
        raise ConfigError(_("database has no library profile recorded: run `ils init --profile NAME`"))
    if settings.profile and settings.profile != recorded:
        raise ConfigError(
            _("{path} names profile {profile!r} but this database was initialised for {recorded!r}").format(path=settings.path, profile=settings.profile, recorded=recorded)
        )
    return load_policy(recorded, settings.policy_overrides)
