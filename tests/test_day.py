"""A whole day at Kitami, end to end: the web, the 03:00 batch, the pull list, the van, the hold shelf, the counter."""

from __future__ import annotations

import json

import pytest

from ils import cli
from scenario import D


@pytest.fixture
def kitami(tmp_path, new_library):
    lib = new_library("kitami")
    lib.branch("central").branch("tokoro").route("central", "tokoro", 2)
    lib.patron("1001").patron("1002")
    lib.staff("s001")
    lib.title("B1")
    lib.copy("B1", "tokoro", barcode="777")
    yield lib


def staff(runner, lib, branch, now, *args):
    result = runner.invoke(cli.main, [*args, "--db", lib.url, "--now", now, "--branch", branch, "--json"],
                           env={"ILS_STAFF": "s001"})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)[0]


def night(runner, lib, now):
    result = runner.invoke(cli.main, ["batch", "run", "--db", lib.url, "--now", now])
    assert result.exit_code == 0, result.output


def my_status(lib, card="1001"):
    return next(h for h in lib.holds_of(card).values())["status"], lib.label(card, "B1")


def test_web_request_to_pickup(runner, kitami):
    kitami.request("hold", "1001", "B1", pickup="central", received="2026-11-25 20:15")
    night(runner, kitami, "2026-11-26T03:00")
    assert my_status(kitami) == ("allocated", "予約中")  # on 常呂's pull list
    pulled = staff(runner, kitami, "tokoro", "2026-11-26T09:30", "pull", "confirm", "--barcode", "777")
    assert pulled["action"] == "in_transit" and pulled["slip"].startswith("central 行き")
    assert my_status(kitami) == ("in_transit", "取寄中")
    arrived = staff(runner, kitami, "central", "2026-11-26T14:00", "transit", "receive", "--barcode", "777")
    # ready at 14:00; mailed at 15:00 that open day; a week from the day after the notice
    assert arrived["pickup_deadline"] == "2026-12-03"
    assert my_status(kitami) == ("ready", "貸出可能")
    assert [kind for kind, _ in kitami.notices("1001")] == ["hold_accepted", "hold_ready"]
    lent = staff(runner, kitami, "central", "2026-11-27T11:00", "checkout", "--card", "1001", "--barcode", "777")
    assert lent["due_on"] == "2026-12-11" and "hold" in lent["message"]
    assert my_status(kitami)[0] == "fulfilled"


def test_a_walk_in_takes_the_pulled_copy_first(runner, kitami):
    kitami.request("hold", "1001", "B1", pickup="central", received="2026-11-25 20:15")
    night(runner, kitami, "2026-11-26T03:00")
    assert my_status(kitami)[0] == "allocated"
    # 09:05 at 常呂, before the pull list is worked: a walk-in brings the copy to the counter
    lent = staff(runner, kitami, "tokoro", "2026-11-26T09:05", "checkout", "--card", "1002", "--barcode", "777")
    assert "goes back to the queue" in lent["message"]  # 来館者優先
    assert my_status(kitami) == ("waiting", "予約中")
    refused = runner.invoke(cli.main, ["pull", "confirm", "--barcode", "777", "--db", kitami.url,
                                       "--now", "2026-11-26T09:30", "--branch", "tokoro"], env={"ILS_STAFF": "s001"})
    assert refused.exit_code == 1 and "is not on a pull list" in refused.stderr
    # the walk-in returns it on Tuesday 12-01; it is caught for the hold and sent on
    caught = staff(runner, kitami, "tokoro", "2026-12-01T10:00", "checkin", "--barcode", "777")
    assert caught["action"] == "in_transit"
    arrived = staff(runner, kitami, "central", "2026-12-02T16:00", "transit", "receive", "--barcode", "777")
    # ready after the 15:00 send: mailed Thursday 12-03, so the deadline is Thursday 12-10
    assert arrived["pickup_deadline"] == "2026-12-10"
    assert kitami.holds_of("1001")["B1"]["pickup_deadline"] == D(2026, 12, 10)
