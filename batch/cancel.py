"""Step: apply cancel requests (取消申込) while the hold still waits; refuse once it is in transit or ready."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from ils import db, schema
from ils.context import Context
from ils.holds import Transition, later_volume_titles, log_transitions, queue_titles
from ils.rules import Unparseable, parse_received_at

from batch.pending import (StepCounts, Verdict, patron_id_for, patrons_by_card, pending_rows, refuse_ineligible,
                           write_verdicts)

log = logging.getLogger(__name__)

CANCELLABLE = ("waiting", "series_waiting", "allocated")
TOO_LATE = ("in_transit", "ready")
BIB_PREFIX = "bib:"


@dataclass(frozen=True)
class CancelRequest:
    request_id: int
    card_number: str
    received_at: object
    hold_id: int | None
    bib_id: str | None


def run(ctx: Context) -> dict:
    counts = StepCounts()
    rows = pending_rows(ctx, "cancel")
    counts.read = len(rows)
    patrons = patrons_by_card(ctx, [row.card_number for row in rows])
    refused, rows = refuse_ineligible(ctx, rows, patrons, "cancel_refused")
    verdicts, requests = _parse(rows, patrons)
    verdicts += refused
    requests.sort(key=lambda r: (r.received_at, r.request_id))
    holds = _holds(ctx, requests, patrons)
    cancelled: list[dict] = []
    for req in requests:
        patron = patrons.get(req.card_number)
        verdicts.append(_judge(ctx, req, patron, holds, cancelled))
    _write(ctx, cancelled, verdicts, counts)
    log.info("cancel: %d read, %s", counts.read, dict(counts.states))
    return counts.as_dict()


def _parse(rows, patrons):
    verdicts, requests = [], []
    for row in rows:
        card = (row.card_number or "").strip()
        target = (row.target or "").strip()
        try:
            received = parse_received_at(row.received_at)
            if target.isdigit() and len(target) <= 18:
                requests.append(CancelRequest(row.id, card, received, int(target), None))
            elif target.startswith(BIB_PREFIX) and 0 < len(target) - len(BIB_PREFIX) <= 32:
                requests.append(CancelRequest(row.id, card, received, None, target[len(BIB_PREFIX):]))
            else:
                raise Unparseable("malformed")
        except Unparseable as exc:
            verdicts.append(Verdict(row.id, "rejected", exc.reason, patron_id_for(patrons, card), "cancel_refused"))
    return verdicts, requests


def _holds(ctx: Context, requests: list[CancelRequest], patrons: dict) -> dict:
    """The holds the requests name, by id and by (patron id, bib id), newest first."""
    h, t = schema.holds, schema.titles
    columns = (h.c.id, h.c.patron_id, h.c.title_id, h.c.status, h.c.copy_id, h.c.series_group, t.c.bib_id)
    # FOR UPDATE (PostgreSQL): a counter scan changing one of these holds right now is
    # waited for, and its result judged, so a hold caught at check-in is not also cancelled.
    base = select(*columns).join(t, t.c.id == h.c.title_id).with_for_update(of=h)
    found: dict = {}
    ids = sorted({r.hold_id for r in requests if r.hold_id is not None})
    for chunk in db.chunks(ids):
        for row in ctx.conn.execute(base.where(h.c.id.in_(chunk))):
            found[row.id] = dict(row._mapping)
    patron_ids = sorted({patrons[r.card_number].id for r in requests if r.bib_id and r.card_number in patrons})
    bibs = {r.bib_id for r in requests if r.bib_id}
    for chunk in db.chunks(patron_ids):
        query = base.where(h.c.patron_id.in_(chunk), t.c.bib_id.in_(sorted(bibs))).order_by(h.c.id)
        for row in ctx.conn.execute(query):
            found[row.id] = dict(row._mapping)
            key = (row.patron_id, row.bib_id)
            # prefer an active hold over a closed one on the same title
            if key not in found or found[key]["status"] not in schema.ACTIVE_HOLD_STATUSES:
                found[key] = found[row.id]
    return found


def _judge(ctx, req: CancelRequest, patron, holds: dict, cancelled: list) -> Verdict:
    if patron is None:
        return Verdict(req.request_id, "rejected", "unknown_card", None, None)
    hold = holds.get(req.hold_id) if req.hold_id is not None else holds.get((patron.id, req.bib_id))
    if hold is None or hold["patron_id"] != patron.id:
        return Verdict(req.request_id, "rejected", "unknown_hold", patron.id, "cancel_refused")
    if hold["status"] in TOO_LATE:
        return Verdict(req.request_id, "rejected", "cancel_too_late", patron.id, "cancel_refused", hold_id=hold["id"])
    if hold["status"] not in CANCELLABLE:
        return Verdict(req.request_id, "rejected", "already_closed", patron.id, "cancel_refused", hold_id=hold["id"])
    cancelled.append({"hold": hold["id"], "from": hold["status"], "title": hold["title_id"],
                      "freed_copy": hold["copy_id"] is not None, "request": req.request_id})
    hold["status"] = "cancelled"
    return Verdict(req.request_id, "applied", None, patron.id, "cancel_applied", hold_id=hold["id"])


def _write(ctx: Context, cancelled: list[dict], verdicts: list[Verdict], counts: StepCounts) -> None:
    if cancelled:
        h = schema.holds
        stmt = (
            h.update()
            .where(h.c.id == bindparam("hold"), h.c.status == bindparam("was"))
            .values(status="cancelled", closed_at=ctx.now, close_reason="patron_request")
        )
        ctx.conn.execute(stmt, [{"hold": c["hold"], "was": c["from"]} for c in cancelled])
        log_transitions(
            ctx.conn,
            [Transition(c["hold"], c["from"], "cancelled", f"request {c['request']}") for c in cancelled],
            at=ctx.now, run_id=ctx.run_id, actor="batch",
        )
        # A freed copy goes to the next hold on its title; a cancelled volume opens the
        # gate of the volumes after it (DOMAIN.md, series order).
        freed = {c["title"] for c in cancelled if c["freed_copy"]}
        queue_titles(ctx.conn, freed | later_volume_titles(ctx.conn, [c["hold"] for c in cancelled]))
    write_verdicts(ctx, verdicts, counts)
