"""Reading a pending row's fields as the contract writes them (docs/integration.md): the receipt
time, a hold request, a series position; a row that cannot be read is Unparseable, with its reason."""

from __future__ import annotations

import datetime as dt
import re

from ils.holds.acceptance import WEB_CHANNELS, HoldRequest
from ils.library.clock import LIBRARY_TZ, library_date
from ils.library.policy import Policy

REQUEST_CHANNELS = WEB_CHANNELS | {"paper"}
MAX_SERIES_POSITION = 999


class Unparseable(ValueError):
    """A pending row that cannot become a HoldRequest; `reason` is the code to reject it with."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def _clean(value: str | None) -> str:
    return (value or "").strip()


# The contract's receipt time (docs/integration.md): date and time, seconds and fraction
# optional, then Z, ±HH:MM or nothing (library time). Narrower than fromisoformat on
# purpose: week dates, ordinal dates and basic format mean a front end bug, and what is
# accepted must not change with the Python version.
_RECEIPT_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?", re.ASCII)
# The zones of the world lie between -12:00 and +14:00; anything beyond is not a place.
MAX_UTC_OFFSET = dt.timedelta(hours=14)
# A front end's clock may run this far ahead of the database's.
RECEIPT_CLOCK_SKEW = dt.timedelta(minutes=5)
# A web, mobile or OPAC request is entered when it is made; this much allows for a slow or
# retried insert. An earlier receipt time would put the request ahead of others (seed 004's
# counter-first day included), so it is refused.
WEB_ENTRY_DELAY = dt.timedelta(hours=1)


def read_receipt_time(value: str | None) -> dt.datetime:
    """A receipt time as the contract writes it (not yet bounded), or Unparseable."""
    text = _clean(value)
    if not _RECEIPT_FORMAT.fullmatch(text):
        raise Unparseable("bad_received_at")
    try:
        instant = dt.datetime.fromisoformat(text)
    except ValueError:  # 2026-02-30, 25:00, a leap second 23:59:60
        raise Unparseable("bad_received_at") from None
    if instant.tzinfo is None:
        return instant.replace(tzinfo=LIBRARY_TZ)
    offset = instant.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise Unparseable("bad_received_at")
    return instant


def earliest_receipt(entered_at: dt.datetime, channel: str, policy: Policy) -> dt.datetime:
    """The earliest receipt time a row entered at `entered_at` through `channel` may carry.

    Only a paper form keyed by staff carries an earlier time (seed 001: 申込書での予約も受付
    日時で入力), from the start of the library day `paper_backdate_days` before its keying.
    """
    if channel != "paper":
        return entered_at - WEB_ENTRY_DELAY
    day = library_date(entered_at) - dt.timedelta(days=policy.requests.paper_backdate_days)
    return dt.datetime.combine(day, dt.time(0), LIBRARY_TZ)


def parse_received_at(value: str | None, entered_at: dt.datetime | None, channel: str | None,
                      policy: Policy) -> dt.datetime:
    """When the library received a request, in library time; Unparseable("bad_received_at")
    unless readable, not after the row was entered (beyond the clock skew) and not earlier
    than its channel allows. `entered_at` None: the database holds no readable entry time."""
    received = read_receipt_time(value)
    if entered_at is None:
        raise Unparseable("bad_received_at")
    try:
        earliest = earliest_receipt(entered_at, _clean(channel), policy)
        latest = entered_at + RECEIPT_CLOCK_SKEW
    except OverflowError:  # an entry time at the edge of the calendar (SQLite stores anything)
        raise Unparseable("bad_received_at") from None
    if not earliest <= received <= latest:
        raise Unparseable("bad_received_at")
    return received.astimezone(LIBRARY_TZ)


def parse_hold_row(row, policy: Policy) -> HoldRequest:
    """A pending row (kind hold, `entered_at` an instant or None) as a HoldRequest, or Unparseable with the reason."""
    card, bib, pickup = _clean(row.card_number), _clean(row.target), _clean(row.pickup_branch)
    channel = _clean(row.channel)
    if not card or not bib or not pickup or channel not in REQUEST_CHANNELS:
        raise Unparseable("malformed")
    received_at = parse_received_at(row.received_at, row.entered_at, channel, policy)
    contact = _clean(row.contact_method) or None
    group = _clean(row.series_group) or None
    position = _parse_position(row.series_position, group)
    return HoldRequest(
        card_number=card,
        bib_id=bib,
        received_at=received_at,
        channel=channel,
        pickup_code=pickup,
        contact_method=contact,
        series_group=group,
        series_position=position,
        request_id=row.id,
        client_ref=row.client_ref,
    )


def _parse_position(value: str | None, group: str | None) -> int | None:
    text = _clean(value)
    if group is None and not text:
        return None
    position = ascii_number(text, digits=3)
    if group is None or position is None or len(group) > 64:
        raise Unparseable("series_invalid")
    if not 1 <= position <= MAX_SERIES_POSITION:
        raise Unparseable("series_invalid")
    return position


def ascii_number(text: str, digits: int) -> int | None:
    """A whole number written in at most `digits` ASCII digits, else None.

    str.isdigit() also says yes to "²" and "١", which int() then refuses or reads.
    """
    return int(text) if re.fullmatch(rf"[0-9]{{1,{digits}}}", text) else None
