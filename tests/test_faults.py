"""Every fault a library's systems staff meet in the first month ends in one `Error:` line, exit 1, and the data as it was.

Each case makes the real fault — another program holding SQLite's write lock, a read-only
mount or an immutable file, a full tmpfs, a PostgreSQL database set read-only, a port
where no server listens, a garbage file, a mistyped path — runs the command staff would
run, and checks the three things: exactly one line on stderr, starting `Error: ` and
saying what to do; exit status 1; every table exactly as before (or, for the batch, the
failed step undone and the run resumable).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import make_url

from engines import ENGINES, PG_SERVER
from faults import fill, full_folder, read_only_folder, small_disk
from ils import cli
from ils.infra import db
from lines import unstamped

NIGHT = "2026-11-26T03:00"
DAY = "2026-11-26T10:00"
SHELF, LOANED = "1000000001", "1000000002"

COMMANDS = {
    "batch run": ["batch", "run", "--now", NIGHT],
    "checkout": ["checkout", "--card", "1001", "--barcode", SHELF, "--staff", "s1", "--branch", "central", "--now", DAY],
    "checkin": ["checkin", "--barcode", LOANED, "--staff", "s1", "--branch", "central", "--now", DAY],
    "request hold": ["request", "hold", "--card", "1001", "--title", "B2", "--pickup", "central", "--now", DAY],
    "mail send": ["mail", "send", "--now", DAY],
}


@pytest.fixture
def library(new_library):
    """One branch, a patron, a copy on the shelf, a copy on loan, and a request waiting for the night."""
    lib = new_library("kitami")
    lib.branch("central").patron("1001").patron("1002")
    lib.staff("s1")
    lib.title("B1")
    lib.title("B2")
    lib.copy("B1", "central", barcode=SHELF)
    lib.copy("B2", "central", barcode=LOANED)
    lib.loan(LOANED, "1002", due_on=dt.date(2026, 12, 3))
    lib.request("hold", "1001", "B1", pickup="central")
    lib.close()  # the command under test is the only user of the database
    return lib


def snapshot(url: str) -> dict[str, list]:
    """Every row of every table, in a stable order: what "unchanged" is checked against."""
    engine = db.open_engine(url)
    try:
        with engine.connect() as conn:
            tables = MetaData()
            tables.reflect(conn)
            return {name: sorted(map(repr, conn.execute(select(t)))) for name, t in tables.tables.items()}
    finally:
        engine.dispose()


def run_ils(runner, args: list[str], url: str | None, config: Path | None = None):
    full = [*args, "--db", url] if url else list(args)
    if config is not None:
        full += ["--config", str(config)]
    return runner.invoke(cli.main, full)


def assert_one_error_line(result, *expected: str) -> str:
    lines = unstamped(result.stderr).strip().splitlines()
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    for part in expected:
        assert part in lines[0], lines[0]
    return lines[0]


def quick_timeout_config(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "ils.toml"
    config.write_text(f"[database]\nbusy_timeout_seconds = 0.2\n{extra}", encoding="utf-8")
    return config


def sqlite_only(engine_name):
    if engine_name != "sqlite":
        pytest.skip("an SQLite file's fault; the PostgreSQL counterpart has its own case")


# -- the database is busy, read-only or full ----------------------------------------------------


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_database_locked_by_another_writer_past_the_busy_timeout(command, library, engine_name, runner, tmp_path):
    sqlite_only(engine_name)
    before = snapshot(library.url)
    holder = sqlite3.connect(make_url(library.url).database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program's write transaction, never ending
    try:
        result = run_ils(runner, COMMANDS[command], library.url, quick_timeout_config(tmp_path))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_one_error_line(result, "stayed locked by another program", "try again")
    assert snapshot(library.url) == before


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_database_in_a_read_only_folder(command, library, engine_name, runner, tmp_path):
    sqlite_only(engine_name)
    folder = Path(make_url(library.url).database).parent
    before = snapshot(library.url)
    with read_only_folder(folder):
        result = run_ils(runner, COMMANDS[command], library.url)
    assert_one_error_line(result, make_url(library.url).database)
    assert snapshot(library.url) == before


@contextlib.contextmanager
def immutable(path: Path):
    """chattr +i: not even root may write the file (a chmod would not stop root)."""
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot make a file immutable here: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=False)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_read_only_database_file(command, library, engine_name, runner):
    sqlite_only(engine_name)
    path = Path(make_url(library.url).database)
    before = snapshot(library.url)
    with immutable(path):
        result = run_ils(runner, COMMANDS[command], library.url)
    assert_one_error_line(result, str(path))
    assert snapshot(library.url) == before


@contextlib.contextmanager
def read_only_server_database(url: str):
    name = make_url(url).database
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        yield
    finally:
        with server.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
        server.dispose()


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_postgresql_database_set_read_only(command, library, engine_name, runner):
    if engine_name != "postgresql":
        pytest.skip("a server's setting; SQLite's read-only file has its own case")
    before = snapshot(library.url)
    with read_only_server_database(library.url):
        result = run_ils(runner, COMMANDS[command], library.url)
    assert_one_error_line(result, "is read-only", "read-only transaction")
    assert snapshot(library.url) == before


@contextlib.contextmanager
def database_on_a_full_disk(url: str, tmp_path: Path):
    """The database moved onto a disk with no space left (its -wal and -shm made before the disk filled)."""
    original = Path(make_url(url).database)
    with small_disk(tmp_path / "full-disk", size_kb=original.stat().st_size // 1024 + 512) as disk:
        moved = disk / original.name
        moved.write_bytes(original.read_bytes())
        engine = db.open_engine(f"sqlite:///{moved}")
        try:
            with engine.connect() as conn:  # creates -wal and -shm while there is room
                conn.exec_driver_sql("SELECT count(*) FROM holds").scalar()
                fill(disk)
                yield f"sqlite:///{moved}"
        finally:
            engine.dispose()


@pytest.mark.parametrize("command", ["batch run", "checkout", "request hold", "checkin"])
def test_a_database_on_a_full_disk(command, library, engine_name, runner, tmp_path):
    sqlite_only(engine_name)
    with database_on_a_full_disk(library.url, tmp_path) as url:
        before = snapshot(url)
        result = run_ils(runner, COMMANDS[command], url)
        assert_one_error_line(result, "is full", "free space")
        assert snapshot(url) == before


# -- the database is not where it was said to be ------------------------------------------------


@pytest.mark.parametrize("command", [*COMMANDS, "summary", "import", "db upgrade", "db status"])
@pytest.mark.parametrize("where", ["missing file", "missing folder"])
def test_a_mistyped_db_path_creates_nothing(command, where, runner, tmp_path, examples):
    target = tmp_path / ("ils-typo.db" if where == "missing file" else "no-such-folder/ils.db")
    args = {
        "summary": ["summary"], "import": ["import", "all", str(examples)],
        "db upgrade": ["db", "upgrade"], "db status": ["db", "status"],
    }.get(command) or COMMANDS[command]
    result = run_ils(runner, args, str(target))
    line = assert_one_error_line(result, "does not exist", "check --db")
    assert not target.exists() and not target.parent.joinpath("ils-typo.db-wal").exists()
    assert ("ils init" in line) == (where == "missing file")


def test_init_still_creates_the_database_it_is_asked_for(runner, tmp_path):
    target = tmp_path / "new.db"
    result = runner.invoke(cli.main, ["init", "--profile", "kitami", "--db", str(target)])
    assert result.exit_code == 0, result.output
    assert target.exists()


def test_init_into_a_missing_folder_creates_nothing(runner, tmp_path):
    target = tmp_path / "no-such-folder" / "ils.db"
    result = runner.invoke(cli.main, ["init", "--profile", "kitami", "--db", str(target)])
    assert_one_error_line(result, "does not exist")
    assert not target.parent.exists()


@pytest.mark.parametrize("content", [b"name,address\n\xe5\xb1\xb1\xe7\x94\xb0,x\n", b"\0" * 4096], ids=["csv", "zeros"])
def test_a_file_that_is_not_a_database(content, runner, tmp_path):
    target = tmp_path / "patrons.csv"
    target.write_bytes(content)
    result = run_ils(runner, COMMANDS["batch run"], str(target))
    assert_one_error_line(result, "is not an SQLite database", "check --db")
    assert target.read_bytes() == content


def test_a_folder_given_as_the_database(runner, tmp_path):
    result = run_ils(runner, COMMANDS["checkout"], str(tmp_path))
    assert_one_error_line(result, "is a folder, not an SQLite database")


needs_postgresql = pytest.mark.skipif("postgresql" not in ENGINES, reason="PostgreSQL is not under test (ILS_TEST_ENGINES)")


@needs_postgresql
@pytest.mark.parametrize("command", ["batch run", "checkout", "summary", "db status", "init"])
def test_a_postgresql_server_that_is_not_there(command, runner):
    args = ["init", "--profile", "kitami"] if command == "init" else (
        COMMANDS.get(command) or {"summary": ["summary"], "db status": ["db", "status"]}[command])
    # Port 1 on loopback: nothing listens, so the connection is refused at once.
    result = run_ils(runner, args, "postgresql+psycopg://ils@127.0.0.1:1/ils")
    assert_one_error_line(result, "cannot reach the PostgreSQL server", "127.0.0.1", "check that the server runs")


@needs_postgresql
def test_a_postgresql_database_that_does_not_exist(runner):
    missing = make_url(PG_SERVER).set(database="ils_no_such_database").render_as_string(hide_password=False)
    result = run_ils(runner, COMMANDS["batch run"], missing)
    assert_one_error_line(result, '"ils_no_such_database" does not exist', "createdb", "ils init")


@pytest.mark.parametrize("url", ["mysql://ils@localhost/ils", "oracle://x/y", "foo://bar", "postgresql+psycopg2://x/y"])
def test_an_unsupported_url_scheme(url, runner):
    result = run_ils(runner, COMMANDS["batch run"], url)
    assert_one_error_line(result, "unsupported database URL", "postgresql+psycopg://")


# -- files the commands write --------------------------------------------------------------------


def test_report_output_into_a_missing_folder(library, runner, tmp_path):
    target = tmp_path / "no-such-folder" / "phone.csv"
    result = run_ils(runner, ["report", "phone", "--branch", "central", "--format", "csv", "--output", str(target)],
                     library.url)
    assert_one_error_line(result, "no-such-folder does not exist", "--output")
    assert not target.parent.exists()


def test_the_reports_step_on_a_full_disk_fails_the_run_which_resumes_once_there_is_room(library, runner, tmp_path):
    reports = tmp_path / "reports"
    config = tmp_path / "ils.toml"
    config.write_text(f'[reports]\ndirectory = "{reports}"\n', encoding="utf-8")
    with full_folder(reports):
        result = run_ils(runner, COMMANDS["batch run"], library.url, config)
        line = assert_one_error_line(result, "failed in step reports", "no space left on the disk", "to resume it")
    assert "earlier steps are kept" in line
    runs = snapshot(library.url)["batch_runs"]
    assert len(runs) == 1 and "'failed'" in runs[0]
    resumed = run_ils(runner, ["batch", "run"], library.url, config)
    assert resumed.exit_code == 0, resumed.output
    assert any(reports.rglob("summary.*"))


def test_a_bug_is_one_line_too_and_the_traceback_comes_with_v(library, runner, monkeypatch):
    from ils.batch import runner as batch_runner

    def broken(ctx):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(batch_runner.STEPS["accept"], "run", broken)
    quiet = run_ils(runner, COMMANDS["batch run"], library.url)
    assert_one_error_line(quiet, "failed in step accept", "ZeroDivisionError")
    verbose = runner.invoke(cli.main, ["-v", *COMMANDS["batch run"], "--db", library.url])
    assert verbose.exit_code == 1
    assert "Traceback" in verbose.stderr and unstamped(verbose.stderr).strip().splitlines()[-1].startswith("Error: ")


SORT_SPILLED = """
import sys
from sqlalchemy.exc import DBAPIError
from ils.infra import db, faults
engine = db.open_engine(sys.argv[1], create=True)
with engine.connect() as conn:
    db.sqlite_driver(conn).execute("PRAGMA cache_size = -64")
    with conn.begin():
        conn.exec_driver_sql("CREATE TABLE keys (k TEXT)")
        conn.exec_driver_sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) "
                             "INSERT INTO keys SELECT hex(randomblob(16)) FROM n")
    try:
        with conn.begin(), db.sorting_in_files(conn):
            conn.exec_driver_sql("CREATE INDEX keys_k ON keys (k)")
    except DBAPIError as exc:
        told = faults.explain(exc, "/srv/ils/ils.db")
        print(type(told).__name__, told)
    conn.exec_driver_sql("CREATE INDEX keys_k ON keys (k)")  # in memory again after the block
    print("built in memory")
"""


def test_a_sort_through_a_full_temporary_folder_is_told_with_that_folder(tmp_path):
    # A first load's index builds sort through temporary files (db.sorting_in_files), in SQLite's
    # own folder, which SQLite reads from the environment as the process starts: the disk that
    # filled may be that one, not the database's. A page cache of 64 KB makes 50,000 keys spill,
    # as a prefecture's 20 million do past the real one.
    with full_folder(tmp_path / "tmp") as folder:
        said = subprocess.run([sys.executable, "-c", SORT_SPILLED, f"sqlite:///{tmp_path / 'ils.db'}"],
                              env={**os.environ, "SQLITE_TMPDIR": str(folder)}, capture_output=True, text=True)
    assert said.returncode == 0, said.stderr
    told, built = said.stdout.splitlines()
    assert told.startswith("DiskFull ") and built == "built in memory"
    assert "/srv/ils/ils.db" in told and str(folder) in told and "free space" in told
