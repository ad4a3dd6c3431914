"""A branch's lists of work for the day: the pull list, and copies travelling to it."""

from __future__ import annotations

from sqlalchemy import select

from ils.infra import schema
from ils.infra.context import Context


def pull_list(ctx: Context, branch_id: int) -> list[dict]:
    """資料確保リスト: copies on this branch's shelves bound to holds, by shelf mark."""
    h, c, t, b = schema.holds, schema.copies, schema.titles, schema.branches
    query = (
        select(c.c.shelf_mark, c.c.barcode, t.c.title, b.c.name.label("pickup"), h.c.id.label("hold"))
        .join(c, c.c.id == h.c.copy_id).join(t, t.c.id == c.c.title_id).join(b, b.c.id == h.c.pickup_branch_id)
        .where(h.c.status == "allocated", c.c.location_branch_id == branch_id)
        .order_by(c.c.shelf_mark, c.c.barcode)
    )
    return [dict(row._mapping) for row in ctx.conn.execute(query)]
