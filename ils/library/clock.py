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
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def japanese_date(day: dt.date, year: bool = True) -> str:
    """The date as Japanese staff and patrons read it: 2026年12月3日(木), or 12月3日(木) without the year."""
    short = f"{day.month}月{day.day}日({WEEKDAYS_JA[day.weekday()]})"
    return f"{day.year}年{short}" if year else short


def english_date(day: dt.date, year: bool = True) -> str:
    """The date as English-reading staff read it on paper: Thu 3 Dec 2026, or Thu 3 Dec without the
    year. Written out, not strftime's %a and %b, which follow the host's locale."""
    short = f"{WEEKDAYS_EN[day.weekday()]} {day.day} {MONTHS_EN[day.month - 1]}"
    return f"{short} {day.year}" if year else short


def staff_date(day: dt.date, language: str, year: bool = True) -> str:
    """The one form of a date for staff to read — the counter's tables, the branch reports, the
    morning PDF, the night summary — in their language (ils.infra.i18n.language()): Japanese
    2026年12月3日(木), English Thu 3 Dec 2026; `year=False` for the PDF's cells (12月3日(木))."""
    return english_date(day, year) if language == "en" else japanese_date(day, year)
