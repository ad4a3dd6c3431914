"""Library time: every date a patron or staff member sees is a date in Asia/Tokyo, whatever the host's zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LIBRARY_TZ = ZoneInfo("Asia/Tokyo")


def system_now() -> dt.datetime:
    """The real current instant, in library time. Only the CLI calls this; the domain takes `now`."""
    return dt.datetime.now(tz=LIBRARY_TZ)


def parse_instant(text: str, default_tz: dt.tzinfo = LIBRARY_TZ) -> dt.datetime:
    """Parse an ISO 8601 timestamp; one without an offset is taken as library time."""
    value = dt.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=default_tz)
    return value.astimezone(LIBRARY_TZ)


def library_date(instant: dt.datetime) -> dt.date:
    """The calendar date of an instant at the library."""
    return instant.astimezone(LIBRARY_TZ).date()


WEEKDAYS_JA = "月火水木金土日"


def japanese_date(day: dt.date) -> str:
    """The date as Japanese staff and patrons read it: 2026年12月3日(木)."""
    return f"{day.year}年{day.month}月{day.day}日({WEEKDAYS_JA[day.weekday()]})"
