"""Series order (順番予約): a later volume is 準備中 until every earlier one has passed the profile's gate."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import bindparam, exists, select

from ils.infra import schema
from ils.infra.context import Context
from ils.holds.history import Transition, log_transitions


def blocking_statuses(ctx: Context) -> tuple[str, ...]:
    """Statuses of an earlier volume that keep the later ones 準備中.

    Gate "allocated" (seed 001: 順位が先の資料が割り当てられないと、後の資料は予約を割り当てられ
    ません) opens once the earlier volume has a copy; gate "picked_up" (seed 004: 一冊ずつ
    用意確保) once the patron has collected it. A cancelled or expired volume opens the gate.
    """
    if ctx.policy.series.gate == "picked_up":
        return ("waiting", "series_waiting", "allocated", "in_transit", "ready")
    return ("waiting", "series_waiting")


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
        h.c.title_id.in_(title_ids), h.c.series_group.is_not(None), h.c.status.in_(("waiting", "series_waiting"))
    ).order_by(h.c.id)  # history in hold order, the same on every engine
    changes = []
    for row in ctx.conn.execute(query):
        wanted = "series_waiting" if row.blocked else "waiting"
        if wanted != row.status:
            changes.append(Transition(row.id, row.status, wanted, "series gate"))
    if changes:
        stmt = h.update().where(h.c.id == bindparam("hold"), h.c.status == bindparam("was")).values(status=bindparam("now_"))
        ctx.conn.execute(stmt, [{"hold": t.hold_id, "was": t.from_status, "now_": t.to_status} for t in changes])
        log_transitions(ctx.conn, changes, at=ctx.now, run_id=ctx.run_id, actor=actor)
    return Counter(f"gate_{t.to_status}" for t in changes)
