"""Suspending a hold (予約の一時停止): it keeps its place, copies go round it, and it resumes by itself on its day."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ils import cli
from ils.circulation.copies import check_in
from ils.holds.suspension import SuspensionRefused, resume_hold, suspend_hold
from ils.infra import schema
from ils.infra.context import Context
from ils.library.staff import StaffRefused, add_account
from ils.patrons.view import patron_holds
from scenario import D, at


def _kitami(new_library, overrides=None):
    lib = new_library("kitami", overrides)
    lib.branch("central")
    lib.patron("1001").patron("1002").patron("1003")
    lib.title("B1").title("B2")
    return lib


def _ctx(lib, now="2026-11-26 10:00"):
    return Context(conn=lib.conn, policy=lib.policy, now=at(now))


def _staff(lib, staff_id="s042", role="counter"):
    with lib.conn.begin():
        add_account(lib.conn, staff_id, role, now=at("2026-11-01 09:00"))


def _hold_row(lib, hold_id):
    h = schema.holds
    row = lib.conn.execute(select(h).where(h.c.id == hold_id)).one()
    lib.conn.rollback()
    return row


def _history(lib, hold_id):
    hh = schema.hold_history
    rows = lib.conn.execute(select(hh.c.from_status, hh.c.to_status, hh.c.actor, hh.c.note)
                            .where(hh.c.hold_id == hold_id).order_by(hh.c.id)).all()
    lib.conn.rollback()
    return [tuple(r) for r in rows]


def test_a_patron_suspends_her_hold_from_the_web_and_a_returned_copy_goes_to_the_next_patron(new_library):
    lib = _kitami(new_library)
    copy = lib.copy("B1", "central", state="on_loan")
    first = lib.hold("1001", "B1", "central", queued_at="2026-11-01 10:00")
    second = lib.hold("1002", "B1", "central", queued_at="2026-11-02 10:00")
    asked = lib.request("suspend", "1001", f"{first}@2026-12-10")
    lib.night()
    assert lib.verdict(asked) == ("applied", None)
    assert lib.label("1001", "B1") == "一時停止中"
    held = _hold_row(lib, first)
    assert held.suspended_until == D(2026, 12, 10)
    assert (held.queue_day, held.queued_at) == (D(2026, 11, 1), at("2026-11-01 10:00"))  # its place is kept
    assert ("hold_change_applied", {"change": "suspend", "suspended_until": "2026-12-10"}) in lib.notices("1001")
    # The copy comes back: caught for the next waiting hold, not the suspended one.
    _staff(lib)
    outcome = check_in(_ctx(lib), copy, lib.ids[("branch", "central")], "s042")
    assert outcome.hold_id == second
    assert lib.status("1002", "B1") == "ready" and lib.status("1001", "B1") == "suspended"


def test_the_night_allocates_round_a_suspended_hold_and_it_resumes_on_its_day_in_its_place(new_library):
    lib = _kitami(new_library)
    first = lib.hold("1001", "B1", "central", queued_at="2026-11-01 10:00")
    lib.hold("1002", "B1", "central", queued_at="2026-11-02 10:00")
    lib.request("suspend", "1001", "bib:B1@2026-11-28")
    lib.copy("B1", "central")
    lib.night("2026-11-26 03:00")
    assert lib.status("1002", "B1") == "allocated"  # the shelf copy went round the suspended hold
    assert lib.status("1001", "B1") == "suspended"
    lib.night("2026-11-27 03:00")
    assert lib.status("1001", "B1") == "suspended"  # not yet its day
    lib.night("2026-11-28 03:00")
    assert lib.status("1001", "B1") == "waiting"
    assert _hold_row(lib, first).suspended_until is None
    assert _history(lib, first)[-1] == ("suspended", "waiting", "batch", "suspended until 2026-11-28")
    [shown] = [h for h in patron_holds(_ctx(lib, "2026-11-28 10:00"), "1001") if h["hold"] == first]
    assert shown["rank"] == 1  # still first in the queue


def test_suspended_until_resumed_it_waits_for_the_patron_and_a_resume_request_brings_it_back(new_library):
    lib = _kitami(new_library)
    hold = lib.hold("1001", "B2", "central")
    lib.copy("B2", "central", state="on_loan")
    lib.request("suspend", "1001", str(hold))
    lib.night("2026-11-26 03:00")
    assert _hold_row(lib, hold).suspended_until is None and lib.status("1001", "B2") == "suspended"
    [shown] = patron_holds(_ctx(lib), "1001")
    assert (shown["status"], shown["suspended_until"], shown["rank"]) == ("一時停止中", None, 1)
    lib.night("2026-12-20 03:00")
    assert lib.status("1001", "B2") == "suspended"  # indefinitely
    back = lib.request("resume", "1001", "bib:B2", received="2026-12-20 10:00")
    lib.night("2026-12-21 03:00")
    assert lib.verdict(back) == ("applied", None)
    assert lib.status("1001", "B2") == "waiting"


def test_what_cannot_be_suspended_or_resumed_is_refused_with_a_reason_and_nothing_changes(new_library):
    lib = _kitami(new_library)
    shelf = lib.copy("B1", "central", state="on_hold_shelf")
    ready = lib.hold("1001", "B1", "central", status="ready", copy=shelf, ready_on=D(2026, 11, 24),
                     deadline=D(2026, 12, 3))
    waiting = lib.hold("1001", "B2", "central")
    lib.copy("B2", "central", state="on_loan")
    too_late = lib.request("suspend", "1001", str(ready))
    past = lib.request("suspend", "1001", f"{waiting}@2026-11-25")
    today = lib.request("suspend", "1001", f"{waiting}@2026-11-26")
    not_suspended = lib.request("resume", "1001", str(waiting))
    unreadable = lib.request("suspend", "1001", f"{waiting}@2026-02-30")
    not_mine = lib.request("suspend", "1002", str(waiting))
    lib.night()
    assert lib.verdict(too_late) == ("rejected", "suspend_too_late")
    assert lib.verdict(past) == ("rejected", "date_in_past")
    assert lib.verdict(today) == ("rejected", "date_in_past")  # it would resume tonight
    assert lib.verdict(not_suspended) == ("rejected", "not_suspended")
    assert lib.verdict(unreadable) == ("rejected", "malformed")
    assert lib.verdict(not_mine) == ("rejected", "unknown_hold")
    assert (lib.status("1001", "B1"), lib.status("1001", "B2")) == ("ready", "waiting")
    assert ("hold_change_refused", {"reason": "suspend_too_late"}) in lib.notices("1001")


def test_a_suspended_hold_still_counts_toward_the_hold_limit(new_library):
    lib = _kitami(new_library, {"holds": {"limit": 1}})
    lib.copy("B1", "central", state="on_loan")
    lib.copy("B2", "central", state="on_loan")
    lib.hold("1001", "B1", "central", status="suspended")
    another = lib.request("hold", "1001", "B2", pickup="central")
    lib.night()
    assert lib.verdict(another) == ("rejected", "limit_reached")


def test_a_suspended_earlier_volume_keeps_the_later_one_junbichu_and_a_resumed_later_one_goes_back_behind_the_gate(
        new_library):
    lib = new_library("kitakyushu")
    lib.branch("chuo")
    lib.patron("2001")
    lib.title("V1", series="S", volume=1).title("V2", series="S", volume=2)
    lib.copy("V1", "chuo", state="on_loan")
    lib.copy("V2", "chuo")  # a free copy of the later volume
    v1 = lib.hold("2001", "V1", "chuo", series=("s", 1))
    v2 = lib.hold("2001", "V2", "chuo", status="series_waiting", series=("s", 2))
    lib.request("suspend", "2001", str(v1))
    lib.request("suspend", "2001", f"{v2}@2026-11-28")
    lib.night("2026-11-26 03:00")
    assert (lib.status("2001", "V1"), lib.status("2001", "V2")) == ("suspended", "suspended")
    lib.night("2026-11-28 03:00")
    # V2 resumed on its day, but V1 (suspended, no copy yet) still blocks it: 準備中, the free copy stays.
    assert lib.status("2001", "V2") == "series_waiting"
    assert [h[1] for h in _history(lib, v2)][-2:] == ["waiting", "series_waiting"]


def test_staff_suspend_and_resume_for_the_patron_audited_with_account_and_reason(new_library):
    lib = _kitami(new_library)
    lib.copy("B1", "central", state="on_loan")
    hold = lib.hold("1001", "B1", "central")
    _staff(lib)
    done = suspend_hold(_ctx(lib), hold, staff="s042", why="patron phoned: travelling", until=D(2026, 12, 24))
    assert done["now"] == "suspended" and _hold_row(lib, hold).suspended_until == D(2026, 12, 24)
    assert _history(lib, hold)[-1][1:3] == ("suspended", "s042")
    resume_hold(_ctx(lib), hold, staff="s042", why="back early")
    assert lib.status("1001", "B1") == "waiting"
    a = schema.staff_audit
    audited = lib.conn.execute(select(a.c.staff_id, a.c.action, a.c.reason).order_by(a.c.id)).all()
    lib.conn.rollback()
    assert [tuple(r) for r in audited] == [("s042", "hold_suspend", "patron phoned: travelling"),
                                           ("s042", "hold_resume", "back early")]


def test_staff_refusals_write_nothing(new_library):
    lib = _kitami(new_library)
    lib.copy("B1", "central", state="on_loan")
    hold = lib.hold("1001", "B1", "central")
    with pytest.raises(StaffRefused):
        suspend_hold(_ctx(lib), hold, staff="nobody", why="x")
    _staff(lib)
    with pytest.raises(SuspensionRefused, match="not suspended"):
        resume_hold(_ctx(lib), hold, staff="s042")
    with pytest.raises(SuspensionRefused) as past:
        suspend_hold(_ctx(lib), hold, staff="s042", why="x", until=D(2026, 11, 20))
    assert past.value.reason == "date_in_past"
    assert lib.status("1001", "B1") == "waiting" and len(_history(lib, hold)) == 0


def test_ils_hold_suspend_and_resume_at_the_counter(runner, new_library):
    lib = _kitami(new_library)
    lib.copy("B1", "central", state="on_loan")
    hold = lib.hold("1001", "B1", "central")
    _staff(lib)

    def ils(*args):
        return runner.invoke(cli.main, [*args, "--db", lib.url, "--now", "2026-11-26T10:00", "--json"],
                             env={"ILS_STAFF": "s042"})

    done = ils("hold", "suspend", str(hold), "--until", "2026-12-24", "--reason", "patron phoned")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)[0]["suspended_until"] == "2026-12-24"
    shown = ils("patron", "holds", "1001")
    assert [(h["status"], h["suspended_until"]) for h in json.loads(shown.stdout)] == [("一時停止中", "2026-12-24")]
    again = ils("hold", "suspend", str(hold), "--reason", "twice")
    assert again.exit_code == 1 and "Error:" in again.output and "already suspended" in again.output
    back = ils("hold", "resume", str(hold))
    assert back.exit_code == 0 and json.loads(back.stdout)[0]["now"] == "waiting"
    bad = ils("hold", "resume", str(hold))
    assert bad.exit_code == 1 and "not suspended" in bad.output


def test_ils_request_suspend_and_resume_write_rows_the_night_reads(runner, new_library):
    lib = _kitami(new_library)
    lib.copy("B1", "central", state="on_loan")
    hold = lib.hold("1001", "B1", "central")
    for args in (["suspend", "--hold", str(hold), "--until", "2026-12-24"], ["resume", "--hold", "bib:B1"]):
        result = runner.invoke(cli.main, ["request", *args, "--card", "1001", "--db", lib.url,
                                          "--now", "2026-11-25T10:00"])
        assert result.exit_code == 0, result.output
    r = schema.pending_requests
    stored = lib.conn.execute(select(r.c.kind, r.c.target).order_by(r.c.id)).all()
    lib.conn.rollback()
    assert [tuple(s) for s in stored] == [("suspend", f"{hold}@2026-12-24"), ("resume", "bib:B1")]
    lib.night()
    assert lib.status("1001", "B1") == "waiting"  # suspended, then resumed, in receipt order: no move at all
    assert _history(lib, hold) == []


def test_resumed_and_suspended_again_the_same_night_it_stays_suspended_to_its_new_day_with_one_history_row(new_library):
    lib = _kitami(new_library)
    lib.copy("B1", "central", state="on_loan")
    hold = lib.hold("1001", "B1", "central")
    first = lib.request("suspend", "1001", f"{hold}@2026-12-10", received="2026-11-24 10:00")
    lib.night("2026-11-25 03:00")
    back = lib.request("resume", "1001", "bib:B1", received="2026-11-25 09:00")
    again = lib.request("suspend", "1001", f"{hold}@2027-01-15", received="2026-11-25 09:05")
    lib.night("2026-11-26 03:00")
    assert (lib.verdict(back), lib.verdict(again)) == (("applied", None), ("applied", None))
    row = _hold_row(lib, hold)
    assert (row.status, row.suspended_until) == ("suspended", D(2027, 1, 15))
    assert _history(lib, hold) == [("waiting", "suspended", "batch", f"request {first}"),
                                   ("suspended", "suspended", "batch", f"request {again}")]
    lib.night("2026-11-26 03:00")  # run again: nothing more
    assert len(_history(lib, hold)) == 2


def test_a_suspended_hold_may_be_cancelled_from_the_web_like_a_waiting_one(new_library):
    # 001: 予約状態が「予約中です」の場合は、予約の取消・受取館の変更ができます — a suspended hold still waits.
    lib = new_library("kitakyushu")
    lib.branch("chuo")
    lib.patron("2001")
    lib.title("B1")
    lib.copy("B1", "chuo", state="on_loan")
    lib.hold("2001", "B1", "chuo", status="suspended")
    cancel = lib.request("cancel", "2001", "bib:B1")
    lib.night()
    assert lib.verdict(cancel) == ("applied", None)
    assert lib.status("2001", "B1") == "cancelled"


def test_mitos_intraday_run_serves_a_suspend_request_but_leaves_the_resume_on_its_day_to_the_night(new_library):
    # 002: 予約は10分ごとに処理 — the requests are served by the day's runs; resuming on a date is the night's.
    lib = new_library("mito")
    lib.branch("chuo")
    lib.patron("3001")
    lib.title("B1")
    lib.copy("B1", "chuo", state="on_loan")
    hold = lib.hold("3001", "B1", "chuo", status="suspended")
    with lib.conn.begin():
        lib.conn.execute(schema.holds.update().where(schema.holds.c.id == hold).values(suspended_until=D(2026, 11, 25)))
    other = lib.hold("3001", "B1", "chuo", status="cancelled")  # a closed hold on the same title
    asked = lib.request("suspend", "3001", str(other), received="2026-11-25 10:05")
    report = lib.night("2026-11-25 10:10", mode="intraday")
    [step] = [s for s in report.steps if s.step == "suspend"]
    assert lib.verdict(asked) == ("rejected", "already_closed")
    assert "resumed" not in step.counts and "lapsed" not in step.counts
    assert _hold_row(lib, hold).status == "suspended"  # its day has come, but only the night resumes it
    lib.night("2026-11-26 03:00")
    assert _hold_row(lib, hold).status == "waiting"


def test_a_night_run_again_resumes_and_tells_nothing_twice(new_library):
    lib = _kitami(new_library)
    lib.copy("B1", "central", state="on_loan")
    hold = lib.hold("1001", "B1", "central", status="suspended")
    with lib.conn.begin():
        lib.conn.execute(schema.holds.update().where(schema.holds.c.id == hold).values(suspended_until=D(2026, 11, 26)))
    first = lib.night("2026-11-26 03:00", only="suspend")
    again = lib.night("2026-11-26 03:00", only="suspend")
    assert (first.steps[0].counts["resumed"], again.steps[0].counts["resumed"]) == (1, 0)
    assert len(_history(lib, hold)) == 1


def test_a_busy_night_suspends_and_resumes_many_holds_in_a_few_statements(new_library):
    # Past lifecycle.store.STAGED_FROM moves the writes go through a staged table (COPY on PostgreSQL).
    lib = _kitami(new_library)
    held = []
    for n in range(70):
        lib.title(f"T{n}")
        lib.copy(f"T{n}", "central", state="on_loan")
        held.append(lib.hold("1003", f"T{n}", "central"))
        lib.request("suspend", "1003", f"bib:T{n}@2026-11-28")
    lib.night("2026-11-26 03:00")
    assert {h["status"] for h in lib.holds_of("1003").values()} == {"suspended"}
    assert _hold_row(lib, held[-1]).suspended_until == D(2026, 11, 28)
    report = lib.night("2026-11-28 03:00")
    assert next(s for s in report.steps if s.step == "suspend").counts["resumed"] == 70
    assert {h["status"] for h in lib.holds_of("1003").values()} == {"waiting"}
