"""Not needed after (有効期限): a hold still waiting after the day the patron gave lapses in the night, and the patron is told."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ils import cli
from ils.holds.suspension import SuspensionRefused, set_not_needed_after
from ils.infra import schema
from ils.infra.context import Context
from ils.library.staff import add_account
from ils.mail.render import render_notices
from ils.mail.settings import MailSettings
from scenario import D, at


def _kitami(new_library):
    lib = new_library("kitami")
    lib.branch("central")
    lib.patron("1001").patron("1002").patron("1003", contact="phone", email=None)
    lib.title("B1").title("B2")
    lib.copy("B1", "central", state="on_loan")
    lib.copy("B2", "central", state="on_loan")
    return lib


def _ctx(lib, now="2026-11-26 10:00"):
    return Context(conn=lib.conn, policy=lib.policy, now=at(now))


def _hold_row(lib, hold_id):
    h = schema.holds
    row = lib.conn.execute(select(h).where(h.c.id == hold_id)).one()
    lib.conn.rollback()
    return row


def test_a_patron_gives_a_not_needed_after_date_and_the_hold_lapses_the_night_after_it(new_library):
    lib = _kitami(new_library)
    hold = lib.hold("1001", "B1", "central")
    asked = lib.request("not_needed_after", "1001", f"{hold}@2026-11-30")
    lib.night("2026-11-26 03:00")
    assert lib.verdict(asked) == ("applied", None)
    assert _hold_row(lib, hold).not_needed_after == D(2026, 11, 30)
    lib.night("2026-11-30 03:00")
    assert lib.status("1001", "B1") == "waiting"  # still needed on the 30th
    lib.night("2026-12-01 03:00")
    lapsed = _hold_row(lib, hold)
    assert (lapsed.status, lapsed.close_reason) == ("cancelled", "not_needed_after")
    assert ("hold_lapsed", {"not_needed_after": "2026-11-30"}) in lib.notices("1001")
    # The ILS hears of it as a cancelled hold.
    j = schema.change_journal
    kinds = lib.conn.execute(select(j.c.kind).where(j.c.hold_id == hold)).scalars().all()
    lib.conn.rollback()
    assert kinds == ["hold_cancelled"]


def test_the_lapse_notice_is_a_japanese_mail_naming_the_title_and_the_day(new_library):
    lib = _kitami(new_library)
    hold = lib.hold("1001", "B1", "central")
    with lib.conn.begin():
        lib.conn.execute(schema.holds.update().where(schema.holds.c.id == hold).values(not_needed_after=D(2026, 11, 30)))
    lib.night("2026-12-01 03:00")
    ctx = _ctx(lib, "2026-12-01 10:00")
    with lib.conn.begin():
        render_notices(ctx, MailSettings(), ahead=False)
    o = schema.mail_outbox
    [(subject, body)] = lib.conn.execute(select(o.c.subject, o.c.body)).all()
    lib.conn.rollback()
    assert "予約の有効期限が過ぎました" in subject
    assert "本 B1" in body and "2026年11月30日(月)" in body and "取り消しました" in body


@pytest.mark.staff_language("ja")  # the phone list as a Japanese library prints it (reports.toml)
def test_a_phone_patron_s_lapsed_hold_goes_on_the_branch_phone_list(new_library):
    lib = _kitami(new_library)
    hold = lib.hold("1003", "B1", "central", contact="phone")
    with lib.conn.begin():
        lib.conn.execute(schema.holds.update().where(schema.holds.c.id == hold).values(not_needed_after=D(2026, 11, 30)))
    lib.night("2026-12-01 03:00")
    from ils.reports.lists import phone_list

    rows = phone_list(_ctx(lib, "2026-12-01 09:00"), [lib.ids[("branch", "central")]], D(2026, 12, 1))
    lib.conn.rollback()
    assert [(r["card"], r["hold"]) for r in rows] == [("1003", hold)]
    assert "有効期限" in rows[0]["title"] and "本 B1" in rows[0]["title"]
    e = schema.notice_events
    delivery = lib.conn.execute(select(e.c.delivery).where(e.c.kind == "hold_lapsed")).scalar_one()
    lib.conn.rollback()
    assert delivery == "phone"


def test_a_suspended_hold_lapses_too_but_one_with_a_copy_is_left_to_its_pickup_deadline(new_library):
    lib = _kitami(new_library)
    suspended = lib.hold("1001", "B1", "central", status="suspended")
    shelf = lib.copy("B2", "central", state="on_hold_shelf")
    ready = lib.hold("1002", "B2", "central", status="ready", copy=shelf, ready_on=D(2026, 11, 29),
                     deadline=D(2026, 12, 8))
    with lib.conn.begin():
        h = schema.holds
        lib.conn.execute(h.update().where(h.c.id.in_([suspended, ready])).values(not_needed_after=D(2026, 11, 30)))
    lib.night("2026-12-01 03:00")
    assert lib.status("1001", "B1") == "cancelled"
    assert lib.status("1002", "B2") == "ready"


def test_a_lapsed_earlier_volume_opens_the_gate_of_the_next(new_library):
    lib = new_library("kitakyushu")
    lib.branch("chuo")
    lib.patron("2001")
    lib.title("V1", series="S", volume=1).title("V2", series="S", volume=2)
    lib.copy("V1", "chuo", state="on_loan")
    lib.copy("V2", "chuo")
    v1 = lib.hold("2001", "V1", "chuo", series=("s", 1))
    lib.hold("2001", "V2", "chuo", status="series_waiting", series=("s", 2))
    with lib.conn.begin():
        lib.conn.execute(schema.holds.update().where(schema.holds.c.id == v1).values(not_needed_after=D(2026, 11, 30)))
    lib.night("2026-12-01 03:00")
    assert lib.status("2001", "V1") == "cancelled"
    assert lib.status("2001", "V2") == "allocated"  # the free copy of V2 is pulled the same night


def test_a_date_in_the_past_or_for_a_hold_with_a_copy_is_refused_and_a_date_can_be_cleared(new_library):
    lib = _kitami(new_library)
    hold = lib.hold("1001", "B1", "central")
    shelf = lib.copy("B2", "central", state="on_hold_shelf")
    ready = lib.hold("1001", "B2", "central", status="ready", copy=shelf, ready_on=D(2026, 11, 24),
                     deadline=D(2026, 12, 3))
    past = lib.request("not_needed_after", "1001", f"{hold}@2026-11-25")
    with_copy = lib.request("not_needed_after", "1001", f"{ready}@2026-12-20")
    no_day = lib.request("not_needed_after", "1001", str(hold))
    set_it = lib.request("not_needed_after", "1001", "bib:B1@2026-12-20", received="2026-11-25 10:01")
    clear_it = lib.request("not_needed_after", "1001", f"{hold}@none", received="2026-11-25 10:02")
    lib.night()
    assert lib.verdict(past) == ("rejected", "date_in_past")
    assert lib.verdict(with_copy) == ("rejected", "not_needed_after_too_late")
    assert lib.verdict(no_day) == ("rejected", "malformed")
    assert lib.verdict(set_it) == lib.verdict(clear_it) == ("applied", None)
    assert _hold_row(lib, hold).not_needed_after is None  # the later request cleared it
    assert _hold_row(lib, ready).not_needed_after is None


def test_a_hold_requested_with_a_not_needed_after_date_gets_it_the_same_night(runner, new_library):
    lib = _kitami(new_library)
    result = runner.invoke(cli.main, ["request", "hold", "--card", "1001", "--title", "B1", "--pickup", "central",
                                      "--not-needed-after", "2026-12-20", "--db", lib.url, "--now", "2026-11-25T10:00"])
    assert result.exit_code == 0, result.output
    lib.night()
    assert lib.status("1001", "B1") == "waiting"
    assert _hold_row(lib, lib.holds_of("1001")["B1"]["id"]).not_needed_after == D(2026, 12, 20)
    past = runner.invoke(cli.main, ["request", "hold", "--card", "1001", "--title", "B2", "--pickup", "central",
                                    "--not-needed-after", "2026-11-01", "--db", lib.url, "--now", "2026-11-26T10:00"])
    assert past.exit_code == 1 and "Error:" in past.output


def test_staff_set_and_clear_the_date_and_place_holds_with_it(runner, new_library):
    lib = _kitami(new_library)
    with lib.conn.begin():
        add_account(lib.conn, "s042", "counter", now=at("2026-11-01 09:00"))
    hold = lib.hold("1001", "B1", "central")

    def ils(*args):
        return runner.invoke(cli.main, [*args, "--db", lib.url, "--now", "2026-11-26T10:00", "--json"],
                             env={"ILS_STAFF": "s042"})

    done = ils("hold", "not-needed-after", str(hold), "2026-12-24", "--reason", "patron phoned")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)[0]["not_needed_after"] == "2026-12-24"
    shown = json.loads(ils("patron", "holds", "1001").stdout)
    assert shown[0]["not_needed_after"] == "2026-12-24"
    cleared = ils("hold", "not-needed-after", str(hold), "--clear", "--reason", "needs it after all")
    assert cleared.exit_code == 0 and _hold_row(lib, hold).not_needed_after is None
    # Each change is in the hold's history: who set the date, and why.
    history = json.loads(ils("hold", "history", str(hold)).stdout)
    dated = [(row["from_status"], row["to_status"], row["who"], row["why"]) for row in history
             if row["who"] == "staff s042"]
    assert dated == [("waiting", "waiting", "staff s042", "patron phoned"),
                     ("waiting", "waiting", "staff s042", "needs it after all")]
    past = ils("hold", "not-needed-after", str(hold), "2026-11-01", "--reason", "typo")
    assert past.exit_code == 1 and "Error:" in past.output
    placed = ils("hold", "place", "--card", "1002", "--title", "B2", "--pickup", "central",
                 "--not-needed-after", "2026-12-31")
    assert placed.exit_code == 0, placed.output
    assert _hold_row(lib, json.loads(placed.stdout)[0]["hold"]).not_needed_after == D(2026, 12, 31)
    refused = ils("hold", "place", "--card", "1003", "--title", "B2", "--pickup", "central",
                  "--not-needed-after", "2026-11-01")
    assert refused.exit_code == 1 and "B2" not in lib.holds_of("1003")


def test_staff_without_a_reason_or_account_change_nothing(new_library):
    lib = _kitami(new_library)
    hold = lib.hold("1001", "B1", "central")
    with pytest.raises(Exception, match="--reason"):
        set_not_needed_after(_ctx(lib), hold, D(2026, 12, 24), staff="s042", why=" ")
    with lib.conn.begin():
        add_account(lib.conn, "s042", "counter", now=at("2026-11-01 09:00"))
    with pytest.raises(SuspensionRefused):
        set_not_needed_after(_ctx(lib), hold, D(2026, 11, 1), staff="s042", why="x")
    assert _hold_row(lib, hold).not_needed_after is None
