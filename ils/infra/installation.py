"""Setting up a database: creating or migrating the schema, recording the library's profile, the demo."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

from ils.errors import ConfigError, IlsError
from ils.exchange.imports import files_in, import_files
from ils.frontend.requests import import_request_file
from ils.infra import db
from ils.infra.config import PROFILE_SETTING
from ils.infra.i18n import _
from ils.infra.resources import data_path
from ils.library.policy import load_policy

DEMO_SETTING = "demo"
# The sample city's business day is 2026-11-25; the demo replays the night after it.
DEMO_NIGHT = dt.datetime.fromisoformat("2026-11-26T03:00:00+09:00")
DEMO_MORNING = dt.datetime.fromisoformat("2026-11-26T10:00:00+09:00")  # the first mail of the day


@dataclass(frozen=True)
class Initialised:
    url: str
    profile: str
    schema_before: str | None
    schema_after: str


def initialise(url: str, profile: str) -> Initialised:
    """Create the schema (or migrate it) and record the profile; refuses to switch libraries."""
    load_policy(profile)  # fail on a bad profile before touching the database
    engine = db.open_engine(url, create=True)  # the only way a new database file is made (privately)
    try:
        before, after = db.upgrade(engine)
        with engine.begin() as conn:
            recorded = db.get_setting(conn, PROFILE_SETTING)
            if recorded is not None and recorded != profile:
                raise ConfigError(
                    _("this database follows profile {recorded!r}; it cannot be re-initialised as {profile!r}").format(recorded=recorded, profile=profile)
                )
            db.put_setting(conn, PROFILE_SETTING, profile)
    finally:
        engine.dispose()
    return Initialised(url=url, profile=profile, schema_before=before, schema_after=after)


def sample_dir() -> Path:
    return data_path("sample")


def build_demo(target: str, profile: str) -> str:
    """A fresh database holding the sample city and its day of requests; returns its URL.

    `target` is an SQLite file path or a database URL (PostgreSQL: the database must
    exist). An existing database is replaced only if an earlier demo made it.
    """
    url = db.normalise_url(str(target))
    _remove_old_demo(url)
    initialise(url, profile)
    engine = db.open_engine(url)
    try:
        with engine.connect() as conn:
            with conn.begin():
                db.put_setting(conn, DEMO_SETTING, "yes")
            policy = load_policy(profile)
            import_files(conn, files_in(sample_dir()), policy, DEMO_NIGHT)
            import_request_file(conn, sample_dir() / "requests.jsonl", DEMO_NIGHT)
    finally:
        engine.dispose()
    return url


def _remove_old_demo(url: str) -> None:
    parsed = make_url(url)
    path = Path(parsed.database or "") if parsed.get_backend_name() == "sqlite" else None
    if path is not None and not path.exists():
        return
    engine = db.open_engine(url)
    tables, is_demo = ["(unreadable)"], False
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
            is_demo = bool(tables) and db.current_revision(conn) is not None and db.get_setting(conn, DEMO_SETTING) == "yes"
            if path is None and tables and is_demo:
                # A server database is emptied in place: its owner and grants stay.
                old = MetaData()
                old.reflect(conn)
                old.drop_all(conn)
                conn.commit()
    except DatabaseError:
        pass  # not a database we can read: refused below
    finally:
        engine.dispose()
    where = path or parsed.render_as_string(hide_password=True)
    if tables and not is_demo:
        raise IlsError(_("{where} exists and is not a demo database; choose another with --db").format(where=where))
    if path is None:
        return
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

