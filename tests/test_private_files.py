"""Patron data on disk is the owner's (and the [files] group's) only, even when cron's umask lets everyone read."""

from __future__ import annotations

import contextlib
import grp
import os
import stat
from pathlib import Path

import pytest

from ils import cli
from ils.infra import db, files
from ils.infra.installation import initialise
from lines import unstamped


@pytest.fixture
def open_umask():
    """A shell whose umask is 000: a file made with the defaults would be world-readable."""
    before, old = files.current(), os.umask(0)
    yield
    files.use(before)
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@contextlib.contextmanager
def writing(database: Path):
    """A connection in the middle of a write, so SQLite's -wal and -shm files exist; made under umask 000."""
    os.umask(0)  # the CLI set its own umask; SQLite must not depend on either
    engine = db.open_engine(str(database))
    try:
        with engine.connect() as conn, conn.begin():
            db.put_setting(conn, "probe", "yes")
            yield [Path(f"{database}{suffix}") for suffix in ("", "-wal", "-shm")]
    finally:
        engine.dispose()


def _init_through_the_cli(runner, database: Path) -> None:
    result = runner.invoke(cli.main, ["init", "--profile", "kitami", "--db", str(database)])
    assert result.exit_code == 0, result.output


def _init_directly(_runner, database: Path) -> None:
    initialise(f"sqlite:///{database}", "kitami")


@pytest.mark.parametrize("init", [_init_through_the_cli, _init_directly], ids=["ils init", "initialise()"])
def test_the_sqlite_database_and_its_wal_and_shm_are_the_owners_only(open_umask, runner, tmp_path, init):
    database = tmp_path / "library.db"
    init(runner, database)
    assert mode(database) == 0o600
    with writing(database) as made:
        assert [mode(p) for p in made] == [0o600, 0o600, 0o600]


def test_the_nights_reports_and_their_folders_are_the_owners_only(open_umask, new_library, tmp_path):
    lib = new_library("kitami")
    lib.branch("central").branch("tokoro")
    lib.night("2026-11-26 03:00")  # its reports step writes into the working directory, tmp_path
    folders = [tmp_path / "reports", *(p for p in (tmp_path / "reports").rglob("*") if p.is_dir())]
    reports = [p for p in (tmp_path / "reports").rglob("*") if p.is_file()]
    assert len(reports) == 3 * (7 * 2 + 1)  # 7 reports a branch and the system's summary, 3 formats
    assert {mode(p) for p in folders} == {0o700} and len(folders) == 4  # reports, the day, 2 branches
    assert {mode(p) for p in reports} == {0o600}


def test_a_report_written_with_output_replaces_a_readable_file_with_a_private_one(open_umask, runner, new_library, tmp_path):
    lib = new_library("kitami")
    lib.branch("central")
    out = tmp_path / "phone.csv"
    out.write_text("old\n", encoding="utf-8")
    out.chmod(0o644)
    result = runner.invoke(cli.main, ["report", "phone", "--branch", "central", "--format", "csv", "--date", "2026-11-26",
                                      "--output", str(out), "--db", lib.url])
    assert result.exit_code == 0, result.output
    assert mode(out) == 0o600 and out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".phone")] == []  # no temporary left behind


def _a_group_we_may_give() -> grp.struct_group:
    """Another group than our own if we are root (so the chown shows), else our own primary group.

    (A user who is not root gets SQLite's -wal and -shm in its primary group: docs/files.md.)
    """
    own = os.getegid()
    if os.geteuid() == 0:
        other = next((g for g in grp.getgrall() if g.gr_gid != own), None)
        if other is not None:
            return other
    return grp.getgrgid(own)


def test_with_a_files_group_everything_is_0640_and_folders_0750_for_that_group(open_umask, runner, tmp_path, examples):
    group = _a_group_we_may_give()
    database = tmp_path / "library.db"
    config = tmp_path / "ils.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{database}"\n[files]\ngroup = "{group.gr_name}"\n', encoding="utf-8")
    for args in (["init", "--profile", "kitami"], ["import", "branches", str(examples / "branches.csv")],
                 ["report", "all", "--date", "2026-11-26", "--output", str(tmp_path / "printed")]):
        result = runner.invoke(cli.main, [*args, "--config", str(config)])
        assert result.exit_code == 0, result.output
    with writing(database) as made:
        assert [(mode(p), p.stat().st_gid) for p in made] == [(0o640, group.gr_gid)] * 3
    printed = list((tmp_path / "printed").rglob("*"))
    folders, reports = [p for p in printed if p.is_dir()], [p for p in printed if p.is_file()]
    assert len(folders) == 1 + 4 and len(reports) == 4 * 6 * 3 + 5 * 3  # the day, 4 branches
    assert {(mode(p), p.stat().st_gid) for p in folders} == {(0o750, group.gr_gid)}
    assert {(mode(p), p.stat().st_gid) for p in reports} == {(0o640, group.gr_gid)}


def test_an_unknown_files_group_is_refused_with_one_line(runner, tmp_path):
    config = tmp_path / "ils.toml"
    config.write_text('[files]\ngroup = "no-such-group-here"\n', encoding="utf-8")
    result = runner.invoke(cli.main, ["init", "--profile", "kitami", "--db", str(tmp_path / "x.db"), "--config", str(config)])
    assert result.exit_code == 1
    assert unstamped(result.stderr) == "Error: [files] group 'no-such-group-here' is not a group on this machine\n"
    assert not (tmp_path / "x.db").exists()
