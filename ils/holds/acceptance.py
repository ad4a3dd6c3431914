"""Whether a hold may be placed: a list of small named checks, each returning a reason code or None."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ils.library.clock import LIBRARY_TZ, library_date
from ils.library.policy import Policy
from ils.holds.lifecycle import can_receive, default_contact

WEB_CHANNELS = frozenset({"web", "mobile", "opac"})
REQUEST_CHANNELS = WEB_CHANNELS | {"paper"}
CONTACT_METHODS = ("email", "phone", "none")
LOST_STATES = frozenset({"withdrawn", "missing"})
MAX_SERIES_POSITION = 999


@dataclass(frozen=True)
class HoldRequest:
    """A hold request, parsed: from a pending row (web, OPAC, paper form) or from the counter."""

    card_number: str
    bib_id: str
    received_at: dt.datetime
    channel: str
    pickup_code: str
    contact_method: str | None = None
    series_group: str | None = None
    series_position: int | None = None
    request_id: int | None = None
    client_ref: str | None = None

    @property
    def from_web(self) -> bool:
        return self.channel in WEB_CHANNELS


@dataclass
class PatronFacts:
    """What the rules need to know about a patron, kept current as a run accepts holds."""

    id: int
    status: str
    birth_date: dt.date | None
    web_registered: bool
    email: str | None
    phone: str | None
    contact_method: str
    has_overdue: bool = False
    holds_by_channel: Counter = field(default_factory=Counter)
    held_titles: set[int] = field(default_factory=set)
    loaned_titles: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class TitleFacts:
    id: int
    material_type: str
    category: str
    catalogued_on: dt.date | None
    copy_states: Counter
    free_on_shelf: int = 0


@dataclass(frozen=True)
class BranchFacts:
    id: int
    code: str
    kind: str
    pickup_allowed: bool


@dataclass(frozen=True)
class HoldCase:
    request: HoldRequest
    patron: PatronFacts | None
    title: TitleFacts | None
    pickup: BranchFacts | None
    policy: Policy
    today: dt.date

    @property
    def contact(self) -> str:
        return resolve_contact(self.request, self.patron, self.policy)


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
    if abs(instant.utcoffset()) > MAX_UTC_OFFSET:
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


def school_grade(birth: dt.date, today: dt.date) -> int:
    """The Japanese school grade a child born on `birth` is in on `today` (1 = 小学1年, 7 = 中学1年).

    A school year runs from April; children born from April 2 to April 1 share a year, and
    enter the first grade in the April after they turn six.
    """
    cohort = birth.year - 1 if (birth.month, birth.day) <= (4, 1) else birth.year
    school_year = today.year if today.month >= 4 else today.year - 1
    return school_year - cohort - 6


def resolve_contact(request: HoldRequest, patron: PatronFacts | None, policy: Policy) -> str:
    """The contact method of the hold this request makes (the rule: ils.holds.lifecycle.default_contact)."""
    return default_contact(request.contact_method, patron, policy.holds.contact_methods)


def limit_count(patron: PatronFacts, policy: Policy) -> int:
    if policy.holds.limit_counts == "web_only":
        return sum(n for channel, n in patron.holds_by_channel.items() if channel in WEB_CHANNELS)
    return sum(patron.holds_by_channel.values())


# The checks, in the order a patron would want to hear about them ------------


def unknown_card(c: HoldCase):
    return "unknown_card" if c.patron is None else None


def patron_blocked(c: HoldCase):
    return "patron_blocked" if c.patron.status != "active" else None


def web_ineligible(policy: Policy, *, web_registered: bool, birth_date: dt.date | None, today: dt.date) -> str | None:
    """Why a patron may not use the web service at all (every request kind), or None."""
    rules = policy.eligibility
    if rules.require_web_registration and not web_registered:
        return "not_eligible"
    if rules.web_min_school_grade is not None:
        if birth_date is None or school_grade(birth_date, today) < rules.web_min_school_grade:
            return "not_eligible"
    return None


def not_eligible(c: HoldCase):
    if not c.request.from_web:
        return None  # a paper form or the counter: staff checked the card
    return web_ineligible(c.policy, web_registered=c.patron.web_registered, birth_date=c.patron.birth_date,
                          today=c.today)


def unknown_title(c: HoldCase):
    return "unknown_title" if c.title is None else None


def not_holdable(c: HoldCase):
    holds = c.policy.holds
    if c.title.category in holds.unholdable_categories or c.title.material_type in holds.unholdable_material_types:
        return "not_holdable"
    return None


def counter_only(c: HoldCase):
    if not c.request.from_web:
        return None
    holds = c.policy.holds
    if c.title.category in holds.counter_only_categories or c.title.material_type in holds.counter_only_material_types:
        return "counter_only"
    return None


def not_catalogued(c: HoldCase):
    if not c.policy.holds.require_catalogued:
        return None
    catalogued = c.title.catalogued_on
    return "not_catalogued" if catalogued is None or catalogued > c.today else None


def not_owned(c: HoldCase):
    owned = sum(n for state, n in c.title.copy_states.items() if state not in LOST_STATES)
    return "not_owned" if owned == 0 else None


def only_copy_long_overdue(c: HoldCase):
    if not c.policy.holds.reject_only_copy_long_overdue:
        return None
    owned = {s: n for s, n in c.title.copy_states.items() if s not in LOST_STATES and n}
    return "only_copy_long_overdue" if set(owned) == {"long_overdue"} else None


def on_shelf(c: HoldCase):
    if c.policy.holds.onshelf_web_holds or not c.request.from_web:
        return None
    return "on_shelf" if c.title.free_on_shelf > 0 else None


def already_on_loan(c: HoldCase):
    if c.policy.holds.reject_title_on_loan_to_patron and c.title.id in c.patron.loaned_titles:
        return "already_on_loan"
    return None


def already_held(c: HoldCase):
    if c.policy.holds.reject_title_already_held and c.title.id in c.patron.held_titles:
        return "already_held"
    return None


def unknown_pickup(c: HoldCase):
    return "unknown_pickup" if c.pickup is None else None


def pickup_not_offered(c: HoldCase):
    if not c.pickup.pickup_allowed:
        return "pickup_not_offered"
    if c.pickup.kind == "station" and not c.policy.holds.pickup_at_stations:
        return "pickup_not_offered"
    return None


def contact_not_offered(c: HoldCase):
    return "contact_not_offered" if c.contact not in c.policy.holds.contact_methods else None


def contact_unavailable(c: HoldCase):
    return "contact_unavailable" if not can_receive(c.patron, c.contact) else None


def overdue(c: HoldCase):
    return "overdue" if c.policy.holds.overdue_blocks and c.patron.has_overdue else None


def limit_reached(c: HoldCase):
    limit = c.policy.holds.limit
    return "limit_reached" if limit is not None and limit_count(c.patron, c.policy) >= limit else None


Check = Callable[[HoldCase], str | None]
HOLD_CHECKS: tuple[Check, ...] = (
    unknown_card,
    patron_blocked,
    not_eligible,
    unknown_title,
    not_holdable,
    counter_only,
    not_catalogued,
    not_owned,
    only_copy_long_overdue,
    on_shelf,
    already_on_loan,
    already_held,
    unknown_pickup,
    pickup_not_offered,
    contact_not_offered,
    contact_unavailable,
    overdue,
    limit_reached,
)


def judge_hold(case: HoldCase, checks: tuple[Check, ...] = HOLD_CHECKS, skip: frozenset[str] = frozenset()) -> str | None:
    """The first reason the hold may not be placed, or None; `skip` lists overridden checks."""
    for check in checks:
        if check.__name__ in skip:
            continue
        reason = check(case)
        if reason:
            return reason
    return None
