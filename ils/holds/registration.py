"""When a pending hold request is registered (予約登録処理): at once, or only within the library's registration hours."""

from __future__ import annotations

import datetime as dt

from ils.library.calendar import BranchCalendar, CalendarRules
from ils.library.clock import LIBRARY_TZ
from ils.library.policy import Policy


def _at(day: dt.date, hhmm: str) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LIBRARY_TZ)


def registration_time(received_at: dt.datetime, policy: Policy, calendar: BranchCalendar) -> dt.datetime:
    """The first instant at or after `received_at` at which the library registers the request.

    With no registration hours the batch takes a request whenever it runs. Mito (seed 002)
    registers from 07:00 to closing on its open days; a request made while closed waits
    for the next 07:00 (閉館時間中の予約申込みはAM7:00の時点に一括で登録処理を行います).
    """
    hours = policy.requests.registration_hours
    if not hours:
        return received_at
    opening, closing = hours
    local = received_at.astimezone(LIBRARY_TZ)
    day = local.date()
    if calendar.is_open(day) and _at(day, opening) <= local < _at(day, closing):
        return received_at
    if calendar.is_open(day) and local < _at(day, opening):
        return _at(day, opening)
    return _at(calendar.open_day_after(day), opening)


def library_calendar(policy: Policy) -> BranchCalendar:
    """The library's own calendar (the profile's, without a branch's explicit days): registration
    is one system for every branch."""
    return BranchCalendar(CalendarRules.from_policy(policy.calendar))


def is_due(received_at: dt.datetime, now: dt.datetime, policy: Policy, calendar: BranchCalendar) -> bool:
    """Whether a run at `now` registers a request received at `received_at`."""
    return registration_time(received_at, policy, calendar) <= now
