"""`ils db backup`: an SQLite copy taken while the counter writes is the database as of one commit, private, never over a file by accident; PostgreSQL is told pg_dump."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading

import pytest

from ils import cli
from ils.infra import db
from lines import unstamped


@pytest.fixture
def library(new_library, engine_name):
    if engine_name != "sqlite":
        pytest.skip("the online backup is SQLite's; PostgreSQL's pg_dump command is tested below")
    lib = new_library("kitami")
    lib.branch("central").patron("1001").title("B1")
    for _ in range(50):
        lib.copy("B1", "central")
    return lib


def copies_in(path) -> int:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return conn.execute("SELECT count(*) FROM copies").fetchone()[0]
    finally:
        conn.close()


def backup(runner, lib, dest, *options):
    return runner.invoke(cli.main, ["db", "backup", str(dest), *options, "--db", lib.url])


def test_the_copy_is_the_whole_database_in_one_private_file(runner, library, tmp_path):
    dest = tmp_path / "nightly" / "ils-2026-11-26.db"
    dest.parent.mkdir()
    old = os.umask(0)  # cron's umask may let everyone read; the copy holds patrons all the same
    try:
        result = backup(runner, library, dest)
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert copies_in(dest) == 50
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert sorted(p.name for p in dest.parent.iterdir()) == ["ils-2026-11-26.db"]  # no -wal to carry along
    copy = sqlite3.connect(dest)
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    copy.close()
    # the copy is a working database: ils opens it as it opens the one it came from
    assert runner.invoke(cli.main, ["db", "check", "--db", str(dest)]).exit_code == 0


def test_an_existing_file_is_kept_unless_force_is_given(runner, library, tmp_path):
    dest = tmp_path / "ils.db.bak"
    dest.write_bytes(b"last week's backup")
    refused = backup(runner, library, dest)
    assert refused.exit_code == 1
    assert unstamped(refused.stderr) == f"Error: {dest} exists; give --force to replace it, or another file name\n"
    assert dest.read_bytes() == b"last week's backup"
    assert backup(runner, library, dest, "--force").exit_code == 0
    assert copies_in(dest) == 50


def test_a_missing_folder_or_database_is_one_line(runner, library, tmp_path):
    missing_folder = backup(runner, library, tmp_path / "no-such-folder" / "x.db")
    assert unstamped(missing_folder.stderr) == f"Error: the folder {tmp_path / 'no-such-folder'} does not exist; create it first\n"
    itself = backup(runner, library, db.sqlite_path(library.url))
    assert itself.exit_code == 1 and "is the database itself" in itself.stderr


def test_a_backup_taken_while_the_counter_holds_a_write_open_has_what_was_committed(runner, library, tmp_path):
    counter = sqlite3.connect(db.sqlite_path(library.url), isolation_level=None)
    counter.execute("BEGIN IMMEDIATE")  # a checkout in the middle of its transaction
    counter.execute("UPDATE copies SET state = 'on_loan' WHERE id = 1")
    counter.execute("INSERT INTO copies (barcode, title_id, owning_branch_id, location_branch_id) SELECT 'uncommitted', "
                    "title_id, owning_branch_id, location_branch_id FROM copies WHERE id = 1")
    try:
        result = backup(runner, library, tmp_path / "during.db")
    finally:
        counter.execute("COMMIT")
        counter.close()
    assert result.exit_code == 0, result.output  # not blocked by the writer
    assert copies_in(tmp_path / "during.db") == 50  # the open transaction is not in the copy
    copy = sqlite3.connect(tmp_path / "during.db")
    assert copy.execute("SELECT state FROM copies WHERE id = 1").fetchone() == ("on_shelf",)
    copy.close()
    assert copies_in(db.sqlite_path(library.url)) == 51


def test_a_backup_taken_while_the_counter_keeps_committing_is_one_consistent_moment(runner, library, tmp_path):
    path = db.sqlite_path(library.url)
    stop, written = threading.Event(), []

    def counter():
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        while not stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO copies (barcode, title_id, owning_branch_id, location_branch_id) "
                         f"SELECT 'c{len(written)}', title_id, owning_branch_id, location_branch_id FROM copies WHERE id = 1")
            conn.execute("COMMIT")
            written.append(1)
        conn.close()

    worker = threading.Thread(target=counter)
    worker.start()
    try:
        while len(written) < 20 and worker.is_alive():  # the counter is busy before the backup starts
            stop.wait(0.01)
        before = 50 + len(written)
        results = [backup(runner, library, tmp_path / f"busy-{n}.db") for n in range(3)]
        after = 50 + len(written)
    finally:
        stop.set()
        worker.join()
    assert [r.exit_code for r in results] == [0, 0, 0], [r.output for r in results]
    counts = [copies_in(tmp_path / f"busy-{n}.db") for n in range(3)]  # integrity ok in each
    assert before <= counts[0] <= counts[1] <= counts[2] <= after + 1


def test_postgresql_is_backed_up_with_pg_dump_and_the_command_names_no_password(runner, tmp_path):
    url = "postgresql+psycopg://ils:s3cret@dbhost:5433/ils_kitami"
    result = runner.invoke(cli.main, ["db", "backup", "/srv/backup/ils.dump", "--db", url])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "PostgreSQL is backed up with the server's pg_dump (docs/operations.md):",
        "pg_dump --format=custom --file=/srv/backup/ils.dump --host=dbhost --port=5433 --username=ils ils_kitami",
    ]
    assert "s3cret" not in result.output
