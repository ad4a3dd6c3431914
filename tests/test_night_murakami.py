"""Murakami (seed 004): one volume at a time, same-day counter holds first, bookmobile stations."""

from __future__ import annotations

import pytest

from scenario import D


@pytest.fixture
def murakami(tmp_path, new_library):
    lib = new_library("murakami")
    lib.branch("chuo").branch("arakawa").branch("BM/吉浦", kind="station", parent="chuo")
    lib.route("chuo", "arakawa", 1)
    lib.patron("5001").patron("5002").patron("5003", phone=None, contact="email")
    lib.staff("s001")
    yield lib


def test_the_second_volume_shows_junbichu_while_its_copy_sits_free_on_the_shelf(murakami):
    lib = murakami
    lib.title("V1", series="S", volume=1).title("V2", series="S", volume=2)
    lib.copy("V1", "chuo")
    lib.copy("V2", "arakawa")
    lib.request("hold", "5001", "V1", pickup="chuo", series=("s", 1))
    lib.request("hold", "5001", "V2", pickup="chuo", series=("s", 2))
    lib.night()
    assert lib.status("5001", "V1") == "allocated"
    # 順番を待っている本の他にすぐ借りれる本があっても用意されません
    assert lib.label("5001", "V2") == "準備中"


def test_the_next_volume_is_served_once_the_first_is_picked_up(murakami):
    lib = murakami
    lib.title("V1", series="S", volume=1).title("V2", series="S", volume=2)
    first = lib.copy("V1", "chuo", state="on_loan")
    lib.copy("V2", "arakawa")
    done = lib.hold("5001", "V1", "chuo", status="fulfilled", copy=first, series=("s", 1))
    del done
    lib.hold("5001", "V2", "chuo", status="series_waiting", series=("s", 2))
    lib.night()
    assert lib.status("5001", "V2") == "allocated"


def test_cancelling_the_first_volume_opens_the_gate_for_the_second(murakami):
    lib = murakami
    lib.title("V1", series="S", volume=1).title("V2", series="S", volume=2)
    lib.copy("V1", "chuo", state="on_loan")
    lib.copy("V2", "chuo")
    first = lib.hold("5001", "V1", "chuo", series=("s", 1))
    lib.hold("5001", "V2", "chuo", status="series_waiting", series=("s", 2))
    lib.request("cancel", "5001", str(first))
    lib.night()
    assert lib.status("5001", "V1") == "cancelled"
    assert lib.status("5001", "V2") == "allocated"


def test_counter_holds_of_the_day_come_before_that_days_web_requests(murakami):
    lib = murakami
    lib.title("B1")
    lib.copy("B1", "chuo")
    web = lib.request("hold", "5001", "B1", pickup="chuo", received="2026-11-25 10:00")
    lib.hold("5002", "B1", "chuo", queued_at="2026-11-25 15:00", channel="counter")
    lib.night()
    assert lib.verdict(web) == ("accepted", None)
    assert lib.status("5002", "B1") == "allocated"  # 窓口での貸出・予約が優先されます
    assert lib.status("5001", "B1") == "waiting"


def test_a_bookmobile_station_can_be_the_pickup_point(murakami):
    lib = murakami
    lib.title("B1")
    lib.copy("B1", "arakawa")
    rid = lib.request("hold", "5001", "B1", pickup="BM/吉浦")
    lib.night()
    assert lib.verdict(rid) == ("accepted", None)
    assert lib.status("5001", "B1") == "allocated"


def test_phone_contact_needs_a_registered_number(murakami):
    lib = murakami
    lib.title("B1")
    lib.copy("B1", "chuo")
    rid = lib.request("hold", "5003", "B1", pickup="chuo", contact="phone")
    lib.night()
    assert lib.verdict(rid) == ("rejected", "contact_unavailable")  # 登録してある場合のみ表示


def test_a_copy_secured_at_night_is_told_that_morning_and_kept_a_week(murakami):
    lib = murakami
    lib.title("B1")
    copy = lib.copy("B1", "chuo", state="on_hold_shelf")
    lib.hold("5002", "B1", "chuo", status="ready", copy=copy, ready_on=D(2026, 11, 18), deadline=D(2026, 11, 25))
    lib.hold("5001", "B1", "chuo")
    lib.night("2026-11-26 03:00")
    served = lib.holds_of("5001")["B1"]
    assert (served["status"], served["ready_on"], served["pickup_deadline"]) == ("ready", D(2026, 11, 26), D(2026, 12, 3))
    assert lib.label("5001", "B1") == "貸出可能"


def test_the_pickup_week_runs_from_the_notice_when_it_goes_the_morning_after(murakami):
    """004: 「予約資料は、貸出の用意ができた連絡をしてから1週間お取り置きいたします」 — chosen over
    「資料確保日から1週間以内」 (see the profile's [pickup]); a 自主確認 patron, never contacted,
    keeps the week from the 資料確保日."""
    from ils.circulation.copies import check_in
    from ils.infra.context import Context
    from scenario import at

    lib = murakami
    lib.title("B1").title("B2")
    first = lib.copy("B1", "chuo", state="on_loan")
    second = lib.copy("B2", "chuo", state="on_loan")
    lib.hold("5001", "B1", "chuo", contact="email")
    lib.hold("5002", "B2", "chuo", contact="none")
    # Returned Wednesday 11-25 at 15:00, after the day's 10:00 send: the mail goes Thursday.
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-25 15:00"))
    check_in(ctx, first, lib.ids[("branch", "chuo")], staff="s001")
    check_in(ctx, second, lib.ids[("branch", "chuo")], staff="s001")
    told = lib.holds_of("5001")["B1"]
    assert (told["status"], told["ready_on"]) == ("ready", D(2026, 11, 25))  # 資料確保日
    assert told["pickup_deadline"] == D(2026, 12, 3)  # a week from the notice of 11-26, not 12-02
    assert lib.holds_of("5002")["B2"]["pickup_deadline"] == D(2026, 12, 2)  # 自主確認: from the 資料確保日
