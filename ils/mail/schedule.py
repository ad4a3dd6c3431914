"""When mail goes out: the profile's send times on the days it sends, and when each notice is due."""

from __future__ import annotations

import datetime as dt

from ils.library.calendar import BranchCalendar
from ils.library.clock import LIBRARY_TZ
from ils.library.policy import Policy


def _at(day: dt.date, hhmm: str) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LIBRARY_TZ)


def next_send(instant: dt.datetime, calendar: BranchCalendar, policy: Policy) -> dt.datetime:
    """The first send slot at or after `instant`.

    Kitami sends at 10:00 and 15:00 on open days (seed 000: 開館日の10時と3時); Mito sends
    one digest on the open day after the copy was readied (seed 002: 用意できた次の開館日).
    """
    notices = policy.notices
    local = instant.astimezone(LIBRARY_TZ)
    slots = sorted(notices.send_times)
    if notices.send_on == "next_open_day":
        return _at(calendar.open_day_after(local.date()), slots[0])
    day = local.date()
    if calendar.is_open(day) or not notices.open_days_only:
        for slot in slots:
            if _at(day, slot) >= local:
                return _at(day, slot)
    tomorrow = day + dt.timedelta(days=1)
    return _at(calendar.open_on_or_after(tomorrow) if notices.open_days_only else tomorrow, slots[0])


def due_at(kind: str, occurred_at: dt.datetime, calendar: BranchCalendar, policy: Policy,
           registered_at: dt.datetime | None = None) -> dt.datetime:
    """When a notice of this kind, recorded at `occurred_at`, should be sent; `registered_at`
    is when the patron made the change an email_changed notice confirms."""
    if kind == "request_received":
        return occurred_at  # at submission (seeds 003, 004)
    if kind == "email_changed" and policy.notices.email_registered_mail == "next_morning":
        # seed 004: 翌日の午前中に、図書館から「登録完了メール」が送信される — the day after the
        # patron registered, not after the night that applied it (a change at 20:00 is
        # applied at 03:00 and confirmed that morning).
        local = (registered_at or occurred_at).astimezone(LIBRARY_TZ)
        midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=LIBRARY_TZ)
        return max(next_send(midnight, calendar, policy), next_send(occurred_at, calendar, policy))
    return next_send(occurred_at, calendar, policy)
