"""A title's queue as staff read it (`ils title holds BIB`): every active hold in queue order, cards masked unless a supervisor asks."""

from __future__ import annotations

from sqlalchemy import select

from ils.errors import IlsError
from ils.holds import lifecycle
from ils.infra import schema
from ils.infra.audit import audit
from ils.infra.context import Context
from ils.infra.i18n import _
from ils.library.staff import require

SHOWN_DIGITS = 4  # a masked card keeps its last digits, enough to tell two patrons apart at the counter


class UnknownTitle(IlsError):
    """No title has the bib id."""

    code = "unknown_title"


def masked(card: str) -> str:
    """A card number as the queue shows it by default: ****1234."""
    return "****" + card[-SHOWN_DIGITS:] if len(card) > SHOWN_DIGITS else "*" * len(card)


def title_holds(ctx: Context, bib_id: str, *, show_cards: bool = False, staff: str | None = None) -> list[dict]:
    """Every active hold of the title, first served first (lifecycle.queue_order), ranked from 1.

    Full card numbers are for a supervisor (`show_cards`), and each look is audited; the
    audit row is written before the cards are read, in the same transaction.
    """
    if not show_cards:
        return _queue(ctx, bib_id, show_cards=False)
    if not staff:
        raise IlsError(_("--show-cards needs --staff: a supervisor's account, written to the audit log"))
    with ctx.writing():
        require(ctx.conn, staff, "show_cards")
        rows = _queue(ctx, bib_id, show_cards=True)
        audit(ctx, staff, "show_cards", None, target=bib_id, detail={"holds": len(rows)})
        return rows


def _queue(ctx: Context, bib_id: str, *, show_cards: bool) -> list[dict]:
    h, t, p, b = schema.holds, schema.titles, schema.patrons, schema.branches
    title_id = ctx.conn.execute(select(t.c.id).where(t.c.bib_id == (bib_id or "").strip())).scalar()
    if title_id is None:
        raise UnknownTitle(_("no title with bib id {bib_id!r}").format(bib_id=bib_id))
    query = (
        select(h.c.id, p.c.card_number, h.c.status, b.c.code.label("pickup"), h.c.queued_at, h.c.channel,
               h.c.suspended_until, h.c.pickup_deadline)
        .join(p, p.c.id == h.c.patron_id).join(b, b.c.id == h.c.pickup_branch_id)
        .where(h.c.title_id == title_id, h.c.status.in_(lifecycle.ACTIVE))
        .order_by(*lifecycle.queue_order(h))
    )
    labels = ctx.policy.labels
    return [
        {"rank": rank, "hold": row.id, "card": row.card_number if show_cards else masked(row.card_number),
         "status": lifecycle.label(row.status, labels), "pickup": row.pickup, "placed": row.queued_at,
         "channel": row.channel, "suspended_until": row.suspended_until, "pickup_deadline": row.pickup_deadline}
        for rank, row in enumerate(ctx.conn.execute(query), start=1)
    ]


COLUMNS = ["rank", "hold", "card", "status", "pickup", "placed", "channel", "suspended_until", "pickup_deadline"]
