"""When a ready hold is notified, and its pickup deadline (取置期限) under the library's policy."""

from __future__ import annotations

import datetime as dt

from ils.library.calendar import BranchCalendar
from ils.library.clock import LIBRARY_TZ
from ils.library.policy import Policy
from ils.library.send_slots import next_send


def notice_day(ready_at: dt.datetime, calendar: BranchCalendar, policy: Policy) -> dt.date:
    """The day the patron is told the hold is ready: the day of the next send slot."""
    return next_send(ready_at, calendar, policy).date()


def pickup_deadline(
    ready_at: dt.datetime, contact_method: str, calendar: BranchCalendar, policy: Policy
) -> dt.date:
    """The last day the copy waits on the pickup branch's hold shelf.

    The period starts the day after the notice (or after the copy became ready, for
    patrons who asked not to be contacted, seed 000) and runs `days` calendar days, or
    `days` open days of the pickup branch (seed 001: 休館日を除き1週間). A deadline on a
    closed day moves to the next open day.
    """
    rules = policy.pickup
    start_kind = rules.start if contact_method != "none" else rules.start_without_contact
    if start_kind == "notice":
        start = notice_day(ready_at, calendar, policy)
    else:
        start = ready_at.astimezone(LIBRARY_TZ).date()
    if rules.count == "open_days":
        deadline = calendar.open_day_after(start, rules.days)
    else:
        deadline = start + dt.timedelta(days=rules.days)
    if rules.deadline_on_closed_day == "next_open":
        deadline = calendar.open_on_or_after(deadline)
    return deadline
