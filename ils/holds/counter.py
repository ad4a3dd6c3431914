"""Holds at the counter: placed at once by the batch's rules (with audited overrides), cancelled on the patron's call."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from ils.errors import HoldRefused, IlsError
from ils.frontend.reasons import reason
from ils.holds import lifecycle
from ils.holds.acceptance import OVERRIDE_KEYS, HoldCase, HoldRequest, broken_rule, resolve_contact
from ils.holds.facts import branch_facts, patron_by_card, patron_facts, title_facts
from ils.holds.history import Notice, later_volume_titles, queue_titles, record_notices
from ils.holds.lifecycle import Event, HoldStatus
from ils.holds.lifecycle.store import Move, insert_holds, move_holds, new_hold_row
from ils.holds.suspension import check_not_needed_after
from ils.infra import schema
from ils.infra.audit import audit
from ils.infra.context import Context
from ils.infra.i18n import _
from ils.library.staff import require

# Rules staff may set aside for a patron, with a reason that goes to the audit log: the
# acceptance table says which (ils/holds/acceptance.py HOLD_RULES).
OVERRIDABLE = frozenset(OVERRIDE_KEYS)


@dataclass(frozen=True)
class Placed:
    bib_id: str
    hold_id: int
    status: str
    overridden: str | None = None


def place_holds(
    ctx: Context,
    card: str,
    bib_ids: list[str],
    pickup: str,
    *,
    staff: str,
    contact: str | None = None,
    series: bool = False,
    overrides: frozenset[str] = frozenset(),
    override_reason: str | None = None,
    not_needed_after: dt.date | None = None,
) -> list[Placed]:
    """Place holds at once (no pending stage). All or none: a refused title refuses the lot,
    naming the rule; staff may override the rules in OVERRIDABLE, with a reason. With
    `not_needed_after` (有効期限, today or later) a hold still waiting after that day lapses."""
    unknown = set(overrides) - OVERRIDABLE
    if unknown:
        raise IlsError(_("cannot override {unknown}; overridable: {overridable}").format(unknown=', '.join(sorted(unknown)), overridable=', '.join(sorted(OVERRIDABLE))))
    if overrides and not (override_reason or "").strip():
        raise IlsError(_("an override needs --reason (it is written to the audit log)"))
    check_not_needed_after(not_needed_after, ctx.today)
    group = f"counter-{uuid.uuid4().hex[:12]}" if series and len(bib_ids) > 1 else None
    with ctx.writing():
        require(ctx.conn, staff, "override" if overrides else "hold_place")
        # Locked: while the batch judges this patron's web requests it holds the patron
        # row; both counting holds at once could pass the hold limit together.
        patron_row = patron_by_card(ctx.conn, card, lock=True)
        patron = patron_facts(ctx.conn, [patron_row], ctx.today)[patron_row.id]
        titles = title_facts(ctx.conn, bib_ids, count_free_on_shelf=False)
        branches = branch_facts(ctx.conn)
        placed = []
        for position, bib in enumerate(bib_ids, start=1):
            request = HoldRequest(card_number=patron_row.card_number, bib_id=bib, received_at=ctx.now,
                                  channel="counter", pickup_code=pickup, contact_method=contact,
                                  series_group=group, series_position=position if group else None)
            case = HoldCase(request, patron, titles.get(bib), branches.get(pickup), ctx.policy, ctx.today)
            placed.append(_place(ctx, case, staff, overrides, override_reason, not_needed_after))
            patron.held_titles.add(case.known_title.id)
            patron.holds_by_channel["counter"] += 1
        return placed


def _place(ctx: Context, case: HoldCase, staff: str, overrides, override_reason, not_needed_after=None) -> Placed:
    refused = broken_rule(case)
    overridden = None
    if refused is not None and refused.override in overrides:
        overridden = refused.override
        refused = broken_rule(case, frozenset(overrides))
    if refused is not None:
        text = reason(refused.reason).en
        hint = f" (staff may override it with --override {refused.override} and --reason)" if refused.override else ""
        raise HoldRefused(_("{bib_id}: {text}{hint}").format(bib_id=case.request.bib_id, text=text, hint=hint), refused.reason)
    req = case.request
    row = new_hold_row(
        ctx.policy, patron_id=case.known_patron.id, title_id=case.known_title.id, pickup_branch_id=case.known_pickup.id,
        contact_method=resolve_contact(req, case.patron, ctx.policy), channel="counter", received_at=req.received_at,
        series_group=req.series_group, series_position=req.series_position, placed_by=staff, created_at=ctx.now,
    ) | {"not_needed_after": not_needed_after}
    [hold_id] = insert_holds(ctx.conn, Event.PLACE, [row], ["placed at the counter"], at=ctx.now, run_id=None,
                             actor=staff)
    status = row["status"]
    queue_titles(ctx.conn, [case.known_title.id])
    if overridden:
        audit(ctx, staff, "hold_override", case.known_patron.id, target=req.bib_id, reason=override_reason,
              detail={"rule": overridden, "hold_id": hold_id})
    return Placed(req.bib_id, hold_id, status, overridden)


def cancel_hold(ctx: Context, hold_id: int, *, staff: str, why: str | None = None) -> dict:
    """Cancel an active hold for the patron who called (seed 001: 図書館にご連絡ください).

    Unlike a web cancellation this may be done once the hold is in transit or ready; the
    copy is freed (a hold-shelf copy waits for the next hold or the reshelve list).
    """
    h = schema.holds
    with ctx.writing():
        require(ctx.conn, staff, "hold_cancel")
        hold = ctx.conn.execute(select(h).where(h.c.id == hold_id).with_for_update(nowait=True)).first()
        if hold is None:
            raise IlsError(_("no hold {hold_id}").format(hold_id=hold_id))
        if hold.status not in lifecycle.ACTIVE:
            raise IlsError(_("hold {hold_id} is already {status}").format(hold_id=hold_id, status=hold.status))
        move_holds(
            ctx.conn, Event.CANCEL_BY_STAFF, [Move(hold.id, hold.status, HoldStatus.CANCELLED, why or "cancelled at the counter")],
            values={"closed_at": ctx.now, "close_reason": "staff"}, at=ctx.now, run_id=None, actor=staff,
            conflict=f"hold {hold_id} changed meanwhile; try again",
        )
        record_notices(ctx.conn, [Notice(hold.patron_id, "cancel_applied", f"counter-cancel:{hold.id}", hold_id=hold.id)],
                       at=ctx.now, run_id=None)
        queue_titles(ctx.conn, {hold.title_id} | later_volume_titles(ctx.conn, [hold.id]))
        audit(ctx, staff, "hold_cancel", hold.patron_id, target=str(hold.id), reason=why,
              detail={"was": hold.status})
        return {"hold": hold.id, "was": hold.status, "now": str(HoldStatus.CANCELLED)}
