"""SQLite: a batch's steps leave their write-ahead log to a thread of its own, which copies it into the
database file beside the next step (ils/infra/checkpoints.py); nothing a reader sees changes, and a
checkpoint that fails loses nothing."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import text

from ils.infra import checkpoints, db
from ils.infra.db import write_transaction

ROWS = 3_000  # some 3,000 pages of log: past the 1,000 at which a commit would checkpoint


@pytest.fixture
def library(tmp_path):
    engine = db.open_engine(f"sqlite:///{tmp_path / 'library.db'}", create=True)
    with engine.connect() as conn:
        with write_transaction(conn):
            conn.exec_driver_sql("CREATE TABLE shelf (id integer PRIMARY KEY, page text)")
        yield conn, tmp_path / "library.db"
    engine.dispose()


def _fill(conn) -> None:
    with write_transaction(conn):
        conn.execute(text("INSERT INTO shelf (page) VALUES (:page)"), [{"page": "本" * 1_300}] * ROWS)


def _file_pages(path) -> int:
    return path.stat().st_size // 4096


def _autocheckpoint(conn) -> int:
    return conn.connection.driver_connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0]


def test_a_steps_log_is_copied_into_the_database_file_by_the_thread_not_by_its_commit(library):
    conn, path = library
    with checkpoints.beside_the_steps(conn, busy_timeout=5) as checkpointing:
        before = _file_pages(path)
        _fill(conn)
        assert _file_pages(path) == before, "the commit copied its log into the file itself"
        checkpointing.committed()
        checkpointing.stop()  # waits for the checkpoint asked for
        assert checkpointing.done == 1
        assert _file_pages(path) >= before + ROWS
    assert conn.execute(text("SELECT count(*) FROM shelf")).scalar_one() == ROWS


def test_after_the_steps_the_connection_checkpoints_its_own_commits_and_no_thread_is_left(library):
    conn, path = library
    threads = threading.active_count()
    with checkpoints.beside_the_steps(conn, busy_timeout=5) as checkpointing:
        assert _autocheckpoint(conn) == 0
        _fill(conn)
        checkpointing.committed()
        assert threading.active_count() == threads + 1
    assert threading.active_count() == threads
    assert _autocheckpoint(conn) == 1000
    before = _file_pages(path)
    _fill(conn)
    assert _file_pages(path) >= before + ROWS  # the commit checkpointed, as outside a batch


def test_a_checkpoint_that_fails_loses_nothing_and_stops_nothing(library, monkeypatch):
    conn, path = library

    class Failing:
        def execute(self, _sql):
            raise sqlite3.OperationalError("database or disk is full")

        def close(self):
            pass

    monkeypatch.setattr(checkpoints.sqlite3, "connect", lambda *_args, **_kwargs: Failing())
    with checkpoints.beside_the_steps(conn, busy_timeout=5) as checkpointing:
        _fill(conn)
        checkpointing.committed()
        _fill(conn)
        checkpointing.committed()
    assert checkpointing.done == 0
    assert conn.execute(text("SELECT count(*) FROM shelf")).scalar_one() == 2 * ROWS
    monkeypatch.undo()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM shelf").fetchone()[0] == 2 * ROWS


def test_a_checkpoint_thread_never_creates_a_database_that_is_not_there(library, tmp_path):
    conn, _path = library
    missing = tmp_path / "moved.db"
    checkpointing = checkpoints.Checkpoints(conn, missing, busy_timeout=5)
    checkpointing.committed()
    checkpointing.stop()
    assert checkpointing.done == 0 and not missing.exists()


def test_a_night_on_sqlite_checkpoints_beside_its_steps(new_library, engine_name, monkeypatch):
    ran = []
    monkeypatch.setattr(checkpoints.Checkpoints, "_checkpoint", lambda self, own: ran.append(self))
    lib = new_library("kitami")
    threads = threading.active_count()
    lib.night()
    if engine_name == "sqlite":
        assert ran, "no step's log was checkpointed beside the next"
        assert _autocheckpoint(lib.conn) == 1000
    else:
        assert not ran  # PostgreSQL has no such log to copy
    assert threading.active_count() == threads
