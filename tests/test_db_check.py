"""`ils db check`: a library's day leaves nothing to report; each rule broken on purpose is reported in one line, exit 1."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from ils import cli
from ils.infra import db
from lines import unstamped
from scenario import D


@pytest.fixture
def kitami(new_library):
    """Kitami: 常呂 holds the one copy of B1 that patron 1001 will want; 1002 has B2 out."""
    lib = new_library("kitami")
    lib.branch("central").branch("tokoro").route("central", "tokoro", 2)
    lib.patron("1001").patron("1002").staff("s001")
    lib.title("B1").title("B2")
    lib.copy("B1", "tokoro", barcode="777")
    lib.copy("B2", "central", barcode="888")
    lib.ids[("loan", "888")] = lib.loan("888", "1002", due_on=D(2026, 12, 5))
    return lib


def check(runner, lib):
    return runner.invoke(cli.main, ["db", "check", "--db", lib.url])


def staff(runner, lib, branch, now, *args):
    result = runner.invoke(cli.main, [*args, "--db", lib.url, "--now", now, "--branch", branch], env={"ILS_STAFF": "s001"})
    assert result.exit_code == 0, result.output


def copy_id(lib, barcode):
    return lib.ids[("copy", barcode)]


def test_a_day_at_the_library_leaves_nothing_for_the_check_to_report(runner, kitami, engine_name):
    def clean():
        result = check(runner, kitami)
        assert result.exit_code == 0, result.output
        skipped = ["integrity_check: skipped on PostgreSQL (the server checks its own pages; pg_amcheck goes deeper)"]
        assert result.stdout.splitlines() == (skipped if engine_name == "postgresql" else [])

    clean()
    kitami.request("hold", "1001", "B1", pickup="central", received="2026-11-25 20:15")
    assert runner.invoke(cli.main, ["batch", "run", "--db", kitami.url, "--now", "2026-11-26T03:00"]).exit_code == 0
    clean()  # allocated: on 常呂's pull list
    staff(runner, kitami, "tokoro", "2026-11-26T09:30", "pull", "confirm", "--barcode", "777")
    clean()  # in transit
    staff(runner, kitami, "central", "2026-11-26T14:00", "transit", "receive", "--barcode", "777")
    clean()  # ready on the hold shelf
    staff(runner, kitami, "central", "2026-11-27T11:00", "checkout", "--card", "1001", "--barcode", "777")
    clean()  # lent
    staff(runner, kitami, "central", "2026-11-28T11:00", "checkin", "--barcode", "888")
    clean()


def _problems(runner, lib) -> list[str]:
    result = check(runner, lib)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stdout.splitlines() if not line.startswith("integrity_check: skipped")]
    assert unstamped(result.stderr).strip() == (
        f"Error: {len(lines)} problem(s) in the database, listed above; see docs/operations.md")
    return lines


def _write(lib, *statements: str) -> None:
    """Rows changed by hand, as a careless repair in an SQL shell would."""
    with lib.conn.begin():
        for statement in statements:
            lib.conn.execute(text(statement))


def test_a_copy_on_two_active_holds_is_reported_once_the_index_that_forbids_it_is_gone(runner, kitami):
    kitami.copy("B1", "central", barcode="778", state="on_hold_shelf")
    _write(kitami, "DROP INDEX uq_holds_active_copy")  # as in a database restored without its indexes
    first = kitami.hold("1001", "B1", "central", status="ready", copy="778")
    second = kitami.hold("1002", "B1", "central", status="ready", copy="778")
    assert _problems(runner, kitami) == [f"copy {copy_id(kitami, '778')}: held for 2 active holds at once"]
    assert first != second


@pytest.mark.parametrize("status", ["allocated", "in_transit", "ready"])
def test_a_hold_that_has_its_copy_in_hand_without_a_copy_is_reported(runner, kitami, status):
    hold = kitami.hold("1001", "B1", "central", status=status)
    assert _problems(runner, kitami) == [f"hold {hold}: {status} without a copy"]


@pytest.mark.parametrize("status", ["waiting", "series_waiting", "suspended"])
def test_a_hold_still_in_the_queue_bound_to_a_copy_is_reported(runner, kitami, status):
    hold = kitami.hold("1001", "B1", "central", status=status, copy="777")
    assert _problems(runner, kitami) == [f"hold {hold}: {status} but bound to copy {copy_id(kitami, '777')}"]


@pytest.mark.parametrize(("status", "copy_state"), [("ready", "on_shelf"), ("in_transit", "on_hold_shelf"),
                                                    ("allocated", "missing"), ("ready", "withdrawn")])
def test_a_hold_whose_copy_is_somewhere_else_is_reported(runner, kitami, status, copy_state):
    kitami.copy("B1", "central", barcode="779", state=copy_state)
    hold = kitami.hold("1001", "B1", "central", status=status, copy="779")
    assert _problems(runner, kitami) == [f"hold {hold}: {status} but its copy {copy_id(kitami, '779')} is {copy_state}"]


def test_a_copy_on_loan_with_no_loan_is_reported(runner, kitami):
    kitami.copy("B1", "central", barcode="780", state="on_loan")
    assert _problems(runner, kitami) == [f"copy {copy_id(kitami, '780')}: on_loan but no open loan"]


def test_an_open_loan_of_a_withdrawn_copy_is_reported(runner, kitami):
    loan = kitami.loan("777", "1001", due_on=D(2026, 12, 5))
    _write(kitami, f"UPDATE copies SET state = 'withdrawn' WHERE id = {copy_id(kitami, '777')}")
    assert _problems(runner, kitami) == [f"loan {loan}: open but its copy {copy_id(kitami, '777')} is withdrawn"]


def test_a_copy_lent_and_held_for_a_hold_at_once_is_reported(runner, kitami):
    hold = kitami.hold("1001", "B2", "central", status="allocated", copy="888")  # 888 is out with 1002
    assert _problems(runner, kitami) == [
        f"hold {hold}: allocated but its copy {copy_id(kitami, '888')} is on_loan",
        f"copy {copy_id(kitami, '888')}: on an open loan and held for an active hold",
    ]


def _delete_without_foreign_keys(lib, engine_name, statement):
    """A row deleted with the database's foreign keys off: SQLite's own shell does it by default."""
    if engine_name == "sqlite":
        raw = sqlite3.connect(db.sqlite_path(lib.url))  # foreign keys are off unless asked for
        with raw:
            raw.execute(statement)
        raw.close()
    else:
        _write(lib, "SET session_replication_role = replica", statement, "SET session_replication_role = DEFAULT")


def test_a_hold_of_a_patron_who_is_gone_is_reported(runner, kitami, engine_name):
    hold = kitami.hold("1001", "B1", "central")
    patron = kitami.ids[("patron", "1001")]
    _delete_without_foreign_keys(kitami, engine_name, f"DELETE FROM patrons WHERE id = {patron}")
    found = _problems(runner, kitami)
    assert f"hold {hold}: points at a missing patron {patron}, title {kitami.ids[('title', 'B1')]}, " \
           f"branch {kitami.ids[('branch', 'central')]} or copy None" in found
    if engine_name == "sqlite":  # SQLite's own foreign-key check says it too
        assert f"foreign_key_check: holds row {hold} points at a missing patrons row" in found


def test_a_loan_of_a_copy_that_is_gone_is_reported(runner, kitami, engine_name):
    copy = copy_id(kitami, "888")
    _delete_without_foreign_keys(kitami, engine_name, f"DELETE FROM copies WHERE id = {copy}")
    found = _problems(runner, kitami)
    assert f"loan {kitami.ids[('loan', '888')]}: points at a missing patron {kitami.ids[('patron', '1002')]} or copy {copy}" in found


def test_a_copy_of_a_title_that_is_gone_is_reported(runner, kitami, engine_name):
    title = kitami.ids[("title", "B2")]
    _delete_without_foreign_keys(kitami, engine_name, f"DELETE FROM titles WHERE id = {title}")
    assert f"copy {copy_id(kitami, '888')}: of a missing title {title}" in _problems(runner, kitami)


def test_on_postgresql_the_check_says_it_skips_the_page_check(runner, kitami, engine_name):
    result = check(runner, kitami)
    said = "integrity_check: skipped on PostgreSQL" in result.stdout
    assert said == (engine_name == "postgresql")
