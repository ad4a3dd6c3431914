"""The library's send slots: the profile's send times on the days it sends, and the next one after an instant."""

from __future__ import annotations

import datetime as dt

from ils.library.calendar import BranchCalendar
from ils.library.clock import LIBRARY_TZ
from ils.library.policy import Policy


def _at(day: dt.date, hhmm: str) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LIBRARY_TZ)


def upcoming_slot(instant: dt.datetime, calendar: BranchCalendar, policy: Policy) -> dt.datetime:
    """The first send time at or after `instant` on a day the library sends (an open day,
    where the profile sends on open days only): when the mail run next delivers."""
    notices = policy.notices
    local = instant.astimezone(LIBRARY_TZ)
    slots = sorted(notices.send_times)
    day = local.date()
    if calendar.is_open(day) or not notices.open_days_only:
        for slot in slots:
            if _at(day, slot) >= local:
                return _at(day, slot)
    tomorrow = day + dt.timedelta(days=1)
    return _at(calendar.open_on_or_after(tomorrow) if notices.open_days_only else tomorrow, slots[0])


def next_send(instant: dt.datetime, calendar: BranchCalendar, policy: Policy) -> dt.datetime:
    """The send slot that tells of something that happened at `instant`.

    Kitami sends at 10:00 and 15:00 on open days (seed 000: 開館日の10時と3時): the first slot
    at or after it. Mito sends one digest on the open day after the copy was readied
    (seed 002: 用意できた次の開館日).
    """
    notices = policy.notices
    if notices.send_on == "next_open_day":
        local = instant.astimezone(LIBRARY_TZ)
        return _at(calendar.open_day_after(local.date()), sorted(notices.send_times)[0])
    return upcoming_slot(instant, calendar, policy)
