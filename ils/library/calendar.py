"""Branch calendars: weekly closed days, national holidays, the Monday rule, year-end closure, explicit days."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ils.infra import schema
from ils.infra.i18n import _
from ils.library.policy import Calendar as CalendarPolicy

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Far enough to cross any real closure (a year-end break, a renovation) and still
# catch a calendar that is closed forever.
SEARCH_LIMIT_DAYS = 400


class NoOpenDay(ValueError):
    """A branch has no open day within the search limit (its calendar is closed for good)."""


def parse_weekdays(text: str) -> frozenset[int]:
    """`mon,tue` (or `mon tue`) to weekday numbers; `-` or blank means none."""
    text = text.strip().lower()
    if text in ("", "-"):
        return frozenset()
    days = set()
    for part in text.replace(",", " ").split():
        if part not in WEEKDAYS:
            raise ValueError(_("unknown weekday {part!r} (use {weekdays})").format(part=part, weekdays=", ".join(WEEKDAYS)))
        days.add(WEEKDAYS.index(part))
    return frozenset(days)


def parse_month_day(text: str) -> tuple[int, int]:
    """`12-29` to (12, 29); the reason for anything else in the staff's words, not Python's."""
    parts = text.strip().split("-")
    if len(parts) != 2 or not all(part.isascii() and part.isdigit() for part in parts):
        raise ValueError(_("{text!r} is not a month and day like 12-29").format(text=text))
    month, day = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12:
        raise ValueError(_("{text!r}: the month must be 1 to 12").format(text=text))
    if not 1 <= day <= calendar.monthrange(2024, month)[1]:  # a leap year: 02-29 is a day
        raise ValueError(_("{text!r}: month {month} has no day {day}").format(text=text, month=month, day=day))
    return month, day


def parse_year_end(text: str) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """`12-29/01-03` to ((12, 29), (1, 3)); `-` means no closure."""
    text = text.strip()
    if text == "-":
        return None
    start, sep, end = text.partition("/")
    if not sep:
        raise ValueError(_("year-end closure {text!r} must look like 12-29/01-03").format(text=text))
    return parse_month_day(start), parse_month_day(end)


@functools.lru_cache(maxsize=4096)
def is_national_holiday(day: dt.date) -> bool:
    # The law fixes the holidays of a year; jpholiday works them out again on every call.
    # Loaded by the first question: an intraday run that sets no deadline asks none.
    import jpholiday

    return jpholiday.is_holiday(day)


@dataclass(frozen=True)
class CalendarRules:
    """The weekly and yearly rules of one branch."""

    closed_weekdays: frozenset[int] = frozenset()
    national_holidays: str = "open"  # or "closed"
    closed_weekday_on_holiday: str = "closed"  # or "open", "next_weekday"
    year_end_closure: tuple[tuple[int, int], tuple[int, int]] | None = None

    @classmethod
    def from_policy(cls, policy: CalendarPolicy) -> CalendarRules:
        year_end = None
        if policy.year_end_closure:
            start, end = policy.year_end_closure
            year_end = (parse_month_day(start), parse_month_day(end))
        return cls(
            closed_weekdays=frozenset(WEEKDAYS.index(d) for d in policy.closed_weekdays),
            national_holidays=policy.national_holidays,
            closed_weekday_on_holiday=policy.closed_weekday_on_holiday,
            year_end_closure=year_end,
        )

    def in_year_end(self, day: dt.date) -> bool:
        if self.year_end_closure is None:
            return False
        start, end = self.year_end_closure
        md = (day.month, day.day)
        if start <= end:
            return start <= md <= end
        return md >= start or md <= end

    def closure_reason(self, day: dt.date) -> str | None:
        """Why the rules close this day, or None if they leave it open."""
        if self.in_year_end(day):
            return "year_end"
        holiday = is_national_holiday(day)
        if holiday and self.national_holidays == "closed":
            return "national_holiday"
        if day.weekday() in self.closed_weekdays:
            if not holiday or self.closed_weekday_on_holiday == "closed":
                return "weekly"
            return None
        if self._is_substitute_closure(day):
            return "substitute"
        return None

    def _is_substitute_closure(self, day: dt.date) -> bool:
        # 「月曜休館(祝日の場合は翌平日)」: a weekly closed day that falls on a holiday
        # stays open, and the first following weekday that is not a holiday closes instead.
        if self.closed_weekday_on_holiday != "next_weekday" or self.national_holidays != "open":
            return False
        if day.weekday() >= 5 or is_national_holiday(day):
            return False
        back = day - dt.timedelta(days=1)
        while True:
            holiday = is_national_holiday(back)
            if back.weekday() in self.closed_weekdays:
                if holiday:
                    return True
            elif back.weekday() < 5 and not holiday:
                return False  # an ordinary weekday took the substitute closure already
            back -= dt.timedelta(days=1)


@dataclass(frozen=True)
class BranchCalendar:
    """When one branch is open: its rules, overridden by explicit open or closed days."""

    rules: CalendarRules = CalendarRules()
    explicit: Mapping[dt.date, bool] = field(default_factory=dict)
    # A calendar is loaded once per command or night and does not change while it runs,
    # so each day is worked out once: the allocate step alone asks about the same few
    # (branch, day) pairs tens of thousands of times.
    _reasons: dict[dt.date, str | None] = field(default_factory=dict, init=False, repr=False, compare=False)

    def closure_reason(self, day: dt.date) -> str | None:
        try:
            return self._reasons[day]
        except KeyError:
            pass
        if day in self.explicit:
            reason = None if self.explicit[day] else "explicit"
        else:
            reason = self.rules.closure_reason(day)
        self._reasons[day] = reason
        return reason

    def is_open(self, day: dt.date) -> bool:
        return self.closure_reason(day) is None

    def open_day_after(self, day: dt.date, n: int = 1) -> dt.date:
        """The Nth open day strictly after `day` (n=1: the next open day)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        current = day
        for _step in range(SEARCH_LIMIT_DAYS):
            current += dt.timedelta(days=1)
            if self.is_open(current):
                n -= 1
                if n == 0:
                    return current
        raise NoOpenDay(_("no open day within {limit} days after {day}").format(limit=SEARCH_LIMIT_DAYS, day=day))

    def open_on_or_after(self, day: dt.date) -> dt.date:
        """`day` itself if open, else the next open day."""
        if self.is_open(day):
            return day
        return self.open_day_after(day)


def rules_for_branch(row, defaults: CalendarRules) -> CalendarRules:
    """A branch's rules: its own columns where set, else the library's defaults."""
    changes: dict[str, Any] = {}
    if row.closed_weekdays is not None:
        changes["closed_weekdays"] = parse_weekdays(row.closed_weekdays)
    if row.national_holidays is not None:
        changes["national_holidays"] = row.national_holidays
    if row.closed_weekday_on_holiday is not None:
        changes["closed_weekday_on_holiday"] = row.closed_weekday_on_holiday
    if row.year_end_closure is not None:
        changes["year_end_closure"] = parse_year_end(row.year_end_closure)
    return replace(defaults, **changes)


def load_calendars(conn: Connection, policy: CalendarPolicy) -> dict[int, BranchCalendar]:
    """Every branch's calendar, by branch id."""
    defaults = CalendarRules.from_policy(policy)
    b, d = schema.branches, schema.branch_days
    explicit: dict[int, dict[dt.date, bool]] = {}
    for branch_id, day, is_open in conn.execute(select(d.c.branch_id, d.c.day, d.c.is_open)):
        explicit.setdefault(branch_id, {})[day] = bool(is_open)
    calendars = {}
    for row in conn.execute(select(b)):
        calendars[row.id] = BranchCalendar(
            rules=rules_for_branch(row, defaults), explicit=explicit.get(row.id, {})
        )
    return calendars
