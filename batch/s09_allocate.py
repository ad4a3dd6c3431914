"""Step: bind free copies to waiting holds, title by title, in queue order and series order (割り当て)."""

from __future__ import annotations

import functools
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Dialect, any_, bindparam, delete, exists, func, select

from ils.holds import lifecycle
from ils.holds.allocation import Allocation, FreeCopy, Routes, WaitingHold, allocate_title
from ils.holds.history import ReadyHold, make_ready
from ils.holds.lifecycle import Event, queue_order
from ils.holds.lifecycle import HoldStatus as S
from ils.holds.lifecycle.store import Move, move_holds
from ils.holds.series import SeriesGates, gate_counts
from ils.infra import db, schema
from ils.infra.context import Context

NAME = "allocate"
INTRADAY = True  # an intraday run serves the titles new work touched only
IN_DRY_RUN = True

log = logging.getLogger(__name__)

TITLES_PER_CHUNK = 2000
# A series is served one gate at a time; a run follows the gates it opens this far.
MAX_ROUNDS = 100
FREE_COPY_STATES = ("on_shelf", "on_hold_shelf")


def run(ctx: Context) -> dict:
    todo = set(ctx.conn.execute(select(schema.allocation_todo.c.title_id)).scalars())
    night = ctx.mode == "night"
    gates = SeriesGates(ctx, None if night else todo, lock=True)
    # The night reads its whole work set at once; an intraday run the titles it is given.
    work = _Work(ctx, None if night else todo)
    titles = set(todo)
    if night:
        titles |= work.titles() | gates.open_titles()
    counts: Counter = Counter(titles_examined=len(titles))
    routes = _routes(ctx)
    pending, rounds = sorted(titles), 0
    while pending and rounds < MAX_ROUNDS:
        opened_later = set()
        for chunk in db.chunks(pending, TITLES_PER_CHUNK):
            # Gates are checked chunk by chunk, after the earlier chunks' allocations:
            # an allocation there may open a later volume here, served tonight.
            gate_moves = gates.changes(chunk)
            counts.update(gate_counts(gate_moves))
            allocated_series = _allocate_chunk(ctx, chunk, work, gates, gate_moves, routes, counts)
            gates.left_queue(allocated_series)
            if ctx.policy.series.gate == "allocated":
                opened_later |= gates.later_volume_titles(allocated_series)
        pending = sorted(opened_later)
        rounds += 1
    for chunk in db.chunks(sorted(todo)):
        ctx.conn.execute(delete(schema.allocation_todo).where(db.one_of(ctx.conn, schema.allocation_todo.c.title_id, chunk)))
    log.info("allocate: %s", dict(counts))
    return dict(sorted(counts.items()))


class _Work:
    """The free copies and the queued holds of the titles a run serves, read in a few set
    queries and then kept in memory as the run binds copies to holds.

    Within a run a title can only lose work: binding takes a copy and a hold out of play,
    and a series gate moves a hold between waiting and 準備中 without leaving the queue.
    So what was read stays true but for those changes, which the run itself makes: the
    night reads every title with work once instead of once per chunk and round. Only
    titles with both a free copy and a queued hold have work; the rest are not read.
    """

    def __init__(self, ctx: Context, title_ids: Iterable[int] | None):
        self._ctx = ctx
        self._everything = title_ids is None
        self._known: set[int] = set()
        self.copies: dict[int, list[FreeCopy]] = {}
        self.holds: dict[int, list[_Queued]] = {}
        if title_ids is None:
            self._read_copies(None)
        else:
            self._read_copies(sorted(set(title_ids)))

    def titles(self) -> set[int]:
        """The nightly sweep: titles with a free copy and a waiting (or 準備中) hold, whatever changed or not since the last run."""
        return set(self.copies)

    def of_title(self, title_id: int) -> tuple[list[FreeCopy], list[_Queued]]:
        return self.copies.get(title_id, []), self.holds.get(title_id, [])

    def load(self, title_ids: list[int]) -> None:
        """Read these titles' work now, in set queries, if not read yet (an intraday run's later rounds)."""
        if not self._everything:
            self._read_copies(sorted(t for t in set(title_ids) if t not in self._known))

    def bound(self, title_id: int, allocations: list[Allocation]) -> None:
        """These copies now serve these holds: both are out of play."""
        taken = {a.copy_id for a in allocations}
        served = {a.hold_id for a in allocations}
        self.copies[title_id] = [c for c in self.copies[title_id] if c.id not in taken]
        self.holds[title_id] = [q for q in self.holds[title_id] if q.hold.id not in served]

    def _read_copies(self, title_ids: list[int] | None) -> None:
        ctx = self._ctx
        found: dict[int, list[FreeCopy]] = defaultdict(list)
        if title_ids is None:
            rows = ctx.conn.execute(_free_copies_query(ctx.conn.dialect, by_titles=False)).all()
        else:
            self._known.update(title_ids)
            rows = [row for chunk in db.chunks(title_ids)
                    for row in ctx.conn.execute(_free_copies_query(ctx.conn.dialect, by_titles=True), {"titles": chunk}).all()]
        for copy_id, title_id, branch_id, state in rows:
            found[title_id].append(FreeCopy(copy_id, branch_id, state == "on_hold_shelf"))
        self.copies.update(found)
        later = ctx.policy.allocation.onshelf_from_next_open_day_channels
        # PostgreSQL: every title in one statement. It reads the queue by one scan of holds (its
        # titles an array parameter, any length): in chunks of db.CHUNK titles a city night scanned
        # holds four times (0.45-0.75 s on a busy machine for the four; one statement, about half).
        size = max(len(found), 1) if ctx.conn.dialect.name == "postgresql" else db.CHUNK
        for chunk in db.chunks(sorted(found), size):
            query = ctx.conn.execute(_queued_holds_query(ctx.conn.dialect), {"titles": chunk})
            for hold_id, title_id, patron_id, branch_id, contact, group, channel, queue_day, status in query.all():
                queue = self.holds.setdefault(title_id, [])
                # The rows come in queue order: a hold's rank in its title's queue is its queue key.
                hold = WaitingHold(hold_id, branch_id, (len(queue),),
                                   shelf_search_after=queue_day if channel in later else None)
                queue.append(_Queued(hold, patron_id, contact, group, status))


@dataclass(frozen=True)
class _Queued:
    """A queued hold of a title with work: what allocation needs, and what its writes need."""

    hold: WaitingHold
    patron_id: int
    contact_method: str
    series_group: str | None
    status: str  # as read; a series gate may have moved it since (SeriesGates.status)


def _allocate_chunk(
    ctx: Context, title_ids: list[int], work: _Work, gates: SeriesGates, gate_moves: list[Move], routes: Routes,
    counts: Counter,
) -> list[int]:
    """Allocate within these titles, after their series gates' moves (made with the allocations);
    returns the ids of series-ordered holds that got a copy."""
    open_today = {branch_id: calendar.is_open(ctx.today) for branch_id, calendar in ctx.calendars.items()}

    def can_pull_from(branch_id: int) -> bool:
        return open_today.get(branch_id, False)

    shelf_searched_for = _shelf_search(ctx)
    work.load(title_ids)
    allocated: list[Allocation] = []
    ready: list[Allocation] = []
    by_hold: dict[int, _Queued] = {}
    for title_id in title_ids:  # in title order: the order of the history written
        copies, queued = work.of_title(title_id)
        if not copies:
            continue
        waiting = []
        for q in queued:
            if gates.status(q.hold.id, q.status) == S.WAITING:
                waiting.append(q.hold)
                by_hold[q.hold.id] = q
        if not waiting:
            continue
        served = allocate_title(waiting, copies, can_pull_from, routes, shelf_searched_for)
        if served:
            work.bound(title_id, served)
            for a in served:
                (ready if a.ready_now else allocated).append(a)
    _write(ctx, gates, gate_moves, allocated, ready, by_hold)
    counts.update(allocated=len(allocated), ready=len(ready))
    return [a.hold_id for a in allocated + ready if by_hold[a.hold_id].series_group is not None]


def _shelf_search(ctx: Context):
    """Whether a branch's shelves are searched today for a hold: at once, or (seed 002: 書架状態の本を
    お探しするのは申込みの翌開館日以降) from the branch's next open day after the request."""
    first_day: dict = {}

    def searched(branch_id: int, hold: WaitingHold) -> bool:
        if hold.shelf_search_after is None:
            return True
        key = (branch_id, hold.shelf_search_after)
        if key not in first_day:
            first_day[key] = ctx.calendars[branch_id].open_day_after(hold.shelf_search_after)
        return ctx.today >= first_day[key]

    return searched


# On PostgreSQL the holds and copies a chunk reads are locked until the step commits,
# and rows a counter scan holds at that moment are skipped (SKIP LOCKED): the counter
# wins those, and the title is served again by the next run. SQLite serialises writers,
# so there the clauses are not rendered.


# Built once: the title lists are bound when a chunk runs (db.one_of_bound), so
# the statements are not built and coerced again, element by element, for every chunk.
@functools.cache
def _free_copies_query(dialect: Dialect, *, by_titles: bool):
    """The free copies of titles with a queued hold: of the titles bound to `titles`, or of every title."""
    c, h = schema.copies, schema.holds
    free = [c.c.state.in_(FREE_COPY_STATES), ~schema.bound_to_active_hold(c.c.id)]
    if by_titles:
        queued = h.alias("queued")
        which = [db.one_of_bound(dialect, c.c.title_id, "titles"),
                 exists().where(queued.c.title_id == c.c.title_id, queued.c.status.in_(lifecycle.QUEUED))]
    elif dialect.name == "postgresql":
        # The queued titles as one array, then each one's copies by index: PostgreSQL plans the
        # IN as a hash join over a scan of every copy (the city: 2M rows read for 43,000).
        queued_titles = select(h.c.title_id).where(h.c.status.in_(lifecycle.QUEUED)).distinct()
        which = [c.c.title_id == any_(func.array(queued_titles.scalar_subquery()))]
    else:
        # The queued titles as a list SQLite builds once, then each one's copies by index. The list is
        # read from the holds(title_id, status, ...) index alone: through the status index, each of the
        # queue's holds was a look-up in the table for its title (the city: 162,000, half the query).
        in_queue = db.unindexed(dialect, h.c.status).in_(lifecycle.QUEUED)
        which = [c.c.title_id.in_(select(h.c.title_id).where(in_queue))]
    return (select(c.c.id, c.c.title_id, c.c.location_branch_id, c.c.state).where(*which, *free)
            .with_for_update(of=c, skip_locked=True))


@functools.cache
def _queued_holds_query(dialect: Dialect):
    h = schema.holds
    return (
        # Title by title, each in queue order; the queue's own columns stay in the database (reading
        # queued_at as an instant cost more than the rest of the row).
        select(h.c.id, h.c.title_id, h.c.patron_id, h.c.pickup_branch_id, h.c.contact_method, h.c.series_group,
               h.c.channel, h.c.queue_day, h.c.status)
        .where(db.one_of_bound(dialect, h.c.title_id, "titles"), h.c.status.in_(lifecycle.QUEUED))
        .order_by(h.c.title_id, *queue_order(h))
        .with_for_update(of=h, skip_locked=True)
    )


def _write(
    ctx: Context, gates: SeriesGates, gate_moves: list[Move], allocated: list[Allocation], ready: list[Allocation],
    by_hold: dict[int, _Queued],
) -> None:
    """The chunk's moves, their history in order: the gates', the holds made ready, the holds allocated.
    A volume whose gate opened and that got a copy has its row written once, by its allocation."""
    opened = {m.hold_id: m.was for m in gate_moves if m.now == S.WAITING}
    moved_on = {a.hold_id for a in allocated if a.hold_id in opened}
    gates.write(gate_moves, actor="batch", row_moved_on=moved_on)
    make_ready(
        ctx, Event.ALLOCATE,
        [ReadyHold(a.hold_id, by_hold[a.hold_id].patron_id, a.copy_id, by_hold[a.hold_id].hold.pickup_branch_id,
                   by_hold[a.hold_id].contact_method, S.WAITING) for a in ready],
        actor="batch", note="a freed copy on the pickup branch's hold shelf",
    )
    move_holds(
        ctx.conn, Event.ALLOCATE,
        [Move(a.hold_id, S.WAITING, S.ALLOCATED, f"copy {a.copy_id}", {"copy": a.copy_id}, stored=opened.get(a.hold_id))
         for a in allocated],
        values={"copy_id": bindparam("copy"), "allocated_at": ctx.now}, at=ctx.now, run_id=ctx.run_id, actor="batch",
    )


def _routes(ctx: Context) -> Routes:
    r, b = schema.routes, schema.branches
    costs = {(row.from_branch_id, row.to_branch_id): row.cost for row in ctx.conn.execute(select(r))}
    service = {
        row.id: row.parent_id
        for row in ctx.conn.execute(select(b.c.id, b.c.parent_id).where(b.c.kind == "station"))
        if row.parent_id is not None
    }
    return Routes(costs, service)
