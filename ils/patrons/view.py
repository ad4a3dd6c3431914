"""What staff (and the patron's My Page) see of a patron: details, loans, holds with their queue rank."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select

from ils.circulation.overdue import is_overdue
from ils.holds import lifecycle
from ils.holds.facts import patron_by_card
from ils.holds.lifecycle import HoldStatus as S
from ils.holds.wait import hold_waits, wait_label
from ils.infra import schema
from ils.infra.context import Context
from ils.patrons.addresses import address_problem


def patron_id_of(ctx: Context, card: str) -> int:
    return patron_by_card(ctx.conn, card).id


def email_state(address: str | None, ctx: Context) -> str:
    """none, ok, or why mail cannot go there (the seeds' consecutive dots, a dot before @...)."""
    if not address:
        return "none"
    return address_problem(address, ctx.policy) or "ok"


def patron_details(ctx: Context, card: str) -> list[dict]:
    """The patron's record as (field, value) rows; the password only as its state."""
    p = patron_by_card(ctx.conn, card)
    b = schema.branches
    home = ctx.conn.execute(select(b.c.name).where(b.c.id == p.home_branch_id)).scalar() if p.home_branch_id else None
    locked = p.locked_until is not None and p.locked_until > ctx.now
    fields = {
        "card": p.card_number, "name": p.name, "name_kana": p.name_kana, "status": p.status, "home_branch": home,
        "contact_method": p.contact_method, "email": p.email, "email_state": email_state(p.email, ctx),
        "phone": p.phone, "web_registered": bool(p.web_registered), "password": p.password_state,
        "locked": f"until {p.locked_until.astimezone(ctx.now.tzinfo):%Y-%m-%d %H:%M}" if locked else "no",
    }
    return [{"field": k, "value": v} for k, v in fields.items()]


def patron_loans(ctx: Context, card: str) -> list[dict]:
    p = patron_by_card(ctx.conn, card)
    lo, c, t = schema.loans, schema.copies, schema.titles
    query = (
        select(c.c.barcode, t.c.title, lo.c.loaned_on, lo.c.due_on, lo.c.renewals, lo.c.inter_library)
        .join(c, c.c.id == lo.c.copy_id).join(t, t.c.id == c.c.title_id)
        .where(lo.c.patron_id == p.id, lo.c.returned_at.is_(None))
        .order_by(lo.c.due_on, c.c.barcode)
    )
    return [
        {**row._mapping, "inter_library": bool(row.inter_library), "overdue": is_overdue(row.due_on, ctx.today)}
        for row in ctx.conn.execute(query)
    ]


def _rank(h):
    """SQL: 1 + the active holds on the same title ahead of this one in the queue."""
    ahead = schema.holds.alias("ahead")
    before = lifecycle.ahead_in_queue(ahead, h)
    return (
        select(func.count() + 1)
        .where(ahead.c.title_id == h.c.title_id, ahead.c.status.in_(lifecycle.ACTIVE), before)
        .scalar_subquery()
    )


def patron_holds(ctx: Context, card: str) -> list[dict]:
    """Active holds (and recently closed ones, as the profile keeps them visible), with the
    profile's Japanese status labels, the queue rank (an estimate, as the seeds say), the
    pickup branch and deadline, and for a waiting hold its expected wait (ご用意の目安,
    ils/holds/wait.py); requests the batch has not yet judged come first."""
    p = patron_by_card(ctx.conn, card)
    h, t, b = schema.holds, schema.titles, schema.branches
    visible_since = ctx.now - dt.timedelta(days=ctx.policy.holds.cancelled_visible_days)
    shown = or_(h.c.status.in_(lifecycle.ACTIVE), h.c.closed_at >= visible_since)
    query = (
        select(h.c.id, h.c.title_id, t.c.bib_id, t.c.title, h.c.status, _rank(h).label("rank"), b.c.name.label("pickup"),
               h.c.pickup_deadline, h.c.contact_method, h.c.queued_at, h.c.series_position,
               h.c.suspended_until, h.c.not_needed_after)
        .join(t, t.c.id == h.c.title_id).join(b, b.c.id == h.c.pickup_branch_id)
        .where(h.c.patron_id == p.id, shown)
        .order_by(h.c.queued_at, h.c.id)
    )
    cancelling = _pending_cancels(ctx, p.card_number)
    labels = ctx.policy.labels
    rows = _pending_holds(ctx, p.card_number)
    found = list(ctx.conn.execute(query))
    waits = hold_waits(ctx.conn, ctx.policy, ctx.now, [(r.id, r.title_id) for r in found if r.status == S.WAITING])
    for row in found:
        label = lifecycle.label(row.status, labels)
        # A pending cancel shows 取消申込 on every hold the batch may still cancel (seed 004:
        # 図書館で予約取消を受付するまでは、取消申込と表示されます), an allocated one included.
        cancellable = row.status in ctx.policy.requests.web_cancel_statuses
        if cancellable and ({str(row.id), f"bib:{row.bib_id}"} & cancelling):
            label = labels.cancel_requested
        rows.append({
            "hold": row.id, "bib_id": row.bib_id, "title": row.title, "status": label,
            # A suspended hold keeps its place (予約の一時停止): its rank is shown too.
            "rank": row.rank if row.status in (*lifecycle.QUEUED, lifecycle.S.SUSPENDED) else None,
            "pickup": row.pickup, "pickup_deadline": row.pickup_deadline, "contact": row.contact_method,
            "series_position": row.series_position, **_expected(row.id, waits),
            # 一時停止中 until this day (None: until resumed), and the 有効期限 the patron gave.
            "suspended_until": row.suspended_until, "not_needed_after": row.not_needed_after,
        })
    return rows


def _expected(hold_id: int, waits: dict[int, float | None]) -> dict:
    """expected_wait_days (whole days, None with no basis) and the patron's words for it, for a waiting hold."""
    if hold_id not in waits:
        return {"expected_wait_days": None, "expected_wait": None}
    days = waits[hold_id]
    return {"expected_wait_days": None if days is None else max(1, round(days)), "expected_wait": wait_label(days)}


def _pending_holds(ctx: Context, card: str) -> list[dict]:
    """Hold requests still waiting for the batch, shown as 予約申込 (seed 004)."""
    r, t = schema.pending_requests, schema.titles
    query = (
        select(r.c.id, r.c.target, t.c.title)
        .outerjoin(t, t.c.bib_id == r.c.target)
        .where(r.c.state == "pending", r.c.kind == "hold", r.c.card_number == card)
        .order_by(r.c.id)
    )
    return [
        {"hold": None, "bib_id": row.target, "title": row.title, "status": ctx.policy.labels.pending, "rank": None,
         "pickup": None, "pickup_deadline": None, "contact": None, "series_position": None,
         "expected_wait_days": None, "expected_wait": None, "suspended_until": None, "not_needed_after": None}
        for row in ctx.conn.execute(query)
    ]


def _pending_cancels(ctx: Context, card: str) -> set[str]:
    r = schema.pending_requests
    query = select(r.c.target).where(r.c.state == "pending", r.c.kind == "cancel", r.c.card_number == card)
    return {(target or "").strip() for target in ctx.conn.execute(query).scalars()}
