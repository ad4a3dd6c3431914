"""Staff extend the pickup deadline of a copy on the hold shelf (取置期限の延長): an open day, within the profile's maximum."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ils import cli
from ils.infra import schema
from ils.library.staff import add_account
from scenario import D, at


@pytest.fixture
def lib(new_library):
    # Kitakyushu: closed on Mondays; [pickup] max_extension_days = 7
    lib = new_library("kitakyushu")
    lib.branch("chuo").patron("2001").title("B1").title("B2")
    with lib.conn.begin():
        add_account(lib.conn, "s-chief", "supervisor", now=at("2026-11-01 09:00"))
        add_account(lib.conn, "s-counter", "counter", now=at("2026-11-01 09:00"))
    return lib


@pytest.fixture
def ready(lib):
    shelf = lib.copy("B1", "chuo", state="on_hold_shelf")
    return lib.hold("2001", "B1", "chuo", status="ready", copy=shelf, ready_on=D(2026, 11, 24), deadline=D(2026, 12, 2))


def extend(runner, lib, hold, *how, staff="s-chief", reason="in hospital this week"):
    return runner.invoke(cli.main, ["hold", "extend", str(hold), *how, "--reason", reason, "--db", lib.url,
                                    "--now", "2026-11-26T10:00", "--json"], env={"ILS_STAFF": staff})


def answer(result) -> dict:
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    return row


def deadline(lib, hold):
    h = schema.holds
    row = lib.conn.execute(select(h.c.status, h.c.pickup_deadline).where(h.c.id == hold)).one()
    lib.conn.rollback()
    return tuple(row)


def test_a_supervisor_extends_a_ready_hold_and_the_night_keeps_it_past_the_old_deadline(runner, lib, ready):
    other = lib.copy("B2", "chuo", state="on_hold_shelf")
    not_extended = lib.hold("2001", "B2", "chuo", status="ready", copy=other, ready_on=D(2026, 11, 24),
                            deadline=D(2026, 12, 2))
    done = answer(extend(runner, lib, ready, "--days", "3"))
    assert (done["was"], done["pickup_deadline"]) == ("2026-12-02", "2026-12-05")
    hh, a = schema.hold_history, schema.staff_audit
    assert lib.conn.execute(select(hh.c.from_status, hh.c.to_status, hh.c.actor, hh.c.note)
                            .where(hh.c.hold_id == ready)).all() == [("ready", "ready", "s-chief", "in hospital this week")]
    entry = lib.conn.execute(select(a.c.staff_id, a.c.action, a.c.target, a.c.reason, a.c.detail)).one()
    lib.conn.rollback()
    assert entry[:4] == ("s-chief", "hold_extend", str(ready), "in hospital this week")
    assert json.loads(entry.detail)["was"] == "2026-12-02"
    lib.night(now="2026-12-03 03:00")  # the old deadline has passed; the hold stays on the shelf
    assert deadline(lib, ready) == ("ready", D(2026, 12, 5))
    assert deadline(lib, not_extended) == ("expired", D(2026, 12, 2))


def test_extending_twice_does_not_stretch_the_maximum_past_the_first_deadline(runner, lib, ready):
    answer(extend(runner, lib, ready, "--days", "3"))
    assert answer(extend(runner, lib, ready, "--until", "2026-12-09"))["pickup_deadline"] == "2026-12-09"
    too_far = extend(runner, lib, ready, "--until", "2026-12-10")
    assert too_far.exit_code == 1
    assert ("2026-12-10 is past the longest extension: 7 days after the first deadline 2026-12-02, "
            "that is 2026-12-09") in too_far.stderr
    assert deadline(lib, ready) == ("ready", D(2026, 12, 9))


def test_an_extension_that_does_not_apply_is_refused_with_its_reason_and_changes_nothing(runner, lib, ready):
    lib.copy("B2", "chuo", state="on_loan")
    waiting = lib.hold("2001", "B2", "chuo")
    cases = [
        (extend(runner, lib, ready, "--until", "2026-12-07"), "chuo is closed on 2026-12-07; its next open day is 2026-12-08"),
        (extend(runner, lib, ready, "--until", "2026-11-20"), "2026-11-20 is in the past (today is 2026-11-26)"),
        (extend(runner, lib, ready, "--until", "2026-12-01"), f"2026-12-01 is not after hold {ready}'s pickup deadline 2026-12-02"),
        (extend(runner, lib, ready, "--days", "0"), "--days must be 1 or more"),
        (extend(runner, lib, ready, "--days", "14"), "past the longest extension"),
        (extend(runner, lib, waiting, "--days", "3"), f"hold {waiting} is waiting: only a ready hold"),
        (extend(runner, lib, ready, "--days", "3", staff="s-counter"),
         "staff 's-counter' (counter) may not hold_extend: it needs supervisor"),
    ]
    for result, message in cases:
        assert result.exit_code == 1 and message in result.stderr, (message, result.output)
    both = extend(runner, lib, ready, "--days", "3", "--until", "2026-12-05")
    neither = extend(runner, lib, ready)
    assert both.exit_code == neither.exit_code == 2 and "give either --days or --until" in neither.stderr
    assert deadline(lib, ready) == ("ready", D(2026, 12, 2))
    assert lib.conn.execute(select(schema.staff_audit.c.id)).all() == []
    lib.conn.rollback()


def test_every_profile_says_how_far_a_deadline_may_be_extended(runner):
    for profile in ("kitami", "kitakyushu", "mito", "kitsuki", "murakami"):
        shown = runner.invoke(cli.main, ["policy", "show", "--profile", profile, "--json"])
        assert {"key": "pickup.max_extension_days", "value": 7} in json.loads(shown.stdout), profile


def test_the_counter_reads_the_refusal_in_japanese_by_default(runner, lib, ready):
    result = runner.invoke(cli.main, ["hold", "extend", str(ready), "--until", "2026-12-07", "--reason", "入院中",
                                      "--db", lib.url, "--now", "2026-11-26T10:00"],
                           env={"ILS_STAFF": "s-chief", "ILS_STAFF_LANGUAGE": None})
    assert result.exit_code == 1
    assert "chuo は 2026-12-07 が休館日です。次の開館日は 2026-12-08 です" in result.stderr


def test_a_ready_hold_the_ils_handed_over_without_a_deadline_is_extended_from_today(runner, lib):
    shelf = lib.copy("B2", "chuo", state="on_hold_shelf")
    bare = lib.hold("2001", "B2", "chuo", status="ready", copy=shelf, ready_on=D(2026, 11, 25))
    assert answer(extend(runner, lib, bare, "--days", "2"))["pickup_deadline"] == "2026-11-28"
    assert deadline(lib, bare) == ("ready", D(2026, 11, 28))
