"""Calendar arithmetic: closed Mondays and the next-weekday rule, national holidays, year-end, explicit days."""

from __future__ import annotations

import datetime as dt

import pytest

from ils.library.calendar import BranchCalendar, CalendarRules, NoOpenDay, parse_weekdays, parse_year_end

D = dt.date
MONDAY_RULE = CalendarRules(
    closed_weekdays=frozenset({0}),
    national_holidays="open",
    closed_weekday_on_holiday="next_weekday",
    year_end_closure=((12, 29), (1, 3)),
)


def test_a_holiday_monday_opens_and_the_tuesday_closes_instead():
    cal = BranchCalendar(MONDAY_RULE)
    assert cal.is_open(D(2026, 11, 23))  # 勤労感謝の日, a Monday
    assert cal.closure_reason(D(2026, 11, 24)) == "substitute"
    assert cal.is_open(D(2026, 11, 25))
    assert cal.closure_reason(D(2026, 11, 30)) == "weekly"  # an ordinary Monday


def test_a_run_of_holidays_pushes_the_substitute_closure_past_them():
    cal = BranchCalendar(MONDAY_RULE)
    # 2026-09-21 敬老の日 (Mon), 09-22 国民の休日, 09-23 秋分の日: Thursday closes.
    assert all(cal.is_open(D(2026, 9, d)) for d in (21, 22, 23))
    assert cal.closure_reason(D(2026, 9, 24)) == "substitute"
    assert cal.is_open(D(2026, 9, 25))


def test_the_nth_open_day_skips_the_substitute_closure():
    cal = BranchCalendar(MONDAY_RULE)
    # From Sunday 11-22: Mon 23 open (holiday), Tue 24 closed, Wed 25 open.
    assert cal.open_day_after(D(2026, 11, 22), 1) == D(2026, 11, 23)
    assert cal.open_day_after(D(2026, 11, 22), 2) == D(2026, 11, 25)
    # Seven open days after Friday 11-20: 21 22 23 25 26 27 28 (24 and 30 are closed)
    assert cal.open_day_after(D(2026, 11, 20), 7) == D(2026, 11, 28)


def test_year_end_closure_crosses_the_new_year():
    cal = BranchCalendar(MONDAY_RULE)
    for day in (D(2026, 12, 29), D(2026, 12, 31), D(2027, 1, 1), D(2027, 1, 3)):
        assert cal.closure_reason(day) == "year_end"
    assert cal.is_open(D(2026, 12, 27))  # Sunday; Monday the 28th is a weekly closure
    # 2027-01-04 is a Monday (closed); the first open day of the year is Tuesday the 5th.
    assert cal.open_day_after(D(2026, 12, 27)) == D(2027, 1, 5)


def test_a_weekly_closed_day_that_is_a_holiday_can_stay_closed():
    cal = BranchCalendar(CalendarRules(closed_weekdays=frozenset({0}), closed_weekday_on_holiday="closed"))
    assert cal.closure_reason(D(2026, 11, 23)) == "weekly"
    assert cal.is_open(D(2026, 11, 24))


def test_a_branch_closed_on_national_holidays():
    cal = BranchCalendar(CalendarRules(national_holidays="closed"))
    assert cal.closure_reason(D(2026, 11, 3)) == "national_holiday"  # 文化の日
    assert cal.is_open(D(2026, 11, 4))


def test_explicit_days_override_the_rules():
    cal = BranchCalendar(MONDAY_RULE, explicit={D(2026, 12, 8): False, D(2026, 12, 29): True})
    assert cal.closure_reason(D(2026, 12, 8)) == "explicit"  # 蔵書点検
    assert cal.is_open(D(2026, 12, 29))  # 年末特別開館


def test_a_bookmobile_station_opens_only_on_its_visit_day():
    station = BranchCalendar(CalendarRules(closed_weekdays=parse_weekdays("mon,tue,wed,fri,sat,sun")))
    assert station.open_day_after(D(2026, 11, 25)) == D(2026, 11, 26)  # Thursday
    assert station.open_day_after(D(2026, 11, 26)) == D(2026, 12, 3)


def test_a_calendar_closed_for_good_says_so():
    never = BranchCalendar(CalendarRules(closed_weekdays=frozenset(range(7))))
    with pytest.raises(NoOpenDay):
        never.open_day_after(D(2026, 1, 1))


def test_parsers_reject_nonsense():
    assert parse_weekdays("mon, Tue") == {0, 1}
    assert parse_weekdays("-") == frozenset()
    assert parse_year_end("12-28/01-04") == ((12, 28), (1, 4))
    with pytest.raises(ValueError):
        parse_weekdays("monday")
    with pytest.raises(ValueError):
        parse_year_end("12-29")
    with pytest.raises(ValueError):
        parse_year_end("13-01/01-03")
