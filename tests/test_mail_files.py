""".eml files hold patron data: private whatever the umask, and a full or read-only mail folder is one clear line, the mail still queued."""

from __future__ import annotations

import grp
import os
import stat

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from faults import full_folder, read_only_folder
from ils import cli
from ils.infra import files, schema
from ils.infra.context import Context
from ils.mail.deliver import FileTransport, send_due
from ils.mail.render import render_due
from ils.mail.settings import MailSettings
from lines import unstamped
from scenario import D, at


@pytest.fixture
def lib(new_library):
    """A Kitami night that leaves three renewals to tell three patrons about."""
    lib = new_library("kitami")
    lib.branch("central")
    for n in range(3):
        lib.patron(f"100{n}", email=f"patron{n}@example.jp")
        lib.title(f"B{n}")
        copy = lib.copy(f"B{n}", "central")
        lib.loan(copy, f"100{n}", due_on=D(2026, 11, 30))
        lib.request("renew", f"100{n}", copy)
    lib.night("2026-11-26 03:00")
    return lib


@pytest.fixture
def permissive_umask():
    """A shell or cron with umask 000 (and whatever privacy rule the process had is put back)."""
    before = files.current()
    old = os.umask(0)
    yield
    files.use(before)
    os.umask(old)


def send_into(lib, folder):
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 10:00"))
    render_due(ctx, MailSettings())
    return send_due(ctx, MailSettings(), FileTransport(folder), lambda: at("2026-11-26 10:00"))


def staff_group() -> int:
    """A group to give the files to: another than this user's own where it may (root may)."""
    if os.geteuid() == 0:
        return next(g.gr_gid for g in grp.getgrall() if g.gr_gid != os.getegid())
    return os.getegid()


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_eml_files_are_for_their_owner_alone_whatever_the_umask(lib, tmp_path, permissive_umask):
    folder = tmp_path / "mail-out"
    assert send_into(lib, folder)["sent"] == 3
    written = list(folder.iterdir())
    assert len(written) == 3 and all(p.suffix == ".eml" for p in written)  # no temporary left behind
    assert mode(folder) == 0o700 and {mode(p) for p in written} == {0o600}


def test_eml_files_are_readable_by_the_configured_group(lib, tmp_path, permissive_umask):
    group = staff_group()
    files.use(files.Privacy(gid=group))
    os.umask(0)
    folder = tmp_path / "mail-out"
    send_into(lib, folder)
    written = list(folder.glob("*.eml"))
    assert mode(folder) == 0o750 and {mode(p) for p in written} == {0o640}
    assert {p.stat().st_gid for p in written} == {group}


def mail_send(lib, folder, tmp_path):
    config = tmp_path / "ils.toml"
    config.write_text(f'[mail]\ndirectory = "{folder}"\n', encoding="utf-8")
    return CliRunner().invoke(cli.main, ["mail", "send", "--db", lib.url, "--config", str(config),
                                         "--now", "2026-11-26T10:00"])


def the_one_error_line(result) -> str:
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    [line] = unstamped(result.stderr).splitlines()
    assert line.startswith("Error: ")
    return line


def outbox(lib):
    o = schema.mail_outbox
    rows = lib.conn.execute(select(o.c.state, o.c.attempts, o.c.last_error).order_by(o.c.id)).all()
    lib.conn.rollback()
    return rows


def queue(lib):
    render_due(Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 10:00")), MailSettings())


def test_a_full_mail_folder_keeps_the_mail_queued_and_says_so_in_one_line(lib, tmp_path):
    folder = tmp_path / "mail-out"
    queue(lib)
    with full_folder(folder):
        line = the_one_error_line(mail_send(lib, folder, tmp_path))
        assert sorted(p.name for p in folder.iterdir()) == [".filler"]  # no half-written message
    assert line == (f"Error: cannot write mail into {folder}: No space left on device; "
                    "free space there and run `ils mail send` again")
    [first, *rest] = outbox(lib)
    assert (first.state, first.attempts) == ("queued", 0) and line.endswith(first.last_error)
    assert rest == [("queued", 0, None)] * 2  # the run stopped at the first
    assert mail_send(lib, folder, tmp_path).exit_code == 0  # space again: everything goes, once
    assert [row.state for row in outbox(lib)] == ["sent"] * 3 and len(list(folder.glob("*.eml"))) == 3


def test_a_read_only_mail_folder_keeps_the_mail_queued_and_says_so_in_one_line(lib, tmp_path):
    folder = tmp_path / "mail-out"
    queue(lib)
    with read_only_folder(folder):
        line = the_one_error_line(mail_send(lib, folder, tmp_path))
    assert line == (f"Error: cannot write mail into {folder}: Read-only file system; "
                    "make it writable for the user that runs ils and run `ils mail send` again")
    assert [(row.state, row.attempts) for row in outbox(lib)] == [("queued", 0)] * 3


def test_a_mail_folder_that_cannot_be_created_is_one_line_too(lib, tmp_path):
    parent = tmp_path / "share"
    queue(lib)
    with read_only_folder(parent):
        line = the_one_error_line(mail_send(lib, parent / "mail-out", tmp_path))
    assert line.startswith(f"Error: cannot write mail into {parent / 'mail-out'}: Read-only file system;")
    assert [row.state for row in outbox(lib)] == ["queued"] * 3
