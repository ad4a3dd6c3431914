"""Kitami (seed 000): a night of web requests under 北見市立図書館's rules."""

from __future__ import annotations

import pytest

from scenario import D


@pytest.fixture
def kitami(tmp_path, new_library):
    lib = new_library("kitami")
    lib.branch("central").branch("tokoro").route("central", "tokoro", 2)
    lib.patron("1001").patron("1002").patron("1003", email=None, contact="none")
    yield lib


def test_a_patron_with_an_overdue_loan_is_refused_and_told_why(kitami):
    kitami.title("B1").title("B2")
    borrowed = kitami.copy("B1", "central")
    kitami.copy("B2", "central")
    kitami.loan(borrowed, "1001", due_on=D(2026, 11, 20))  # overdue on the 26th
    rid = kitami.request("hold", "1001", "B2", pickup="central")
    kitami.night()
    assert kitami.verdict(rid) == ("rejected", "overdue")
    assert ("request_rejected", {"reason": "overdue"}) in kitami.notices("1001")


def test_the_twenty_first_hold_is_refused_counting_holds_accepted_earlier_that_night(kitami):
    for n in range(21):
        kitami.title(f"T{n}")
        kitami.copy(f"T{n}", "central", state="on_loan")
    for n in range(19):
        kitami.hold("1001", f"T{n}", "central")
    first = kitami.request("hold", "1001", "T19", pickup="central", received="2026-11-25 10:00")
    second = kitami.request("hold", "1001", "T20", pickup="central", received="2026-11-25 10:01")
    kitami.night()
    assert kitami.verdict(first) == ("accepted", None)
    assert kitami.verdict(second) == ("rejected", "limit_reached")  # 20冊までです(全受付分)


def test_comics_av_and_the_newest_magazine_issue_are_counter_only(kitami):
    kitami.title("C1", material_type="comic").title("M1", material_type="magazine", category="current_issue")
    kitami.copy("C1", "central")
    kitami.copy("M1", "central")
    comic = kitami.request("hold", "1001", "C1", pickup="central")
    magazine = kitami.request("hold", "1002", "M1", pickup="central", channel="mobile")
    on_paper = kitami.request("hold", "1002", "C1", pickup="central", channel="paper")
    kitami.night()
    assert kitami.verdict(comic) == ("rejected", "counter_only")
    assert kitami.verdict(magazine) == ("rejected", "counter_only")
    assert kitami.verdict(on_paper) == ("accepted", None)


def test_only_email_or_no_contact_may_be_chosen(kitami):
    kitami.title("B1")
    kitami.copy("B1", "central")
    by_phone = kitami.request("hold", "1001", "B1", pickup="central", contact="phone")
    kitami.night()
    assert kitami.verdict(by_phone) == ("rejected", "contact_not_offered")


def test_a_series_is_served_in_reading_order_within_one_night(kitami):
    kitami.title("V1", series="S", volume=1).title("V2", series="S", volume=2)
    kitami.copy("V1", "tokoro")
    kitami.copy("V2", "central")
    kitami.request("hold", "1001", "V2", pickup="central", series=("g", 2))
    kitami.request("hold", "1001", "V1", pickup="central", series=("g", 1))
    kitami.night()
    # the gate opens when volume 1 is allocated, and volume 2 follows in the same run
    assert kitami.status("1001", "V1") == "allocated"
    assert kitami.status("1001", "V2") == "allocated"


def test_an_expired_hold_passes_its_copy_to_the_next_patron_at_that_shelf(kitami):
    kitami.title("B1")
    copy = kitami.copy("B1", "central", state="on_hold_shelf")
    kitami.hold("1001", "B1", "central", status="ready", copy=copy, ready_on=D(2026, 11, 17), deadline=D(2026, 11, 25))
    kitami.hold("1002", "B1", "central", queued_at="2026-11-02 10:00")
    kitami.night("2026-11-26 03:00")  # Thursday
    assert kitami.status("1001", "B1") == "expired"
    served = kitami.holds_of("1002")["B1"]
    assert (served["status"], served["barcode"], served["ready_on"]) == ("ready", copy, D(2026, 11, 26))
    # mail goes at 10:00 that open day; 7 days from the day after the notice
    assert served["pickup_deadline"] == D(2026, 12, 3)
    assert [k for k, _ in kitami.notices("1001")] == ["hold_expired"]
    assert [k for k, _ in kitami.notices("1002")] == ["hold_ready"]


def test_without_contact_the_week_runs_from_the_day_after_it_became_ready(kitami):
    kitami.title("B1")
    copy = kitami.copy("B1", "central", state="on_hold_shelf")
    kitami.hold("1001", "B1", "central", status="ready", copy=copy, ready_on=D(2026, 11, 17), deadline=D(2026, 11, 25))
    kitami.hold("1003", "B1", "central", contact="none")
    kitami.night("2026-11-26 03:00")
    assert kitami.holds_of("1003")["B1"]["pickup_deadline"] == D(2026, 12, 3)


def test_renewal_runs_fourteen_days_counting_the_renewal_day(kitami):
    kitami.title("B1").title("B2")
    first = kitami.copy("B1", "central")
    second = kitami.copy("B2", "central")
    loan = kitami.loan(first, "1001", due_on=D(2026, 11, 30))
    held = kitami.loan(second, "1001", due_on=D(2026, 11, 30))
    kitami.hold("1002", "B2", "central")
    ok = kitami.request("renew", "1001", first, received="2026-11-25 21:00")
    refused = kitami.request("renew", "1001", second)
    again = kitami.request("renew", "1001", first, received="2026-11-25 22:00")
    kitami.night()
    assert kitami.verdict(ok) == ("applied", None)
    assert kitami.loan_due(loan) == (D(2026, 12, 8), 1)  # 11/25 is day 1 of 14
    assert kitami.verdict(refused) == ("rejected", "held_by_others")
    assert kitami.verdict(again) == ("rejected", "renewed_already")
    assert kitami.loan_due(held) == (D(2026, 11, 30), 0)


def test_an_overdue_loan_is_not_renewed(kitami):
    kitami.title("B1")
    copy = kitami.copy("B1", "central")
    kitami.loan(copy, "1001", due_on=D(2026, 11, 24))
    rid = kitami.request("renew", "1001", copy)
    kitami.night()
    assert kitami.verdict(rid) == ("rejected", "item_overdue")


def test_a_second_night_changes_nothing(kitami):
    kitami.title("B1")
    kitami.copy("B1", "central")
    kitami.request("hold", "1001", "B1", pickup="central")
    first = kitami.night()
    second = kitami.night()
    assert dict(first.steps[0].counts)["accepted"] == 1
    # nothing judged, expired or allocated again; only the reports are written afresh
    assert all(not any(v for k, v in step.counts.items() if k not in ("titles_examined", "files"))
               for step in second.steps)


def test_web_holds_need_a_registered_active_card_and_an_offered_pickup_point(kitami):
    kitami.branch("BM/stop", kind="station", parent="central")
    kitami.title("B1")
    kitami.copy("B1", "central", state="on_loan")
    kitami.patron("1004", web=False).patron("1005", status="suspended")
    unregistered = kitami.request("hold", "1004", "B1", pickup="central")
    on_paper = kitami.request("hold", "1004", "B1", pickup="central", channel="paper", received="2026-11-25 11:00")
    suspended = kitami.request("hold", "1005", "B1", pickup="central")
    at_station = kitami.request("hold", "1001", "B1", pickup="BM/stop")
    kitami.night()
    assert kitami.verdict(unregistered) == ("rejected", "not_eligible")  # マイページサービスに登録が必要
    assert kitami.verdict(on_paper) == ("accepted", None)
    assert kitami.verdict(suspended) == ("rejected", "patron_blocked")
    assert kitami.verdict(at_station) == ("rejected", "pickup_not_offered")


def test_the_nearest_open_shelf_serves_a_hold(kitami):
    kitami.branch("far").branch("near").route("central", "far", 3).route("central", "near", 1)
    kitami.branch("closed_today").route("central", "closed_today", 1).closed("closed_today", D(2026, 11, 26))
    kitami.title("B1").title("B2").title("B3")
    kitami.copy("B1", "far", barcode="FAR1")
    kitami.copy("B1", "near", barcode="NEAR1")
    kitami.copy("B2", "far", barcode="FAR2")
    kitami.copy("B2", "central", barcode="HOME2")
    kitami.copy("B3", "closed_today", barcode="SHUT3")
    for bib in ("B1", "B2", "B3"):
        kitami.hold("1001", bib, "central")
    kitami.night("2026-11-26 03:00")
    holds = kitami.holds_of("1001")
    assert holds["B1"]["barcode"] == "NEAR1"  # least travel
    assert holds["B2"]["barcode"] == "HOME2"  # at the pickup branch first
    assert holds["B3"]["status"] == "waiting"  # a closed branch's shelf cannot be pulled today
    kitami.night("2026-11-27 03:00")
    assert kitami.holds_of("1001")["B3"]["barcode"] == "SHUT3"


def test_a_deadline_that_falls_on_a_closed_day_moves_to_the_next_open_day(kitami):
    from ils.holds.pickup import pickup_deadline
    from ils.library.calendar import BranchCalendar, CalendarRules
    from scenario import at

    mondays = CalendarRules(closed_weekdays=frozenset({0}))
    inventory = BranchCalendar(mondays, explicit={D(2026, 11, 29): False})
    # Ready Sunday 11-22 at 03:00, mailed at 10:00 that day; +7 is Sunday 11-29, closed
    # for inventory, and Monday 11-30 is the weekly closure: Tuesday 12-01.
    assert pickup_deadline(at("2026-11-22 03:00"), "email", inventory, kitami.policy) == D(2026, 12, 1)
    # Ready after the 15:00 send on Saturday: mailed Sunday, so a week from Monday.
    assert pickup_deadline(at("2026-11-21 16:00"), "email", BranchCalendar(mondays), kitami.policy) == D(2026, 11, 29)


def test_deleting_the_address_of_a_patron_contacted_by_email_leaves_no_contact(kitami):
    from sqlalchemy import select

    from ils.infra import schema

    rid = kitami.request("email_change", "1001", "")
    kitami.night()
    assert kitami.verdict(rid) == ("applied", None)
    row = kitami.conn.execute(
        select(schema.patrons.c.email, schema.patrons.c.contact_method).where(schema.patrons.c.card_number == "1001")
    ).one()
    assert tuple(row) == (None, "none")
