"""Mito (seed 002): 禁帯/課題/期禁, the patron's own loans and holds, the lone long-overdue copy, intraday runs."""

from __future__ import annotations

import pytest

from scenario import D


@pytest.fixture
def mito(tmp_path, new_library):
    lib = new_library("mito")
    lib.branch("chuo").branch("tobu").route("chuo", "tobu", 1)
    lib.patron("3001").patron("3002")
    lib.staff("s001")
    yield lib


def test_handling_categories_on_the_web_and_at_the_counter(mito):
    mito.title("KIN", category="reference_only").title("KADAI", category="contest")
    mito.title("KIKIN", material_type="magazine", category="current_issue")
    for bib in ("KIN", "KADAI", "KIKIN"):
        mito.copy(bib, "chuo", state="on_loan")
    web = {bib: mito.request("hold", "3001", bib, pickup="chuo") for bib in ("KIN", "KADAI", "KIKIN")}
    paper = {bib: mito.request("hold", "3002", bib, pickup="chuo", channel="paper") for bib in ("KIN", "KADAI", "KIKIN")}
    mito.night()
    assert mito.verdict(web["KIN"]) == ("rejected", "not_holdable")  # 禁帯: 館内での閲覧のみ
    assert mito.verdict(web["KADAI"]) == ("rejected", "counter_only")  # 課題: カウンターのみ予約可能
    assert mito.verdict(web["KIKIN"]) == ("rejected", "counter_only")  # 期禁: 最新号
    assert mito.verdict(paper["KIN"]) == ("rejected", "not_holdable")
    assert mito.verdict(paper["KADAI"]) == ("accepted", None)
    assert mito.verdict(paper["KIKIN"]) == ("accepted", None)


def test_a_title_on_loan_to_or_held_by_the_patron_is_refused(mito):
    mito.title("LOANED").title("HELD")
    mine = mito.copy("LOANED", "chuo")
    mito.copy("HELD", "chuo", state="on_loan")
    mito.loan(mine, "3001", due_on=D(2026, 12, 5))
    mito.hold("3001", "HELD", "chuo")
    loaned = mito.request("hold", "3001", "LOANED", pickup="chuo")
    held = mito.request("hold", "3001", "HELD", pickup="chuo")
    mito.night()
    assert mito.verdict(loaned) == ("rejected", "already_on_loan")  # ②
    assert mito.verdict(held) == ("rejected", "already_held")  # ③


def test_the_only_copy_long_overdue_is_not_holdable_but_a_second_copy_makes_it_so(mito):
    mito.title("LOST").title("SPARE")
    mito.copy("LOST", "chuo", state="long_overdue")
    mito.copy("SPARE", "chuo", state="long_overdue")
    mito.copy("SPARE", "tobu", state="on_loan")
    lost = mito.request("hold", "3001", "LOST", pickup="chuo")
    spare = mito.request("hold", "3001", "SPARE", pickup="chuo")
    mito.night()
    assert mito.verdict(lost) == ("rejected", "only_copy_long_overdue")  # ④複本がなく、長期に延滞
    assert mito.verdict(spare) == ("accepted", None)


def test_fifteen_holds_across_books_magazines_and_av(mito):
    kinds = ["book"] * 10 + ["magazine"] * 3 + ["av"] * 3
    for n, kind in enumerate(kinds):
        mito.title(f"T{n}", material_type=kind)
        mito.copy(f"T{n}", "chuo", state="on_loan")
    for n in range(14):
        mito.hold("3001", f"T{n}", "chuo")
    fifteenth = mito.request("hold", "3001", "T14", pickup="chuo", received="2026-11-25 10:00")
    sixteenth = mito.request("hold", "3001", "T15", pickup="chuo", received="2026-11-25 10:05")
    mito.night()
    assert mito.verdict(fifteenth) == ("accepted", None)
    assert mito.verdict(sixteenth) == ("rejected", "limit_reached")


def test_volumes_are_independent_holds(mito):
    mito.title("U1", series="S", volume=1).title("U2", series="S", volume=2)
    mito.copy("U1", "chuo", state="on_loan")
    mito.copy("U2", "chuo")
    mito.request("hold", "3001", "U1", pickup="chuo", series=("g", 1))
    mito.request("hold", "3001", "U2", pickup="chuo", series=("g", 2))
    mito.night()
    # 借りる順番の指定はできません: 下巻 may come first
    assert mito.status("3001", "U2") == "allocated"
    assert mito.status("3001", "U1") == "waiting"


def test_renewal_is_due_on_the_fifteenth_day_and_never_for_inter_library_loans(mito):
    mito.title("B1").title("ILL")
    own = mito.copy("B1", "chuo")
    ill = mito.copy("ILL", "chuo")
    loan = mito.loan(own, "3001", due_on=D(2026, 12, 1))
    mito.loan(ill, "3001", due_on=D(2026, 12, 1), inter_library=True)
    ok = mito.request("renew", "3001", own, received="2026-11-25 12:00")
    refused = mito.request("renew", "3001", ill)
    mito.night()
    assert mito.verdict(ok) == ("applied", None)
    assert mito.loan_due(loan) == (D(2026, 12, 9), 1)  # 手続きした日から15日目
    assert mito.verdict(refused) == ("rejected", "inter_library")


def test_an_intraday_run_serves_only_the_new_requests_and_the_night_sweeps_the_rest(mito):
    mito.title("B1").title("B2")
    mito.copy("B1", "chuo")
    mito.copy("B2", "chuo")
    mito.hold("3002", "B2", "chuo")  # waiting beside a free copy, untouched today
    # A paper form keyed at the counter: a web hold's shelf search waits for the next open day.
    rid = mito.request("hold", "3001", "B1", pickup="chuo", received="2026-11-25 10:03", channel="paper")
    report = mito.night("2026-11-25 10:10", mode="intraday")
    assert [s.step for s in report.steps] == ["accept", "cancel", "pickup_change", "renew", "email", "contact_change",
                                             "newsletter_subscription", "suspend", "allocate"]
    assert mito.verdict(rid) == ("accepted", None)
    assert mito.status("3001", "B1") == "allocated"
    assert dict(report.steps[-1].counts)["titles_examined"] == 1  # only the title that changed
    assert mito.status("3002", "B2") == "waiting"
    mito.night("2026-11-26 03:00")
    assert mito.status("3002", "B2") == "allocated"


def test_the_ready_digest_goes_the_next_open_day_with_the_deadline(mito):
    from ils.holds.pickup import notice_day, pickup_deadline
    from ils.library.calendar import BranchCalendar, CalendarRules
    from scenario import at

    calendar = BranchCalendar(CalendarRules(closed_weekdays=frozenset({0})))
    # Readied Saturday 11-28: 用意できた次の開館日 is Sunday; a week from the day after it.
    assert notice_day(at("2026-11-28 11:00"), calendar, mito.policy) == D(2026, 11, 29)
    # Readied Sunday: Monday is closed, so the digest goes Tuesday.
    assert notice_day(at("2026-11-29 11:00"), calendar, mito.policy) == D(2026, 12, 1)
    assert pickup_deadline(at("2026-11-29 11:00"), "email", calendar, mito.policy) == D(2026, 12, 8)


def _accepted_order(lib, bib) -> list[int]:
    """The request ids of a title's holds, in queue order."""
    from sqlalchemy import select

    from ils.infra import schema

    h, t = schema.holds, schema.titles
    query = (select(h.c.request_id).join(t, t.c.id == h.c.title_id).where(t.c.bib_id == bib)
             .order_by(h.c.queue_day, h.c.queue_class, h.c.queued_at, h.c.id))
    ids = list(lib.conn.execute(query).scalars())
    lib.conn.rollback()
    return ids


def test_a_request_made_while_closed_waits_for_the_seven_oclock_run(mito):
    """002: 「AM7:00から閉館までは10分間隔で予約登録処理を行い予約完了となります。閉館時間中の予約申込みは
    AM7:00の時点に一括で登録処理を行います。」"""
    mito.patron("3003")
    mito.title("B1")
    mito.copy("B1", "chuo", state="on_loan")
    evening = mito.request("hold", "3001", "B1", pickup="chuo", received="2026-11-25 21:00")
    dawn = mito.request("hold", "3003", "B1", pickup="chuo", received="2026-11-26 06:50")
    report = mito.night("2026-11-26 03:00")
    assert mito.verdict(evening) == ("pending", None)  # still 仮予約 after the night
    assert dict(report.steps[0].counts)["left_pending"] == 1
    morning = mito.request("hold", "3002", "B1", pickup="chuo", received="2026-11-26 07:05")
    mito.night("2026-11-26 07:00", mode="intraday")
    assert mito.verdict(evening) == ("accepted", None)  # 一括で登録処理
    assert mito.verdict(dawn) == ("accepted", None)
    assert mito.verdict(morning) == ("pending", None)
    mito.night("2026-11-26 07:10", mode="intraday")
    assert mito.verdict(morning) == ("accepted", None)
    assert _accepted_order(mito, "B1") == [evening, dawn, morning]  # in receipt order


def test_a_request_on_a_closed_monday_waits_for_tuesday_seven_oclock(mito):
    """002: 閉館時間中の予約申込み — Mito's Mondays are closed (profile calendar), all day."""
    mito.title("B1")
    mito.copy("B1", "chuo", state="on_loan")
    monday = mito.request("hold", "3001", "B1", pickup="chuo", received="2026-11-30 10:00")
    mito.night("2026-11-30 10:10", mode="intraday")
    mito.night("2026-12-01 03:00")
    assert mito.verdict(monday) == ("pending", None)
    mito.night("2026-12-01 07:00", mode="intraday")
    assert mito.verdict(monday) == ("accepted", None)


def test_a_request_made_before_closing_and_missed_by_the_day_is_taken_by_the_night(mito):
    """002: 「AM7:00から閉館までは10分間隔で予約登録処理」 — made within the hours, so due; the night takes it."""
    mito.title("B1")
    mito.copy("B1", "chuo", state="on_loan")
    late = mito.request("hold", "3001", "B1", pickup="chuo", received="2026-11-25 18:55")
    mito.night("2026-11-26 03:00")
    assert mito.verdict(late) == ("accepted", None)


def test_a_web_hold_on_a_copy_on_the_shelf_is_searched_from_the_next_open_day(mito):
    """002: 「インターネットやモバイルサイト(携帯電話)から予約された書架状態の本をお探しするのは申込みの
    翌開館日以降となり、場合によっては、他の方が先に借りられることもあります。」"""
    from ils.holds.counter import place_holds
    from ils.infra.context import Context
    from scenario import at

    mito.title("WEB").title("DESK")
    mito.copy("WEB", "tobu")
    mito.copy("DESK", "tobu")
    web = mito.request("hold", "3001", "WEB", pickup="chuo", received="2026-11-28 10:00")  # a Saturday
    place_holds(Context(conn=mito.conn, policy=mito.policy, now=at("2026-11-28 10:00")), "3002", ["DESK"], "chuo",
                staff="s001")
    mito.night("2026-11-28 10:10", mode="intraday")
    assert mito.verdict(web) == ("accepted", None)
    assert mito.status("3001", "WEB") == "waiting"  # 予約完了, but not on the pull list today
    assert mito.status("3002", "DESK") == "allocated"  # the counter pulls at once
    mito.night("2026-11-29 03:00")  # Sunday, tobu's next open day
    assert mito.status("3001", "WEB") == "allocated"


def test_the_shelf_search_waits_for_the_copys_branch_to_open(mito):
    """002: 申込みの翌開館日以降 — the next open day of the branch whose shelf holds the copy."""
    mito.title("WEB")
    mito.copy("WEB", "tobu")
    mito.request("hold", "3001", "WEB", pickup="chuo", received="2026-11-29 10:00")  # Sunday; Monday is closed
    mito.night("2026-11-29 10:10", mode="intraday")
    mito.night("2026-11-30 03:00")
    assert mito.status("3001", "WEB") == "waiting"
    mito.night("2026-12-01 03:00")  # Tuesday
    assert mito.status("3001", "WEB") == "allocated"


def test_while_the_web_hold_waits_for_its_shelf_search_the_counter_may_take_the_copy(mito):
    """002: 「…翌開館日以降となり、場合によっては、他の方が先に借りられることもあります。」"""
    from ils.holds.counter import place_holds
    from ils.infra.context import Context
    from scenario import at

    mito.title("ONE")
    mito.copy("ONE", "tobu")
    mito.request("hold", "3001", "ONE", pickup="chuo", received="2026-11-28 10:00")
    mito.night("2026-11-28 10:10", mode="intraday")
    place_holds(Context(conn=mito.conn, policy=mito.policy, now=at("2026-11-28 11:00")), "3002", ["ONE"], "tobu",
                staff="s001")
    mito.night("2026-11-28 11:10", mode="intraday")
    assert mito.status("3002", "ONE") == "allocated"
    assert mito.status("3001", "ONE") == "waiting"
