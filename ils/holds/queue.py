"""The hold queue: the order in which holds on one title are served (予約順位)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ils.library.clock import library_date
from ils.library.policy import Policy


@dataclass(frozen=True)
class QueuePlace:
    """The columns that order a hold in its title's queue: (queue_day, queue_class, queued_at, id)."""

    queued_at: dt.datetime
    queue_day: dt.date
    queue_class: int


def queue_place(received_at: dt.datetime, channel: str, policy: Policy) -> QueuePlace:
    """Where a hold received at `received_at` through `channel` stands.

    By receipt time everywhere; a paper form carries the form's receipt time, not the
    keying time (seed 001). Under "counter_same_day_first" (seed 004: インターネットから
    予約された当日は、窓口での貸出・予約が優先されます) holds placed at the counter on a day
    come before the web, mobile and OPAC requests received that same day.
    """
    day = library_date(received_at)
    queue_class = 0
    if policy.queue.order == "counter_same_day_first" and channel != "counter":
        queue_class = 1
    return QueuePlace(queued_at=received_at, queue_day=day, queue_class=queue_class)
