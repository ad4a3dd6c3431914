"""Series order (順番予約): a later volume is 準備中 until every earlier one has passed the profile's gate."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable

from sqlalchemy import exists, select

from ils.holds import lifecycle
from ils.holds.history import later_volume_titles
from ils.holds.lifecycle import Event, HoldStatus
from ils.holds.lifecycle.store import Move, move_holds
from ils.infra import db, schema
from ils.infra.context import Context


def blocking_statuses(ctx: Context) -> tuple[str, ...]:
    """Statuses of an earlier volume that keep the later ones 準備中.

    Gate "allocated" (seed 001: 順位が先の資料が割り当てられないと、後の資料は予約を割り当てられ
    ません) opens once the earlier volume has a copy; gate "picked_up" (seed 004: 一冊ずつ
    用意確保) once the patron has collected it. A cancelled, expired or lapsed volume opens the
    gate; a suspended one (予約の一時停止) has no copy yet, so it keeps the later ones 準備中.
    """
    if ctx.policy.series.gate == "picked_up":
        return lifecycle.ACTIVE
    return (*lifecycle.QUEUED, HoldStatus.SUSPENDED.value)


def gate_blocked(ctx: Context, h):
    """SQL: an earlier volume of this hold's series group has not yet passed the gate."""
    earlier = schema.holds.alias("earlier")
    return exists().where(
        earlier.c.patron_id == h.c.patron_id,
        earlier.c.series_group == h.c.series_group,
        earlier.c.series_position < h.c.series_position,
        earlier.c.status.in_(blocking_statuses(ctx)),
    )


def apply_gates(ctx: Context, title_ids: list[int], *, actor: str) -> Counter:
    """Series-ordered holds on these titles: 準備中 while an earlier volume blocks, else waiting."""
    return SeriesGates(ctx, title_ids).apply(title_ids, actor=actor)


def gate_counts(moves: Iterable[Move]) -> Counter:
    """A step's counts of the gates' moves: gate_waiting, gate_series_waiting."""
    return Counter(f"gate_{m.now}" for m in moves)


class SeriesGates:
    """The gates of the series-ordered holds a step works through, read once and kept up to date.

    While a step serves titles one batch after another, a gate can only open: the step
    moves holds out of the queue (a copy was allocated), never into it. So a gate read
    closed needs reading again only after a volume of its series left the queue, and a
    gate read open stays open. This spares the allocate step a query per hold and batch.
    """

    def __init__(self, ctx: Context, title_ids: Iterable[int] | None = None, *, lock: bool = False):
        """The series holds waiting or 準備中 on these titles now (None: on every title).

        With `lock` (a batch step) they stay locked until the step commits, so that what
        was read stays true; a hold a counter is working on is left to the next run.
        """
        self._ctx = ctx
        self._everything = title_ids is None
        self._lock = lock
        self._known_titles: set[int] = set()
        self._by_title: dict[int, list[int]] = {}
        self._by_series: dict[tuple, list[int]] = {}
        self._series: dict[int, tuple] = {}
        self._title: dict[int, int] = {}
        self._position: dict[int, int] = {}
        self._status: dict[int, str] = {}  # the holds still waiting or 準備中
        self._blocked: dict[int, bool | None] = {}  # None: a volume of its series left the queue since
        # The first position of each series held by a volume that blocks from outside the queue (suspended,
        # or with its copy under gate "picked_up"): known when the gates are checked again in memory.
        self._first_outside: dict[tuple, int] | None = None
        self._copy_blocks = False
        if not ctx.policy.series.ordered:
            return
        if title_ids is None:
            self._read(None)
            if ctx.conn.dialect.name == "sqlite":
                self._read_outside()
        else:
            for chunk in db.chunks(sorted(set(title_ids))):
                self._read(chunk)

    def apply(self, title_ids: Iterable[int], *, actor: str) -> Counter:
        """Move the series holds on these titles to 準備中 or waiting, as their gates now stand."""
        changes = self.changes(title_ids)
        self.write(changes, actor=actor)
        return gate_counts(changes)

    def changes(self, title_ids: Iterable[int]) -> list[Move]:
        """The moves that bring the series holds on these titles to their gates, in hold order (the
        history's order, the same on every engine). status() answers as if they were made; write()
        makes them."""
        if not self._ctx.policy.series.ordered:
            return []
        title_ids = list(title_ids)
        if not self._everything:
            for chunk in db.chunks(sorted(t for t in set(title_ids) if t not in self._known_titles)):
                self._read(chunk)
        queued = sorted(i for t in title_ids for i in self._by_title.get(t, ()) if i in self._status)
        self._read_again([i for i in queued if self._blocked[i] is None])
        queued = [i for i in queued if i in self._status]
        changes = []
        for hold_id in queued:
            was = self._status[hold_id]
            wanted = HoldStatus.SERIES_WAITING if self._blocked[hold_id] else HoldStatus.WAITING
            if wanted != was:
                changes.append(Move(hold_id, was, wanted, "series gate"))
                self._status[hold_id] = wanted
        return changes

    def write(self, changes: list[Move], *, actor: str, row_moved_on: Collection[int] = ()) -> None:
        """Make the gates' moves; the holds in `row_moved_on` get only their history here (move_holds)."""
        ctx = self._ctx
        move_holds(ctx.conn, Event.SERIES_GATE, changes, at=ctx.now, run_id=ctx.run_id, actor=actor,
                   row_moved_on=row_moved_on)

    def left_queue(self, hold_ids: Iterable[int]) -> None:
        """These holds got a copy: the gates of the later volumes of their series may open."""
        for hold_id in hold_ids:
            if self._status.pop(hold_id, None) is None:
                continue
            if self._first_outside is not None and self._copy_blocks:  # it now blocks from outside the queue
                self._block_from_outside(self._series[hold_id], self._position[hold_id])
            for other in self._by_series[self._series[hold_id]]:
                if self._blocked[other] and other in self._status:  # an open gate stays open
                    self._blocked[other] = None

    def status(self, hold_id: int, read: str) -> str | None:
        """A hold's status now: as the gates moved it, for a series hold they follow (None: no
        longer queued); else `read`, the status the caller read (only the gates move a queued hold)."""
        if hold_id in self._series:
            return self._status.get(hold_id)
        return read

    def open_titles(self) -> set[int]:
        """Titles whose 準備中 holds have an open gate, among the holds read."""
        return {self._title[i] for i, status in self._status.items()
                if status == HoldStatus.SERIES_WAITING and not self._blocked[i]}

    def later_volume_titles(self, hold_ids: Iterable[int]) -> set[int]:
        """Titles of the later volumes still queued in the series of these holds (their gates may open).

        Knowing every queued series hold (the night), the gates answer from what they read;
        otherwise, or for a hold they did not read, the database does (history.later_volume_titles).
        """
        hold_ids = list(hold_ids)
        if not self._everything or any(i not in self._series for i in hold_ids):
            return later_volume_titles(self._ctx.conn, hold_ids)
        earliest: dict[tuple, int] = {}
        for hold_id in hold_ids:
            series, position = self._series[hold_id], self._position[hold_id]
            earliest[series] = min(position, earliest.get(series, position))
        return {self._title[other] for series, first in earliest.items() for other in self._by_series[series]
                if other in self._status and self._position[other] > first}

    def _read(self, title_ids: list[int] | None) -> None:
        h = schema.holds
        # Every queued series hold: one scan of the table reads less than the status index's whole
        # queue with a look-up in the table for each hold, most of them in no series.
        status = db.unindexed(self._ctx.conn.dialect, h.c.status) if title_ids is None else h.c.status
        which = [h.c.series_group.is_not(None), status.in_(lifecycle.QUEUED)]
        if title_ids is not None:
            which.append(h.c.title_id.in_(title_ids))
            self._known_titles.update(title_ids)
        query = select(h.c.id, h.c.title_id, h.c.patron_id, h.c.series_group, h.c.series_position, h.c.status,
                       gate_blocked(self._ctx, h).label("blocked")).where(*which)
        if self._lock:
            query = query.with_for_update(of=h, skip_locked=True)
        for hold_id, title_id, patron_id, group, position, status, blocked in self._ctx.conn.execute(query).all():
            series = (patron_id, group)
            self._by_title.setdefault(title_id, []).append(hold_id)
            self._by_series.setdefault(series, []).append(hold_id)
            self._series[hold_id] = series
            self._title[hold_id] = title_id
            self._position[hold_id] = position
            self._status[hold_id] = status
            self._blocked[hold_id] = bool(blocked)

    def _read_outside(self) -> None:
        """The series volumes that block from outside the queue (_first_outside), to check the gates
        again in memory: in a SQLite night, where nothing but this step writes while it runs, every
        queued series hold is read (and kept up to date), and a volume blocking from outside the
        queue stays so. The city's allocate checked 11,476 gates again in 22 queries (0.08-0.10 s)."""
        h = schema.holds
        outside = [s for s in blocking_statuses(self._ctx) if s not in lifecycle.QUEUED]
        self._copy_blocks = all(s in outside for s in lifecycle.WITH_COPY)  # gate "picked_up"
        self._first_outside = {}
        query = select(h.c.patron_id, h.c.series_group, h.c.series_position).where(
            h.c.series_group.is_not(None), h.c.status.in_(outside))
        for patron_id, group, position in self._ctx.conn.execute(query):
            self._block_from_outside((patron_id, group), position)

    def _block_from_outside(self, series: tuple, position: int | None) -> None:
        assert self._first_outside is not None
        if position is not None:  # SQL's comparison: no position, no order
            self._first_outside[series] = min(position, self._first_outside.get(series, position))

    def _read_again(self, hold_ids: list[int]) -> None:
        """The gates of these holds once more (a volume of their series left the queue): by
        gate_blocked's rule in memory where every blocking volume is known (_read_outside), else read."""
        if self._first_outside is not None:
            for hold_id in hold_ids:
                self._blocked[hold_id] = self._blocked_now(hold_id)
            return
        h = schema.holds
        for chunk in db.chunks(hold_ids):
            for hold_id in chunk:
                self._status.pop(hold_id)
            # The status is tested here, not in SQL: a status term leads SQLite to scan the
            # status index for the whole queue instead of looking up these ids.
            query = (select(h.c.id, h.c.status, gate_blocked(self._ctx, h).label("blocked"))
                     .where(db.one_of(self._ctx.conn, h.c.id, chunk)))
            for hold_id, status, blocked in self._ctx.conn.execute(query).all():
                if status in lifecycle.QUEUED:
                    self._status[hold_id] = status
                    self._blocked[hold_id] = bool(blocked)

    def _blocked_now(self, hold_id: int) -> bool:
        """gate_blocked, from what was read: an earlier volume of the series still queued, or one blocking from outside."""
        assert self._first_outside is not None
        position, series = self._position[hold_id], self._series[hold_id]
        if position is None:
            return False
        if self._first_outside.get(series, position) < position:
            return True
        return any(self._position[other] is not None and self._position[other] < position
                   for other in self._by_series[series] if other in self._status)
