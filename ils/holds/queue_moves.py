"""Staff move a hold in its title's queue (予約順位の変更): to the head, to the end, before or after another hold.

The queue keeps its one order, ils.holds.lifecycle.queue_order (queue_day, queue_class,
queued_at, id): a move gives the hold the queue keys that put it where asked, so the
allocation, the rank a patron sees and every report read the same order. Where the
holds around the place share a receipt time and their ids decide (an import, a batch of
paper forms), there is no key between them: the holds behind step back a microsecond
each, as moves of their own (event queue_move), until the order is strict again.
Only holds with no copy yet — waiting, 準備中, suspended — are moved, and they are
placed among those: a hold that already has a copy is not in the way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import bindparam, select

from ils.holds import lifecycle
from ils.holds.lifecycle import Event, queue_order
from ils.holds.lifecycle.store import Move, move_holds
from ils.holds.staff_actions import HoldActionRefused, active_hold, need_reason
from ils.infra import schema
from ils.infra.audit import audit
from ils.infra.context import Context
from ils.infra.i18n import _
from ils.library.staff import require

# The statuses a hold may be moved in, and the holds it is placed among.
MOVABLE: tuple[str, ...] = (*lifecycle.QUEUED, lifecycle.S.SUSPENDED.value)
TICK = dt.timedelta(microseconds=1)
WHERE = ("head", "end", "before", "after")

def _refusals() -> dict[str, str]:
    """What staff read when a move is refused, by reason code, in the staff's language."""
    return {
        "not_movable": _("hold {hold} is {status}: only a hold with no copy yet (waiting, 準備中, suspended) can be moved"),
        "same_hold": _("hold {hold} cannot be moved before or after itself"),
        "unknown_anchor": _("no hold {anchor}"),
        "other_title": _("hold {anchor} is on another title; a hold moves only within its own title's queue"),
        "anchor_not_queued": _("hold {anchor} is {status}: move a hold before or after a hold that still waits "
                               "(waiting, 準備中, suspended)"),
        "alone": _("hold {hold} is the only hold of its title that waits; there is nowhere to move it"),
        "bad_where": _("say where: to the head, to the end, or before or after another hold"),
    }


def refused(reason: str, **facts) -> HoldActionRefused:
    return HoldActionRefused(reason, _refusals()[reason].format(**facts))


@dataclass(frozen=True)
class Place:
    """A hold's place in its title's queue: its queue keys (and its status, for the move)."""

    hold_id: int
    status: str
    queue_day: dt.date
    queue_class: int
    queued_at: dt.datetime

    @property
    def key(self) -> tuple:
        return (self.queue_day, self.queue_class, self.queued_at, self.hold_id)


def placed_at(queue: list[Place], moving: Place, index: int) -> list[Place]:
    """The places that put `moving` at `index` of `queue` (the other holds, in queue order):
    the moving hold's new keys, then any holds behind it that must step back. Pure."""
    ahead = queue[index - 1] if index > 0 else None
    behind = queue[index] if index < len(queue) else None
    if ahead is None and behind is None:
        return []
    if behind is not None:
        just_before = replace(moving, queue_day=behind.queue_day, queue_class=behind.queue_class,
                              queued_at=behind.queued_at - TICK)
        if ahead is None or ahead.key < just_before.key:
            return [just_before]
    assert ahead is not None
    new = replace(moving, queue_day=ahead.queue_day, queue_class=ahead.queue_class, queued_at=ahead.queued_at + TICK)
    changed, last = [new], new
    for hold in queue[index:]:
        if last.key < hold.key:
            break
        # Not after `last`, though after `ahead`: the same day and class, so a later time orders it.
        last = replace(hold, queued_at=last.queued_at + TICK)
        changed.append(last)
    return changed


def move_in_queue(ctx: Context, hold_id: int, where: str, *, staff: str, reason: str | None,
                  anchor: int | None = None) -> dict:
    """Move a waiting (or 準備中, or suspended) hold to the head or the end of its title's queue,
    or just before or after another such hold of the same title; audited with the reason."""
    if where not in WHERE or (where in ("before", "after")) != (anchor is not None):
        raise refused("bad_where")
    with ctx.writing():
        require(ctx.conn, staff, "hold_queue_move")
        why = need_reason(reason)
        hold = active_hold(ctx, hold_id)
        if hold.status not in MOVABLE:
            raise refused("not_movable", hold=hold_id, status=hold.status)
        queue = _queue(ctx, hold.title_id)
        moving = next(p for p in queue if p.hold_id == hold.id)
        others = [p for p in queue if p.hold_id != hold.id]
        if not others:
            raise refused("alone", hold=hold.id)
        index = _index(ctx, others, hold, where, anchor)
        changed = placed_at(others, moving, index)
        _write(ctx, changed, staff, why)
        audit(ctx, staff, "hold_queue_move", hold.patron_id, target=str(hold.id), reason=why,
              detail={"hold_id": hold.id, "where": where, "anchor": anchor,
                      "position_was": queue.index(moving) + 1, "position": index + 1,
                      "stepped_back": len(changed[1:])})  # each of them has its own history row
        return {"hold": hold.id, "position_was": queue.index(moving) + 1, "position": index + 1,
                "waiting": len(queue), "stepped_back": len(changed[1:])}


def _queue(ctx: Context, title_id: int) -> list[Place]:
    """The title's holds with no copy yet, locked, in queue order."""
    h = schema.holds
    rows = ctx.conn.execute(
        select(h.c.id, h.c.status, h.c.queue_day, h.c.queue_class, h.c.queued_at)
        .where(h.c.title_id == title_id, h.c.status.in_(MOVABLE))
        .order_by(*queue_order(h)).with_for_update(nowait=True)
    ).all()
    return [Place(*row) for row in rows]


def _index(ctx: Context, others: list[Place], hold, where: str, anchor: int | None) -> int:
    if where == "head":
        return 0
    if where == "end":
        return len(others)
    if anchor == hold.id:
        raise refused("same_hold", hold=hold.id)
    found = next((i for i, p in enumerate(others) if p.hold_id == anchor), None)
    if found is None:
        raise _anchor_problem(ctx, anchor, hold.title_id)
    return found if where == "before" else found + 1


def _anchor_problem(ctx: Context, anchor: int | None, title_id: int) -> HoldActionRefused:
    h = schema.holds
    row = ctx.conn.execute(select(h.c.title_id, h.c.status).where(h.c.id == anchor)).first()
    if row is None:
        return refused("unknown_anchor", anchor=anchor)
    if row.title_id != title_id:
        return refused("other_title", anchor=anchor)
    return refused("anchor_not_queued", anchor=anchor, status=row.status)


def _write(ctx: Context, changed: list[Place], staff: str, why: str) -> None:
    if not changed:
        return
    moved = changed[0].hold_id
    notes = [why] + [f"stepped back behind hold {moved}, moved by staff: {why}"] * (len(changed) - 1)
    move_holds(
        ctx.conn, Event.QUEUE_MOVE,
        [Move(p.hold_id, p.status, p.status, note,
              {"qday": p.queue_day, "qclass": p.queue_class, "qat": p.queued_at})
         for p, note in zip(changed, notes, strict=True)],
        values={"queue_day": bindparam("qday"), "queue_class": bindparam("qclass"), "queued_at": bindparam("qat")},
        at=ctx.now, run_id=None, actor=staff, conflict=_("a hold of this title changed meanwhile; try again"),
    )
