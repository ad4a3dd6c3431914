"""Step: bind free copies to waiting holds, title by title, in queue order and series order (割り当て)."""

from __future__ import annotations

import functools
import logging
from collections import Counter, defaultdict

from sqlalchemy import bindparam, delete, exists, select

from ils.holds import lifecycle
from ils.holds.allocation import Allocation, FreeCopy, Routes, WaitingHold, allocate_title
from ils.holds.history import ReadyHold, later_volume_titles, make_ready
from ils.holds.lifecycle import Event, queue_key, queue_order
from ils.holds.lifecycle import HoldStatus as S
from ils.holds.lifecycle.store import Move, move_holds
from ils.holds.series import SeriesGates, gate_blocked
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
    titles = set(todo)
    if ctx.mode == "night":
        titles |= _titles_with_work(ctx)
    counts: Counter = Counter(titles_examined=len(titles))
    routes = _routes(ctx)
    gates = SeriesGates(ctx, None if ctx.mode == "night" else titles, lock=True)
    pending, rounds = sorted(titles), 0
    while pending and rounds < MAX_ROUNDS:
        opened_later = set()
        for chunk in db.chunks(pending, TITLES_PER_CHUNK):
            # Gates are checked chunk by chunk, after the earlier chunks' allocations:
            # an allocation there may open a later volume here, served tonight.
            counts.update(gates.apply(chunk, actor="batch"))
            allocated_series = _allocate_chunk(ctx, chunk, routes, counts)
            gates.left_queue(allocated_series)
            if ctx.policy.series.gate == "allocated":
                opened_later |= later_volume_titles(ctx.conn, allocated_series)
        pending = sorted(opened_later)
        rounds += 1
    for chunk in db.chunks(sorted(todo)):
        ctx.conn.execute(delete(schema.allocation_todo).where(schema.allocation_todo.c.title_id.in_(chunk)))
    log.info("allocate: %s", dict(counts))
    return dict(sorted(counts.items()))


def _free_copy_exists(title_id_column):
    c = schema.copies
    return exists().where(
        c.c.title_id == title_id_column, c.c.state.in_(FREE_COPY_STATES), ~schema.bound_to_active_hold(c.c.id)
    )


def _titles_with_work(ctx: Context) -> set[int]:
    """The nightly sweep: titles with a waiting hold and a free copy, and titles whose 準備中
    holds have an open gate, whatever changed or not since the last run."""
    h = schema.holds
    # The titles first, then one free-copy test per title, not one per queued hold.
    queued = select(h.c.title_id).where(h.c.status.in_(lifecycle.QUEUED)).distinct().subquery("queued")
    query = select(queued.c.title_id).where(_free_copy_exists(queued.c.title_id))
    titles = set(ctx.conn.execute(query).scalars())
    if ctx.policy.series.ordered:
        opened = select(h.c.title_id).where(h.c.status == S.SERIES_WAITING, ~gate_blocked(ctx, h)).distinct()
        titles |= set(ctx.conn.execute(opened).scalars())
    return titles


def _allocate_chunk(ctx: Context, title_ids: list[int], routes: Routes, counts: Counter) -> list[int]:
    """Allocate within these titles; returns the ids of series-ordered holds that got a copy."""
    # Only a title with both a waiting hold and a free copy has work: the copies of
    # titles nobody waits for and the holds of titles with no free copy are not read.
    copies = _free_copies(ctx, title_ids)
    holds = _waiting_holds(ctx, sorted(copies))
    by_hold = {row.id: row for rows in holds.values() for row in rows}
    open_today = {branch_id: calendar.is_open(ctx.today) for branch_id, calendar in ctx.calendars.items()}

    def can_pull_from(branch_id: int) -> bool:
        return open_today.get(branch_id, False)

    shelf_searched_for = _shelf_search(ctx)
    allocated: list[Allocation] = []
    ready: list[Allocation] = []
    for title_id, rows in holds.items():
        if title_id not in copies:
            continue
        waiting = [_waiting(ctx, r) for r in rows]
        for a in allocate_title(waiting, copies[title_id], can_pull_from, routes, shelf_searched_for):
            (ready if a.ready_now else allocated).append(a)
    _write(ctx, allocated, ready, by_hold)
    counts.update(allocated=len(allocated), ready=len(ready))
    return [a.hold_id for a in allocated + ready if by_hold[a.hold_id].series_group is not None]


def _waiting(ctx: Context, row) -> WaitingHold:
    later = row.channel in ctx.policy.allocation.onshelf_from_next_open_day_channels
    return WaitingHold(row.id, row.pickup_branch_id, queue_key(row),
                       shelf_search_after=row.queue_day if later else None)


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


def _free_copies(ctx: Context, title_ids: list[int]) -> dict[int, list[FreeCopy]]:
    if not title_ids:
        return {}
    grouped = defaultdict(list)
    for copy_id, title_id, branch_id, state in ctx.conn.execute(_free_copies_query(), {"titles": title_ids}).all():
        grouped[title_id].append(FreeCopy(copy_id, branch_id, state == "on_hold_shelf"))
    return grouped


def _waiting_holds(ctx: Context, title_ids: list[int]) -> dict[int, list]:
    if not title_ids:
        return {}
    grouped = defaultdict(list)
    for row in ctx.conn.execute(_waiting_holds_query(), {"titles": title_ids}).all():
        grouped[row.title_id].append(row)
    return grouped


# Built once: the title lists are bound when a chunk runs (an expanding parameter), so
# the statements are not built and coerced again, element by element, for every chunk.
@functools.cache
def _waiting_holds_query():
    h = schema.holds
    return (
        select(h.c.id, h.c.title_id, h.c.patron_id, h.c.pickup_branch_id, h.c.contact_method, h.c.series_group,
               h.c.channel, h.c.queue_day, h.c.queue_class, h.c.queued_at)
        .where(h.c.title_id.in_(bindparam("titles", expanding=True)), h.c.status == S.WAITING)
        .order_by(h.c.title_id, *queue_order(h))
        .with_for_update(skip_locked=True)
    )


@functools.cache
def _free_copies_query():
    """The free copies of those titles that have a waiting hold (tested per title here, not by a query of its own)."""
    c, waiting = schema.copies, schema.holds.alias("waiting")
    return select(c.c.id, c.c.title_id, c.c.location_branch_id, c.c.state).where(
        c.c.title_id.in_(bindparam("titles", expanding=True)), c.c.state.in_(FREE_COPY_STATES),
        ~schema.bound_to_active_hold(c.c.id),
        exists().where(waiting.c.title_id == c.c.title_id, waiting.c.status == S.WAITING),
    ).with_for_update(skip_locked=True)


def _write(ctx: Context, allocated, ready, by_hold: dict) -> None:
    make_ready(
        ctx, Event.ALLOCATE,
        [ReadyHold(a.hold_id, by_hold[a.hold_id].patron_id, a.copy_id, by_hold[a.hold_id].pickup_branch_id,
                   by_hold[a.hold_id].contact_method, S.WAITING) for a in ready],
        actor="batch", note="a freed copy on the pickup branch's hold shelf",
    )
    move_holds(
        ctx.conn, Event.ALLOCATE,
        [Move(a.hold_id, S.WAITING, S.ALLOCATED, f"copy {a.copy_id}", {"copy": a.copy_id}) for a in allocated],
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
