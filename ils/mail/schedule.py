"""When each notice is due: at the library's send slot after it happened (ils/library/send_slots.py), by kind."""

from __future__ import annotations

import datetime as dt

from ils.library.calendar import BranchCalendar
from ils.library.clock import LIBRARY_TZ
from ils.library.policy import Policy
from ils.library.send_slots import next_send


class SendTimes:
    """The send slots of one render, each worked out once per instant and calendar: a night's
    thousands of notices happened at a handful of instants (the calendar walks its days and
    holidays for every one otherwise)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        # Keyed by the calendar's id: a calendar is not hashable, and the caller's calendars
        # live as long as this.
        self._slots: dict[tuple[dt.datetime, int], dt.datetime] = {}

    def next_send(self, instant: dt.datetime, calendar: BranchCalendar) -> dt.datetime:
        key = (instant, id(calendar))
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = next_send(instant, calendar, self.policy)
        return slot

    def due_at(self, kind: str, occurred_at: dt.datetime, calendar: BranchCalendar,
               registered_at: dt.datetime | None = None) -> dt.datetime:
        """When a notice of this kind, recorded at `occurred_at`, should be sent; `registered_at`
        is when the patron made the change an email_changed notice confirms."""
        if kind == "request_received":
            return occurred_at  # at submission (seeds 003, 004)
        if kind == "email_changed" and self.policy.notices.email_registered_mail == "next_morning":
            # seed 004: 翌日の午前中に、図書館から「登録完了メール」が送信される — the day after the
            # patron registered, not after the night that applied it (a change at 20:00 is
            # applied at 03:00 and confirmed that morning).
            local = (registered_at or occurred_at).astimezone(LIBRARY_TZ)
            midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=LIBRARY_TZ)
            return max(self.next_send(midnight, calendar), self.next_send(occurred_at, calendar))
        return self.next_send(occurred_at, calendar)


def due_at(kind: str, occurred_at: dt.datetime, calendar: BranchCalendar, policy: Policy,
           registered_at: dt.datetime | None = None) -> dt.datetime:
    """When a notice of this kind, recorded at `occurred_at`, should be sent (SendTimes.due_at, once)."""
    return SendTimes(policy).due_at(kind, occurred_at, calendar, registered_at)
