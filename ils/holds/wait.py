"""Expected wait (ご用意の目安) of a waiting hold: its place in the title's queue, the title's loanable copies and how long its loans and pickups really took.

The method, its figures and how good it is: docs/holds.md ("Expected wait"). Everything
the estimate reads comes from a few set-based queries for a set of titles (the queue, the
copies and their open loans, the title's history) and two for the whole library; what is
done per hold is arithmetic in memory: each title's copies turn over in a small queue
simulation (`ready_in`), pure and without I/O.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import Float, and_, case, func, literal, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

from ils.holds import lifecycle
from ils.holds.lifecycle import HoldStatus as S
from ils.infra import db, schema
from ils.infra.words import section
from ils.library.clock import LIBRARY_TZ
from ils.library.policy import Policy

HISTORY_DAYS = 365  # a title's history: a year, so one season is not everything
# The library's history: its last two months are thousands of cases even for a small
# library, and a city's year would be millions of rows to read for every patron's page.
LIBRARY_DAYS = 60
TITLE_WEIGHT = 5.0  # a title's own figure counts as much as the library's once it has this many cases
LIBRARY_WEIGHT = 5.0  # the library's figure counts as much as the profile's once it has this many cases
PRIOR_LEAVE = 0.1 / 30  # before any history: one hold in ten leaves the queue in a month's wait
LEAVE_DAYS = 30.0  # the profile's leave rate counts as this many days of queue per unit of weight
CIRCULATING = ("on_shelf", "on_loan", "in_transit", "on_hold_shelf")  # a copy that can serve a hold
WAIT_WORDS = ("label", "days", "weeks", "months", "over_a_year", "unknown")


# The figures -------------------------------------------------------------------------


@dataclass(frozen=True)
class Pace:
    """How a title's copies turn over, in days (and shares), as the estimate uses it."""

    loan_days: float  # a loan that served a hold: lent to returned
    pickup_days: float  # ready (on the hold shelf) to collected
    no_show: float  # share of ready holds never collected (expired)
    shelf_days: float  # ready to expired, for those
    catch_days: float  # a copy caught (allocated or trapped) to ready at the pickup branch
    leave: float  # queued holds leaving without a copy (cancelled, lapsed), per hold and day in the queue

    @property
    def after_ready(self) -> float:
        """Days from a hold's copy reaching the hold shelf to the copy being free for the next hold."""
        return (1 - self.no_show) * (self.pickup_days + self.loan_days) + self.no_show * self.shelf_days


def profile_pace(policy: Policy) -> Pace:
    """What the profile alone says, before any history: the loan period (and its renewals where
    a hold does not stop them), half the pickup period, a day to reach the hold shelf."""
    loan = policy.loans.days
    if not policy.renewal.blocked_if_held:
        loan += policy.renewal.max_renewals * policy.renewal.due_offset_days
    return Pace(loan_days=float(loan), pickup_days=policy.pickup.days / 2, no_show=0.05,
                shelf_days=float(policy.pickup.days + 1), catch_days=1.0, leave=PRIOR_LEAVE)


@dataclass
class Seen:
    """What the history shows of one title (or the library): for each figure, its sum and its count."""

    sums: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    counts: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, name: str, total: float | None, count: float | None) -> None:
        if count:
            self.sums[name] += float(total or 0)
            self.counts[name] += float(count)


def blended(seen: Seen, prior: Pace, weight: float) -> Pace:
    """The history's figures drawn towards `prior` where there is little of it: each figure is
    (n·observed + weight·prior) / (n + weight), n the cases behind it."""
    def mean(name: str, prior_value: float) -> float:
        n = seen.counts.get(name, 0.0)
        return (seen.sums.get(name, 0.0) + weight * prior_value) / (n + weight)

    def share(name: str, of: str, prior_value: float) -> float:
        n = seen.counts.get(of, 0.0)
        return (seen.counts.get(name, 0.0) + weight * prior_value) / (n + weight)

    def rate(name: str, exposure: str, prior_value: float) -> float:
        days = seen.sums.get(exposure, 0.0)
        return (seen.counts.get(name, 0.0) + weight * LEAVE_DAYS * prior_value) / (days + weight * LEAVE_DAYS)

    return Pace(
        loan_days=mean("loan", prior.loan_days), pickup_days=mean("pickup", prior.pickup_days),
        no_show=share("expired", "ready", prior.no_show), shelf_days=mean("expired", prior.shelf_days),
        catch_days=mean("catch", prior.catch_days), leave=rate("left", "queue_days", prior.leave),
    )


# The queue of one title, in memory ---------------------------------------------------


@dataclass(frozen=True)
class Copy:
    """A loanable copy of the title as the estimate sees it."""

    state: str
    loaned_on: dt.date | None = None  # its open loan, if any
    hold_status: str | None = None  # the active hold it serves, if any
    ready_on: dt.date | None = None


@dataclass(frozen=True)
class Queued:
    """An active hold without a copy, in queue order."""

    hold_id: int
    status: str


def free_in(copy: Copy, pace: Pace, today: dt.date) -> float:
    """Days until the copy can be caught for the next hold in the queue."""
    if copy.hold_status == S.READY:
        shelved = (copy.ready_on - today).days if copy.ready_on else 0
        return max(shelved + pace.after_ready, 1.0)
    if copy.hold_status is not None:  # allocated or in transit to its hold
        return pace.catch_days + pace.after_ready
    if copy.state == "on_loan" and copy.loaned_on is not None:
        return max((copy.loaned_on - today).days + pace.loan_days, 1.0)
    if copy.state == "on_shelf":
        return 0.0  # tonight's allocation takes it
    return 1.0  # in transit home, or on a hold shelf being cleared


def ready_in(queue: list[Queued], copies: list[Copy], pace: Pace, today: dt.date) -> dict[int, float | None]:
    """Days until each waiting hold of one title is expected ready (None: no copy can serve it).

    The copies are served in queue order, each to the first hold when it frees: a hold's copy
    is caught when the earliest copy frees after the holds before it have had theirs, and
    reaches the hold shelf `catch_days` later; the copy is free again `after_ready` after that.
    A hold ahead counts by the chance it is still in the queue when its turn comes,
    exp(-leave × days until then), the rest having cancelled or lapsed meanwhile. Suspended
    holds are gone round (allocation skips them) and get no estimate; nor does a 準備中 hold,
    which waits for its earlier volume.
    """
    free = sorted(free_in(c, pace, today) for c in copies)
    waits: dict[int, float | None] = {hold.hold_id: None for hold in queue}
    if not free:
        return waits
    taken = 0.0  # holds ahead served so far, counted by their chance of still being there
    for hold in queue:
        if hold.status == S.SUSPENDED:
            continue
        while taken >= 0.5:  # rounded: a hold ahead that will most likely still be there takes its copy
            caught = heapq.heappop(free)
            heapq.heappush(free, caught + pace.catch_days + pace.after_ready)
            taken -= 1
        if hold.status == S.WAITING:
            waits[hold.hold_id] = free[0] + pace.catch_days
        taken += math.exp(-pace.leave * free[0])
    return waits


def new_hold_in(queue: list[Queued], copies: list[Copy], pace: Pace, today: dt.date) -> float | None:
    """Days a hold placed now would wait: at the end of the title's queue."""
    newcomer = Queued(0, S.WAITING)
    return ready_in([*queue, newcomer], copies, pace, today)[0]


# Reading the database: a few queries for a set of titles ------------------------------


class days_between(GenericFunction):
    """SQL: days (with fractions) from `earlier` to `later`, a date or an instant each."""

    type = Float()
    name = "ils_days_between"
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_sqlite(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return f"(julianday({compiler.process(later, **kw)}) - julianday({compiler.process(earlier, **kw)}))"


@compiles(days_between)
def _days_default(element, compiler, **kw):
    later, earlier = (f"CAST({compiler.process(c, **kw)} AS TIMESTAMP WITH TIME ZONE)" for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"


@dataclass(frozen=True)
class TitleWait:
    """One title's queue with each waiting hold's expected days, and a new hold's."""

    title_id: int
    copies: int  # loanable copies
    queued: int  # active holds still without a copy (waiting, 準備中, suspended)
    holds: dict[int, float | None]
    new_hold: float | None
    pace: Pace


def title_waits(conn: Connection, policy: Policy, now: dt.datetime, title_ids: Iterable[int]) -> dict[int, TitleWait]:
    """The expected waits on these titles, from their queues, copies and history (set-based)."""
    ids = sorted(set(title_ids))
    if not ids:
        return {}
    today = now.astimezone(LIBRARY_TZ).date()
    library = library_pace(conn, policy, now)
    queues, copies, seen = defaultdict(list), defaultdict(list), {}
    for chunk in db.chunks(ids):
        for title_id, hold in _queues(conn, chunk):
            queues[title_id].append(hold)
        for title_id, copy in _copies(conn, chunk):
            copies[title_id].append(copy)
        seen.update(_seen(conn, now, HISTORY_DAYS, chunk))
    result = {}
    for title_id in ids:
        pace = blended(seen.get(title_id, Seen()), library, TITLE_WEIGHT)
        queue, owned = queues[title_id], copies[title_id]
        result[title_id] = TitleWait(title_id, len(owned), len(queue), ready_in(queue, owned, pace, today),
                                     new_hold_in(queue, owned, pace, today), pace)
    return result


def _queues(conn: Connection, title_ids: list[int]):
    h = schema.holds
    query = (select(h.c.title_id, h.c.id, h.c.status)
             .where(h.c.title_id.in_(title_ids), h.c.status.in_((*lifecycle.QUEUED, S.SUSPENDED.value)))
             .order_by(h.c.title_id, *lifecycle.queue_order(h)))
    return ((row.title_id, Queued(row.id, row.status)) for row in conn.execute(query))


def _copies(conn: Connection, title_ids: list[int]):
    """The loanable copies, each with its open loan or the active hold it serves."""
    c, t, lo, h = schema.copies, schema.titles, schema.loans, schema.holds
    query = (
        select(c.c.title_id, c.c.state, lo.c.loaned_on, h.c.status.label("hold_status"), h.c.ready_on)
        .join(t, t.c.id == c.c.title_id)
        .outerjoin(lo, and_(lo.c.copy_id == c.c.id, lo.c.returned_at.is_(None)))
        .outerjoin(h, and_(h.c.copy_id == c.c.id, h.c.status.in_(lifecycle.WITH_COPY)))
        .where(c.c.title_id.in_(title_ids), c.c.state.in_(CIRCULATING), t.c.category != "reference_only")
    )
    return ((row.title_id, Copy(row.state, row.loaned_on, row.hold_status, row.ready_on)) for row in conn.execute(query))


# The library's figures, once a day per database and profile: a front end asking for page
# after page reads the library's history once, not for every patron.
_LIBRARY_PACE: dict[tuple, Pace] = {}


def library_pace(conn: Connection, policy: Policy, now: dt.datetime) -> Pace:
    """The whole library's figures: its last LIBRARY_DAYS of history drawn towards the profile's."""
    prior = profile_pace(policy)
    key = (str(conn.engine.url), prior, now.astimezone(LIBRARY_TZ).date())
    if key not in _LIBRARY_PACE:
        if len(_LIBRARY_PACE) > 64:
            _LIBRARY_PACE.clear()
        _LIBRARY_PACE[key] = blended(_seen(conn, now, LIBRARY_DAYS, None).get(None, Seen()), prior, LIBRARY_WEIGHT)
    return _LIBRARY_PACE[key]


def _seen(conn: Connection, now: dt.datetime, days: int, title_ids: list[int] | None) -> dict[int | None, Seen]:
    """The last `days` of history, per title (or for the whole library with title_ids None):
    holds that closed (collected, expired, left the queue), the loans that served them, and
    the days the holds still in the queue have waited so far."""
    h = schema.holds
    since = now - dt.timedelta(days=days)
    where = [h.c.closed_at >= since, *([h.c.title_id.in_(title_ids)] if title_ids is not None else [])]
    found: dict[int | None, Seen] = defaultdict(Seen)
    for title_id, *figures in conn.execute(_closed_holds(where, grouped=title_ids is not None)):
        pick_sum, pick_n, exp_sum, exp_n, ready_n, catch_sum, left_n, queue_days = figures
        seen = found[title_id]
        seen.add("pickup", pick_sum, pick_n)
        seen.add("expired", exp_sum, exp_n)
        seen.add("ready", ready_n, ready_n)
        seen.add("catch", catch_sum, ready_n)
        seen.add("left", left_n, left_n)
        seen.add("queue_days", queue_days, 1)
    for title_id, loan_sum, loan_n in conn.execute(_served_loans(where, grouped=title_ids is not None)):
        found[title_id].add("loan", loan_sum, loan_n)
    for title_id, queue_days in conn.execute(_queue_so_far(now, where[1:], grouped=title_ids is not None)):
        found[title_id].add("queue_days", queue_days, 1)
    return found


def _closed_holds(where: list, grouped: bool):
    """Per title (grouped) or for all: collected and expired holds' shelf figures, holds that left the queue."""
    h, hh = schema.holds, schema.hold_history
    caught = (select(func.min(hh.c.at)).where(hh.c.hold_id == h.c.id, hh.c.to_status.in_(lifecycle.WITH_COPY))
              .scalar_subquery())
    closed = (select(h.c.title_id, h.c.status, h.c.ready_on, h.c.closed_at, h.c.queued_at, h.c.allocated_at,
                     caught.label("caught"))
              .where(h.c.status.in_((S.FULFILLED, S.EXPIRED, S.CANCELLED)), *where).subquery())
    c = closed.c
    served = and_(c.status.in_((S.FULFILLED, S.EXPIRED)), c.ready_on.is_not(None))
    # The shelf figures count a hold only if it got its copy here (it has the history row): an
    # imported hold already on the shelf, expired on the first night, says nothing of how
    # patrons collect.
    shelved = and_(served, c.caught.is_not(None))
    collected, expired = and_(shelved, c.status == S.FULFILLED), and_(shelved, c.status == S.EXPIRED)
    left = and_(c.status == S.CANCELLED, c.allocated_at.is_(None))
    on_shelf = days_between(c.closed_at, c.ready_on)
    queued = case((served, days_between(c.ready_on, c.queued_at)), (left, days_between(c.closed_at, c.queued_at)))
    query = select(
        (c.title_id if grouped else literal(None)).label("title_id"),
        func.sum(case((collected, on_shelf))), func.count(case((collected, 1))),
        func.sum(case((expired, on_shelf))), func.count(case((expired, 1))),
        func.count(case((shelved, 1))), func.sum(case((shelved, days_between(c.ready_on, c.caught)))),
        func.count(case((left, 1))), func.sum(queued),
    )
    return query.group_by(c.title_id) if grouped else query


def _served_loans(where: list, grouped: bool):
    """The loans that served collected holds, found through the holds (the loans' patron index)."""
    h, lo = schema.holds, schema.loans
    query = select((h.c.title_id if grouped else literal(None)).label("title_id"),
                   func.sum(days_between(lo.c.returned_at, lo.c.loaned_on)), func.count()).join(
        lo, and_(lo.c.patron_id == h.c.patron_id, lo.c.copy_id == h.c.copy_id, lo.c.loaned_on >= h.c.ready_on,
                 lo.c.returned_at.is_not(None))
    ).where(h.c.status == S.FULFILLED, *where)
    return query.group_by(h.c.title_id) if grouped else query


def _queue_so_far(now: dt.datetime, where: list, grouped: bool):
    """The days the holds still in the queue have waited: without them a growing queue would
    seem to lose its holds faster than it does."""
    h = schema.holds
    query = select((h.c.title_id if grouped else literal(None)).label("title_id"),
                   func.sum(days_between(literal(now, schema.Instant), h.c.queued_at))).where(
        h.c.status.in_(lifecycle.QUEUED), *where)
    return query.group_by(h.c.title_id) if grouped else query


# Words ---------------------------------------------------------------------------------


@cache
def _words() -> dict[str, dict[str, str]]:
    return section("expected_wait", WAIT_WORDS)


def wait_words(days: float | None, language: str = "ja") -> str:
    """The wait as a patron can use it: 約N日 up to ten days, 約N週間 up to eight weeks,
    約Nか月 up to a year, then 1年以上; 未定 with no basis (data/words/*.toml [expected_wait])."""
    words = _words()[language]
    if days is None:
        return words["unknown"]
    if days <= 10.5:
        return words["days"].format(n=max(1, round(days)))
    if days <= 8 * 7:
        return words["weeks"].format(n=round(days / 7))
    if days <= 365:
        return words["months"].format(n=max(2, round(days / 30)))
    return words["over_a_year"]


def wait_label(days: float | None, language: str = "ja") -> str:
    """「ご用意の目安: 約3週間」."""
    return _words()[language]["label"].format(wait=wait_words(days, language))


def hold_waits(conn: Connection, policy: Policy, now: dt.datetime, holds: Iterable[tuple[int, int]]) -> dict[int, float | None]:
    """Expected days for these (hold id, title id) pairs, computed per title once."""
    pairs = list(holds)
    waits = title_waits(conn, policy, now, {title_id for _, title_id in pairs})
    return {hold_id: waits[title_id].holds.get(hold_id) for hold_id, title_id in pairs}

