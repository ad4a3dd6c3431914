"""Step: ready holds past their pickup deadline (取置期限) expire; their copies go back into play."""

from __future__ import annotations

import logging

from sqlalchemy import select

from ils.holds.history import Notice, later_volume_titles, queue_titles, record_notices
from ils.holds.lifecycle import Event, HoldStatus
from ils.holds.lifecycle.store import Move, move_holds
from ils.infra import schema
from ils.infra.context import Context

NAME = "expire"
INTRADAY = False  # deadlines pass at midnight: the night expires them
IN_DRY_RUN = True

log = logging.getLogger(__name__)


def run(ctx: Context) -> dict:
    """Expire every ready hold whose last pickup day is before today.

    The copy stays on the hold shelf, unbound: the allocate step gives it to the next
    waiting hold on its title, or it appears on the branch's reshelve list.
    """
    h = schema.holds
    # FOR UPDATE (PostgreSQL): a hold being picked up at this moment is waited for and,
    # collected, no longer matches; it is neither expired nor told it was.
    # In deadline order (then id): the order their history, journal and notices are written in.
    query = (
        select(h.c.id, h.c.patron_id, h.c.title_id, h.c.pickup_deadline)
        .where(h.c.status == HoldStatus.READY, h.c.pickup_deadline < ctx.today)
        .order_by(h.c.pickup_deadline, h.c.id)
        .with_for_update()
    )
    expired = ctx.conn.execute(query).all()  # (hold, patron, title, deadline)
    if expired:
        move_holds(
            ctx.conn, Event.EXPIRE,
            [Move(hold_id, HoldStatus.READY, HoldStatus.EXPIRED, f"deadline {deadline}", patron_id=patron_id)
             for hold_id, patron_id, _title, deadline in expired],
            values={"closed_at": ctx.now, "close_reason": "pickup_deadline"},
            at=ctx.now, run_id=ctx.run_id, actor="batch",
        )
        record_notices(
            ctx.conn,
            [Notice(patron_id, "hold_expired", f"expired:{hold_id}", hold_id=hold_id,
                    details={"pickup_deadline": deadline.isoformat()})
             for hold_id, patron_id, _title, deadline in expired],
            at=ctx.now, run_id=ctx.run_id,
        )
        titles = {title_id for _hold, _patron, title_id, _day in expired}
        queue_titles(ctx.conn, titles | later_volume_titles(ctx.conn, [hold_id for hold_id, *_ in expired]))
    log.info("expire: %d holds past their pickup deadline", len(expired))
    return {"expired": len(expired)}
