"""Kitakyushu (seed 001): series gates on allocation, paper forms by receipt time, catalogued magazines."""

from __future__ import annotations

import pytest

from ils.holds.pickup import pickup_deadline
from ils.library.calendar import BranchCalendar, CalendarRules
from scenario import D, at


@pytest.fixture
def kitakyushu(tmp_path, new_library):
    lib = new_library("kitakyushu")
    lib.branch("chuo").branch("yahata").route("chuo", "yahata", 1)
    lib.patron("2001").patron("2002").patron("2003")
    yield lib


def test_a_later_volume_waits_until_the_earlier_is_allocated_and_its_copy_serves_the_next_patron(kitakyushu):
    lib = kitakyushu
    lib.title("V1", series="S", volume=1).title("V2", series="S", volume=2)
    lib.copy("V1", "chuo", state="on_loan")
    lib.copy("V2", "chuo")
    lib.request("hold", "2001", "V1", pickup="chuo", series=("mine", 1), received="2026-11-25 09:00")
    lib.request("hold", "2001", "V2", pickup="chuo", series=("mine", 2), received="2026-11-25 09:00")
    lib.request("hold", "2002", "V2", pickup="chuo", received="2026-11-25 12:00")
    lib.night()
    # 順位が先の資料が割り当てられないと、後の資料は予約を割り当てられません
    assert lib.status("2001", "V1") == "waiting"
    assert lib.status("2001", "V2") == "series_waiting"
    # a series wait is skipped, not blocking: the free copy goes to the next in V2's queue
    assert lib.status("2002", "V2") == "allocated"


def test_a_paper_form_keyed_late_takes_its_place_by_the_forms_receipt_time(kitakyushu):
    lib = kitakyushu
    lib.title("B1")
    lib.copy("B1", "chuo")
    web = lib.request("hold", "2001", "B1", pickup="chuo", received="2026-11-25 10:00")
    paper = lib.request("hold", "2002", "B1", pickup="chuo", channel="paper",
                        received="2026-11-25 09:30", entered="2026-11-25 17:00")
    lib.night()
    assert lib.verdict(web)[0] == lib.verdict(paper)[0] == "accepted"
    assert lib.status("2002", "B1") == "allocated"  # 申込書での予約も受付日時で入力
    assert lib.status("2001", "B1") == "waiting"


def test_a_new_magazine_issue_is_holdable_only_once_catalogued(kitakyushu):
    lib = kitakyushu
    lib.title("M1", material_type="magazine", catalogued_on=None)
    lib.title("M0", material_type="magazine")
    lib.copy("M1", "chuo")
    lib.copy("M0", "chuo")
    new = lib.request("hold", "2001", "M1", pickup="chuo")
    old = lib.request("hold", "2001", "M0", pickup="chuo")
    lib.night()
    assert lib.verdict(new) == ("rejected", "not_catalogued")
    assert lib.verdict(old) == ("accepted", None)


def test_a_title_not_owned_or_not_for_loan_cannot_be_held(kitakyushu):
    lib = kitakyushu
    lib.title("R1", category="reference_only").title("GONE")
    lib.copy("R1", "chuo")
    lib.copy("GONE", "chuo", state="withdrawn")
    reference = lib.request("hold", "2001", "R1", pickup="chuo")
    gone = lib.request("hold", "2001", "GONE", pickup="chuo")
    nothing = lib.request("hold", "2001", "NOPE", pickup="chuo")
    lib.night()
    assert lib.verdict(reference) == ("rejected", "not_holdable")
    assert lib.verdict(gone) == ("rejected", "not_owned")
    assert lib.verdict(nothing) == ("rejected", "unknown_title")


def test_cancel_while_waiting_is_applied_but_a_ready_hold_is_refused(kitakyushu):
    lib = kitakyushu
    lib.title("B1").title("B2")
    copy = lib.copy("B2", "chuo", state="on_hold_shelf")
    lib.copy("B1", "chuo", state="on_loan")
    waiting = lib.hold("2001", "B1", "chuo")
    lib.hold("2001", "B2", "chuo", status="ready", copy=copy, ready_on=D(2026, 11, 24), deadline=D(2026, 12, 3))
    ok = lib.request("cancel", "2001", str(waiting))
    late = lib.request("cancel", "2001", "bib:B2")
    not_mine = lib.request("cancel", "2002", str(waiting))
    lib.night()
    assert lib.verdict(ok) == ("applied", None)
    assert lib.status("2001", "B1") == "cancelled"
    assert lib.verdict(late) == ("rejected", "cancel_too_late")
    assert lib.status("2001", "B2") == "ready"
    assert lib.verdict(not_mine) == ("rejected", "unknown_hold")
    assert ("cancel_refused", {"reason": "cancel_too_late"}) in lib.notices("2001")


def test_the_pickup_week_counts_open_days_from_the_day_after_the_notice(kitakyushu):
    calendar = BranchCalendar(CalendarRules(closed_weekdays=frozenset({0}), closed_weekday_on_holiday="next_weekday"))
    # Ready on Friday 11-20 at 03:00: notice 10:00 that day; seven open days follow,
    # skipping Tuesday 11-24 (the substitute for the holiday Monday).
    deadline = pickup_deadline(at("2026-11-20 03:00"), "email", calendar, kitakyushu.policy)
    assert deadline == D(2026, 11, 28)


def test_a_cancelled_hold_cannot_be_cancelled_again(kitakyushu):
    lib = kitakyushu
    lib.title("B1")
    lib.copy("B1", "chuo", state="on_loan")
    hold = lib.hold("2001", "B1", "chuo")
    first = lib.request("cancel", "2001", str(hold), received="2026-11-25 10:00")
    second = lib.request("cancel", "2001", str(hold), received="2026-11-25 10:05")
    lib.night()
    assert lib.verdict(first) == ("applied", None)
    assert lib.verdict(second) == ("rejected", "already_closed")
