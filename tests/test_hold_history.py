"""A hold's history as staff read it: every change, when, why, and who — the night, the front end, a staff account, an import."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from ils import cli
from ils.infra import schema
from lines import unstamped


@pytest.fixture
def kitami(new_library):
    lib = new_library("kitami")
    lib.branch("central").branch("tokoro").route("central", "tokoro", 2)
    lib.patron("10001001").patron("10001002")
    lib.staff("s001")
    lib.title("B1").title("B2").title("B3")
    lib.copy("B1", "tokoro", barcode="777")
    lib.copy("B2", "central", state="on_loan", barcode="888")
    lib.copy("B3", "central", state="on_loan")
    return lib


def ils(runner, lib, now, *args):
    result = runner.invoke(cli.main, [*args, "--db", lib.url, "--now", now, "--json"], env={"ILS_STAFF": "s001"})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def last_run(lib) -> int:
    run = lib.conn.execute(select(func.max(schema.batch_runs.c.id))).scalar_one()
    lib.conn.rollback()
    return run


def test_a_web_hold_from_request_to_loan_says_who_moved_it_at_each_step(runner, kitami):
    """The 03:00 night accepts the request and puts tokoro's copy on its pull list; staff pull it, the
    van brings it, the patron borrows it at central."""
    request = kitami.request("hold", "10001001", "B1", pickup="central", received="2026-11-25 20:15")
    kitami.night("2026-11-26 03:00")
    night = last_run(kitami)
    hold = kitami.holds_of("10001001")["B1"]["id"]
    ils(runner, kitami, "2026-11-26T09:30", "pull", "confirm", "--barcode", "777", "--branch", "tokoro")
    ils(runner, kitami, "2026-11-26T14:00", "transit", "receive", "--barcode", "777", "--branch", "central")
    ils(runner, kitami, "2026-11-27T11:00", "checkout", "--card", "10001001", "--barcode", "777", "--branch", "central")
    history = ils(runner, kitami, "2026-11-27T12:00", "hold", "history", str(hold))
    assert [(h["at"], h["from_status"], h["to_status"], h["event"], h["who"]) for h in history] == [
        ("2026-11-26T03:00:00+09:00", "", "waiting", "place", f"front end request {request} (batch run {night})"),
        ("2026-11-26T03:00:00+09:00", "waiting", "allocated", "allocate", f"batch run {night}"),
        ("2026-11-26T09:30:00+09:00", "allocated", "in_transit", "pull_confirmed", "staff s001"),
        ("2026-11-26T14:00:00+09:00", "in_transit", "ready", "transit_received", "staff s001"),
        ("2026-11-27T11:00:00+09:00", "ready", "fulfilled", "check_out", "staff s001"),
    ]
    assert [h["why"] for h in history] == [
        f"request {request}", f"copy {kitami.ids[('copy', '777')]}", "pulled from the shelf", "transit received",
        "lent copy 777"]
    assert {h["hold"] for h in history} == {hold} and {h["bib_id"] for h in history} == {"B1"}


def test_a_hold_the_ils_had_shows_its_import_then_the_staff_who_cancelled_it(runner, kitami, tmp_path):
    carried = tmp_path / "holds.csv"
    carried.write_text("card,bib_id,pickup,status,queued_at\n10001002,B2,central,waiting,2026-10-01T10:00:00+09:00\n",
                       encoding="utf-8")
    runner.invoke(cli.main, ["import", "holds", str(carried), "--db", kitami.url, "--now", "2026-11-25T20:00"])
    hold = kitami.holds_of("10001002")["B2"]["id"]
    ils(runner, kitami, "2026-11-26T10:00", "hold", "cancel", str(hold), "--reason", "電話で取消の依頼")
    history = ils(runner, kitami, "2026-11-26T10:05", "hold", "history", str(hold))
    assert [(h["at"], h["from_status"], h["to_status"], h["event"], h["why"], h["who"]) for h in history] == [
        ("2026-11-25T20:00:00+09:00", "", "waiting", "import", "imported from the ILS as it stood", "import"),
        # three events end in cancelled (the patron's request, staff, a lapsed 有効期限): who tells which
        ("2026-11-26T10:00:00+09:00", "waiting", "cancelled", "cancel_by_staff", "電話で取消の依頼", "staff s001"),
    ]


def test_a_patrons_history_covers_every_hold_they_had_oldest_first(runner, kitami):
    kitami.hold("10001001", "B2", "central", queued_at="2026-11-01 10:00", channel="counter")
    cancel = kitami.request("cancel", "10001001", "bib:B2", received="2026-11-25 21:00")
    placed = ils(runner, kitami, "2026-11-25T15:00", "hold", "place", "--card", "10001001", "--title", "B3",
                 "--pickup", "central")
    kitami.night("2026-11-26 03:00")
    night = last_run(kitami)
    history = ils(runner, kitami, "2026-11-26T10:00", "patron", "history", "10001001")
    assert [(h["bib_id"], h["from_status"], h["to_status"], h["event"], h["who"]) for h in history] == [
        ("B3", "", "waiting", "place", "staff s001"),
        ("B2", "waiting", "cancelled", "cancel_by_patron", f"front end request {cancel} (batch run {night})"),
    ]
    assert history[0]["hold"] == placed[0]["hold"] and history[0]["why"] == "placed at the counter"


def test_a_copy_caught_at_check_in_is_a_trap_and_names_the_counter(runner, kitami):
    hold = kitami.hold("10001002", "B2", "central")
    ils(runner, kitami, "2026-11-26T10:00", "checkin", "--barcode", "888", "--branch", "central")
    [caught] = ils(runner, kitami, "2026-11-26T10:05", "hold", "history", str(hold))
    assert (caught["from_status"], caught["to_status"], caught["event"], caught["why"], caught["who"]) == (
        "waiting", "ready", "trap", "caught at check-in", "staff s001")


@pytest.mark.parametrize("command, message", [
    (["hold", "history", "99"], "Error: no hold 99"),
    (["patron", "history", "99999999"], "Error: no patron with card '99999999'"),
    (["hold", "history", "first"], None),  # not a number: a usage error, exit 2
])
def test_an_unknown_hold_or_card_is_one_line(runner, kitami, command, message):
    result = runner.invoke(cli.main, [*command, "--db", kitami.url])
    if message is None:
        assert result.exit_code == 2 and "'first' is not a valid integer" in result.stderr
    else:
        assert result.exit_code == 1 and unstamped(result.stderr).splitlines() == [message]
