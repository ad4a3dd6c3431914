"""An SQLite before 3.32 (RHEL 8's 3.26, Debian 10's 3.27) binds at most 999 values a statement: a
library on one imports its files and runs its day exactly as on a newer SQLite, with lists of
thousands of ids (the batch reads them through json_each, the import in chunks its connection allows)."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from conftest import NIGHT
from ils.exchange.imports import files_in, import_files
from ils.frontend.requests import import_request_file
from ils.library.policy import load_policy
from ils.tools.demo import run_demo_day
from ils.tools.sample.generator import SampleSpec, write_files
from test_night_dump import canonical_dump

OLD_LIMIT = 999  # SQLITE_MAX_VARIABLE_NUMBER before 3.32
# Thousands of requests, patrons, holds and loans: every list the day reads is past the limit.
SPEC = SampleSpec(titles=3_000, patrons=1_500, loans=1_500, holds=2_000, requests=2_500)


def _as_old_sqlite(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, OLD_LIMIT)


def _day(url: str, data, folder) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        import_files(conn, files_in(data), load_policy("kitami"), NIGHT)
        import_request_file(conn, data / "requests.jsonl", NIGHT)
    engine.dispose()
    run_demo_day(url, folder / "mail", folder / "reports")
    return canonical_dump(url, folder / "reports")


def test_a_library_on_an_sqlite_that_binds_999_values_has_the_same_day_as_on_a_newer_one(databases, tmp_path):
    if databases.engine != "sqlite":
        pytest.skip("a limit of SQLite's")
    write_files(SPEC, tmp_path / "data")
    blank = databases.initialised("kitami")
    old = tmp_path / "old.db"
    shutil.copyfile(blank.removeprefix("sqlite:///"), old)  # initialised before the limit, as a migration would be
    newer = _day(blank, tmp_path / "data", tmp_path / "newer")
    event.listen(Engine, "connect", _as_old_sqlite)  # every connection: the reports' child's and the mail's too
    try:
        probe = sqlite3.connect(":memory:")
        _as_old_sqlite(probe, None)
        with pytest.raises(sqlite3.OperationalError, match="too many SQL variables"):
            probe.execute(f"SELECT 1 WHERE 1 IN ({', '.join('?' * (OLD_LIMIT + 1))})", tuple(range(OLD_LIMIT + 1)))
        on_old = _day(f"sqlite:///{old}", tmp_path / "data", tmp_path / "old")
    finally:
        event.remove(Engine, "connect", _as_old_sqlite)
    assert on_old == newer
