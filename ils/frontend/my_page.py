"""What the patron's My Page asks without writing anything: their loans with whether 延長 is offered, and "can I hold this?"."""

from __future__ import annotations

from sqlalchemy import select

from ils.circulation.overdue import is_overdue
from ils.circulation.renewal import LoanFacts, judge_renewal
from ils.frontend.reasons import reason
from ils.holds.acceptance import WEB_CHANNELS, HoldCase, HoldRequest, judge_hold, web_ineligible
from ils.holds.facts import branch_facts, patron_by_card, patron_facts, title_facts
from ils.infra import schema
from ils.infra.context import Context

RENEW_PENDING = "renew_pending"


def loans_with_renewal(ctx: Context, card: str) -> list[dict]:
    """The patron's open loans: title, due date, and whether a renewal asked now would be
    applied (and if not, the reason code and its Japanese text), by the night's rules."""
    patron = patron_by_card(ctx.conn, card)
    lo, c, t = schema.loans, schema.copies, schema.titles
    query = (
        select(lo.c.id, lo.c.patron_id, c.c.title_id, lo.c.due_on, lo.c.renewals, lo.c.inter_library, lo.c.branch_id,
               c.c.barcode, t.c.title, lo.c.loaned_on)
        .join(c, c.c.id == lo.c.copy_id).join(t, t.c.id == c.c.title_id)
        .where(lo.c.patron_id == patron.id, lo.c.returned_at.is_(None))
        .order_by(lo.c.due_on, c.c.barcode)
    )
    rows = list(ctx.conn.execute(query))
    overdue = any(is_overdue(row.due_on, ctx.today) for row in rows)
    held = _held_by_others(ctx, patron.id, {row.title_id for row in rows})
    asked = _renewals_asked(ctx, patron.card_number)
    barred = web_ineligible(ctx.policy, web_registered=bool(patron.web_registered), birth_date=patron.birth_date,
                            today=ctx.today)
    return [_loan(ctx, row, overdue, held, asked, barred) for row in rows]


def _loan(ctx: Context, row, overdue: bool, held: set, asked: set, barred: str | None) -> dict:
    facts = LoanFacts(**{k: getattr(row, k) for k in LoanFacts.__dataclass_fields__})
    why, due = judge_renewal(ctx.policy, facts, asked_on=ctx.today, patron_has_overdue=overdue,
                             others_holding=row.title_id in held, calendar=ctx.calendars.get(row.branch_id))
    why = barred or (RENEW_PENDING if row.barcode in asked else why)
    return {
        "barcode": row.barcode, "title": row.title, "loaned_on": row.loaned_on, "due_on": row.due_on,
        "renewals": row.renewals, "overdue": is_overdue(row.due_on, ctx.today), "renewable": why is None,
        "due_if_renewed": due if why is None else None, "why_not": why,
        "why_not_text": reason(why).ja if why else None,
    }


def _held_by_others(ctx: Context, patron_id: int, title_ids: set) -> set:
    h = schema.holds
    if not title_ids:
        return set()
    query = select(h.c.title_id).where(h.c.title_id.in_(sorted(title_ids)), h.c.patron_id != patron_id,
                                       h.c.status.in_(schema.ACTIVE_HOLD_STATUSES)).distinct()
    return set(ctx.conn.execute(query).scalars())


def _renewals_asked(ctx: Context, card: str) -> set:
    """Barcodes with a renew request still waiting for the batch: 延長 is not offered twice."""
    r = schema.pending_requests
    query = select(r.c.target).where(r.c.state == "pending", r.c.kind == "renew", r.c.card_number == card)
    return {(target or "").strip() for target in ctx.conn.execute(query).scalars()}


def hold_check(ctx: Context, card: str, bib_id: str, pickup: str, *, contact: str | None = None,
               channel: str = "web") -> dict:
    """Whether the night would accept this hold request if it were judged now, by the same
    checks (ils/holds/acceptance.py); nothing is written. The night judges again: another patron's
    request, a returned copy or a new overdue may change the answer."""
    if channel not in WEB_CHANNELS:
        raise ValueError(f"channel {channel!r}: the check is for the web, mobile site and OPAC")
    p = schema.patrons
    row = ctx.conn.execute(select(p).where(p.c.card_number == (card or "").strip())).first()
    patron = patron_facts(ctx.conn, [row], ctx.today)[row.id] if row is not None else None
    titles = title_facts(ctx.conn, [bib_id], count_free_on_shelf=not ctx.policy.holds.onshelf_web_holds)
    request = HoldRequest(card_number=card, bib_id=bib_id, received_at=ctx.now, channel=channel,
                          pickup_code=pickup, contact_method=contact)
    case = HoldCase(request, patron, titles.get(bib_id), branch_facts(ctx.conn).get(pickup), ctx.policy, ctx.today)
    why = judge_hold(case)
    return {"bib_id": bib_id, "ok": why is None, "reason": why, "reason_text": reason(why).ja if why else None}
