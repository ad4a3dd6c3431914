"""Series order (順番予約): a later volume is 準備中 until every earlier one has passed the profile's gate."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import exists, select

from ils.holds import lifecycle
from ils.holds.lifecycle import Event, HoldStatus
from ils.holds.lifecycle.store import Move, move_holds
from ils.infra import schema
from ils.infra.context import Context


def blocking_statuses(ctx: Context) -> tuple[str, ...]:
    """Statuses of an earlier volume that keep the later ones 準備中.

    Gate "allocated" (seed 001: 順位が先の資料が割り当てられないと、後の資料は予約を割り当てられ
    ません) opens once the earlier volume has a copy; gate "picked_up" (seed 004: 一冊ずつ
    用意確保) once the patron has collected it. A cancelled or expired volume opens the gate.
    """
    if ctx.policy.series.gate == "picked_up":
        return lifecycle.ACTIVE
    return lifecycle.QUEUED


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
    if not ctx.policy.series.ordered or not title_ids:
        return Counter()
    h = schema.holds
    query = select(h.c.id, h.c.status, gate_blocked(ctx, h).label("blocked")).where(
        h.c.title_id.in_(title_ids), h.c.series_group.is_not(None), h.c.status.in_(lifecycle.QUEUED)
    ).order_by(h.c.id)  # history in hold order, the same on every engine
    changes = []
    for row in ctx.conn.execute(query):
        wanted = HoldStatus.SERIES_WAITING if row.blocked else HoldStatus.WAITING
        if wanted != row.status:
            changes.append(Move(row.id, row.status, wanted, "series gate"))
    move_holds(ctx.conn, Event.SERIES_GATE, changes, at=ctx.now, run_id=ctx.run_id, actor=actor)
    return Counter(f"gate_{m.now}" for m in changes)
