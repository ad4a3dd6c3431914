"""Staff change a hold's pickup branch (受取館の変更) at any time before pickup: what becomes of its copy in each status.

Seed 001: 「取寄・準備中です」「ご用意できました」の状態になると、ご自身では取消・変更ができなく
なりますので、図書館にご連絡ください — the patron calls, and the counter changes it.
"""

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
    lib = new_library("kitakyushu")
    lib.branch("chuo").branch("yahata").branch("tobata").branch("office", pickup_allowed=False)
    lib.route("chuo", "yahata", 1).route("tobata", "chuo", 1).route("tobata", "yahata", 1)
    lib.patron("2001").patron("2002")
    lib.title("B1")
    with lib.conn.begin():
        add_account(lib.conn, "s-counter", "counter", now=at("2026-11-01 09:00"))
    return lib


def ils(runner, lib, *args, now="2026-11-26T10:00", branch="chuo"):
    return runner.invoke(cli.main, [*args, "--db", lib.url, "--now", now, "--json"],
                         env={"ILS_STAFF": "s-counter", "ILS_BRANCH": branch})


def answer(result) -> dict:
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    return row


def change(runner, lib, hold, branch, reason="patron called: moved house"):
    return ils(runner, lib, "hold", "pickup", str(hold), "--branch", branch, "--reason", reason)


def hold_row(lib, hold_id):
    h, b = schema.holds, schema.branches
    row = lib.conn.execute(select(h.c.status, b.c.code.label("pickup"), h.c.pickup_deadline, h.c.ready_on)
                           .join(b, b.c.id == h.c.pickup_branch_id).where(h.c.id == hold_id)).one()
    lib.conn.rollback()
    return row


def copy_row(lib, barcode):
    c, b = schema.copies, schema.branches
    row = lib.conn.execute(select(c.c.state, b.c.code.label("at")).join(b, b.c.id == c.c.location_branch_id)
                           .where(c.c.barcode == barcode)).one()
    lib.conn.rollback()
    return row


def history(lib, hold_id):
    hh = schema.hold_history
    rows = lib.conn.execute(select(hh.c.from_status, hh.c.to_status, hh.c.actor, hh.c.note)
                            .where(hh.c.hold_id == hold_id).order_by(hh.c.id)).all()
    lib.conn.rollback()
    return [tuple(r) for r in rows]


def audits(lib):
    a = schema.staff_audit
    rows = lib.conn.execute(select(a.c.staff_id, a.c.action, a.c.target, a.c.reason, a.c.detail).order_by(a.c.id)).all()
    lib.conn.rollback()
    return [(r.staff_id, r.action, r.target, r.reason, json.loads(r.detail)) for r in rows]


def test_a_waiting_hold_only_changes_branch_and_the_change_is_in_its_history_and_the_audit_log(runner, lib):
    lib.copy("B1", "tobata", state="on_loan")
    hold = lib.hold("2001", "B1", "chuo")
    done = answer(change(runner, lib, hold, "yahata"))
    assert (done["status"], done["was"], done["pickup"]) == ("waiting", "chuo", "yahata")
    assert tuple(hold_row(lib, hold))[:2] == ("waiting", "yahata")
    assert history(lib, hold) == [("waiting", "waiting", "s-counter", "patron called: moved house")]
    assert audits(lib) == [("s-counter", "hold_pickup_change", str(hold), "patron called: moved house",
                            {"hold_id": hold, "status": "waiting", "was": "chuo", "now": "yahata"})]
    assert ("pickup_changed", {"pickup_branch": "yahata"}) in lib.notices("2001")
    lib.night(now="2026-11-27 03:00")  # the patron is told, as after their own change
    body = lib.conn.execute(select(schema.mail_outbox.c.body).where(schema.mail_outbox.c.subject.contains("受取館変更"))
                            ).scalar_one()
    lib.conn.rollback()
    assert "受取館: yahata" in body


def test_a_pulled_copy_travels_to_the_new_pickup_branch_when_it_is_taken_off_the_shelf(runner, lib):
    pull = lib.copy("B1", "chuo", barcode="P1")
    hold = lib.hold("2001", "B1", "chuo", status="allocated", copy=pull)
    assert answer(change(runner, lib, hold, "yahata"))["status"] == "allocated"
    assert tuple(hold_row(lib, hold))[:2] == ("allocated", "yahata")  # the pull stays on chuo's list
    pulled = answer(ils(runner, lib, "pull", "confirm", "--barcode", "P1"))
    assert pulled["action"] == "in_transit" and pulled["slip"].startswith("yahata 行き / 予約")
    assert hold_row(lib, hold).status == "in_transit"


def test_a_copy_in_the_van_travels_on_from_the_old_branch_and_is_ready_at_the_new_one(runner, lib):
    van = lib.copy("B1", "tobata", barcode="V1", state="in_transit")
    hold = lib.hold("2001", "B1", "chuo", status="in_transit", copy=van)
    answer(change(runner, lib, hold, "yahata"))
    # The van brings it to chuo as planned; chuo sends it on with a new slip.
    at_chuo = answer(ils(runner, lib, "transit", "receive", "--barcode", "V1", branch="chuo"))
    assert at_chuo["action"] == "in_transit" and at_chuo["slip"].startswith("yahata 行き / 予約")
    assert tuple(copy_row(lib, "V1")) == ("in_transit", "chuo")
    ready = answer(ils(runner, lib, "transit", "receive", "--barcode", "V1", branch="yahata", now="2026-11-27T10:00"))
    assert ready["action"] == "hold_shelf"
    assert tuple(hold_row(lib, hold))[:2] == ("ready", "yahata")


def test_a_copy_on_the_old_hold_shelf_goes_to_the_new_branch_and_gets_a_new_deadline_and_ready_notice(runner, lib):
    shelf = lib.copy("B1", "chuo", barcode="S1", state="on_hold_shelf")
    hold = lib.hold("2001", "B1", "chuo", status="ready", copy=shelf, ready_on=D(2026, 11, 24), deadline=D(2026, 12, 2))
    sent = answer(change(runner, lib, hold, "yahata"))
    assert (sent["status"], sent["barcode"]) == ("in_transit", "S1")
    assert sent["slip"].startswith("yahata 行き / 予約")
    row = hold_row(lib, hold)
    assert (row.status, row.pickup, row.pickup_deadline, row.ready_on) == ("in_transit", "yahata", None, None)
    assert tuple(copy_row(lib, "S1")) == ("in_transit", "chuo")
    assert history(lib, hold) == [("ready", "in_transit", "s-counter", "patron called: moved house")]
    arrived = answer(ils(runner, lib, "transit", "receive", "--barcode", "S1", branch="yahata", now="2026-11-27T10:00"))
    # 001: 休館日を除き1週間 from the day after the notice (Mondays closed): 11-28 … 12-05
    assert arrived["pickup_deadline"] == "2026-12-05"
    assert hold_row(lib, hold).pickup_deadline == D(2026, 12, 5)
    assert ("hold_ready", {"pickup_deadline": "2026-12-05"}) in lib.notices("2001")


def test_a_change_that_does_not_apply_is_refused_and_changes_nothing(runner, lib):
    lib.copy("B1", "tobata", state="on_loan")
    hold = lib.hold("2001", "B1", "chuo")
    cases = [
        (change(runner, lib, hold, "chuo"), f"hold {hold} is already for pickup at chuo"),
        (change(runner, lib, hold, "nowhere"), "no branch has the code 'nowhere'"),
        (change(runner, lib, hold, "office"), "office does not take holds for pickup"),
        (change(runner, lib, 999, "yahata"), "no hold 999"),
        (change(runner, lib, hold, "yahata", reason="  "), "give --reason"),
        (runner.invoke(cli.main, ["hold", "pickup", str(hold), "--branch", "yahata", "--reason", "x", "--db", lib.url,
                                  "--now", "2026-11-26T10:00"], env={"ILS_STAFF": "s-nobody"}),
         "staff 's-nobody' is not an active staff account"),
    ]
    for result, message in cases:
        assert result.exit_code == 1 and message in result.stderr, result.output
    closed = lib.hold("2002", "B1", "chuo", status="cancelled")
    refused = change(runner, lib, closed, "yahata")
    assert refused.exit_code == 1 and f"hold {closed} is already cancelled" in refused.stderr
    assert tuple(hold_row(lib, hold))[:2] == ("waiting", "chuo")
    assert history(lib, hold) == [] and audits(lib) == []
