"""Step: apply cancel requests (取消申込) in the statuses the profile lets a patron cancel from; refuse past them."""

from __future__ import annotations

from ils.frontend.pending import (
    HoldRef,
    Verdict,
    hold_of,
    holds_named,
    parse_hold_refs,
    refuse_ineligible,
    run_requests,
)
from ils.holds import lifecycle
from ils.holds.history import later_volume_titles, queue_titles
from ils.holds.lifecycle import Event, HoldStatus
from ils.holds.lifecycle.store import Move, move_holds
from ils.infra.context import Context

NAME = "cancel"
INTRADAY = True
IN_DRY_RUN = True


def run(ctx: Context) -> dict:
    return run_requests(ctx, "cancel", _judge_all)


def _judge_all(ctx: Context, rows: list, patrons: dict) -> list[Verdict]:
    refused, rows = refuse_ineligible(ctx, rows, patrons, "cancel_refused")
    verdicts, requests = parse_hold_refs(ctx, rows, patrons, "cancel_refused")
    verdicts += refused
    holds = holds_named(ctx, requests, patrons)
    cancelled: list[dict] = []
    for req in requests:
        patron = patrons.get(req.card_number)
        verdicts.append(_judge(ctx, req, patron, holds, cancelled))
    _write(ctx, cancelled)
    return verdicts


def _judge(ctx, req: HoldRef, patron, holds: dict, cancelled: list) -> Verdict:
    if patron is None:
        return Verdict(req.request_id, "rejected", "unknown_card", None, None)
    hold = hold_of(req, patron, holds)
    if hold is None:
        return Verdict(req.request_id, "rejected", "unknown_hold", patron.id, "cancel_refused")
    if hold["status"] not in lifecycle.ACTIVE:
        return Verdict(req.request_id, "rejected", "already_closed", patron.id, "cancel_refused", hold_id=hold["id"])
    # Past the profile's statuses the patron must contact the library (seed 001:
    # ご自身では取消・変更ができなくなりますので、図書館にご連絡ください).
    if hold["status"] not in ctx.policy.requests.web_cancel_statuses:
        return Verdict(req.request_id, "rejected", "cancel_too_late", patron.id, "cancel_refused", hold_id=hold["id"])
    cancelled.append({"hold": hold["id"], "from": hold["status"], "title": hold["title_id"],
                      "freed_copy": hold["copy_id"] is not None, "request": req.request_id})
    hold["status"] = HoldStatus.CANCELLED
    return Verdict(req.request_id, "applied", None, patron.id, "cancel_applied", hold_id=hold["id"])


def _write(ctx: Context, cancelled: list[dict]) -> None:
    if cancelled:
        move_holds(
            ctx.conn, Event.CANCEL_BY_PATRON,
            [Move(c["hold"], c["from"], HoldStatus.CANCELLED, f"request {c['request']}") for c in cancelled],
            values={"closed_at": ctx.now, "close_reason": "patron_request"},
            at=ctx.now, run_id=ctx.run_id, actor="batch",
        )
        # A freed copy goes to the next hold on its title; a cancelled volume opens the
        # gate of the volumes after it (DOMAIN.md, series order).
        freed = {c["title"] for c in cancelled if c["freed_copy"]}
        queue_titles(ctx.conn, freed | later_volume_titles(ctx.conn, [c["hold"] for c in cancelled]))
