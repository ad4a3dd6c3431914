"""SQLite: a night's commits write the log, and the database file is brought up to date once, after the steps."""

from __future__ import annotations

from ils.infra import db

# Some 2,500 pages of 4 KB: past the 1,000 pages at which a commit would checkpoint.
ROWS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) SELECT randomblob(4000) FROM n"


def test_commits_inside_leave_the_database_file_and_the_end_checkpoints_it(tmp_path):
    path = tmp_path / "night.db"
    engine = db.open_engine(f"sqlite:///{path}", create=True)
    with engine.connect() as conn:
        with db.write_transaction(conn):
            conn.exec_driver_sql("CREATE TABLE pages (blob)")
        before = path.stat().st_size
        with db.one_checkpoint(conn):
            for _ in range(2):
                with db.write_transaction(conn):
                    conn.exec_driver_sql(f"INSERT INTO pages {ROWS}")
            assert path.stat().st_size == before  # the commits wrote the log only
        assert path.stat().st_size > before + 2 * 2500 * 4000  # the one checkpoint wrote both into the file
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000  # as it was
    engine.dispose()


def test_without_it_such_a_commit_checkpoints_at_once(tmp_path):
    path = tmp_path / "day.db"
    engine = db.open_engine(f"sqlite:///{path}", create=True)
    with engine.connect() as conn:
        with db.write_transaction(conn):
            conn.exec_driver_sql("CREATE TABLE pages (blob)")
        before = path.stat().st_size
        with db.write_transaction(conn):
            conn.exec_driver_sql(f"INSERT INTO pages {ROWS}")
        assert path.stat().st_size > before + 2500 * 4000
    engine.dispose()
