"""Step: accept pending hold requests (仮予約 → hold) in receipt order, or reject each with a reason."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from ils.frontend.parsing import Unparseable, parse_hold_row
from ils.frontend.pending import (
    StepCounts,
    Verdict,
    patron_id_for,
    patrons_by_card,
    pending_rows,
    reject_unknown_kinds,
    write_verdicts,
)
from ils.holds.acceptance import HoldCase, HoldRequest, judge_hold
from ils.holds.facts import branch_facts, patron_facts, title_facts
from ils.holds.history import queue_titles
from ils.holds.lifecycle import Event
from ils.holds.lifecycle.store import insert_holds, new_hold_row
from ils.holds.registration import is_due, library_calendar
from ils.infra import db, schema
from ils.infra.context import Context

NAME = "accept"
INTRADAY = True  # Mito registers requests every ten minutes in the day (seed 002)
IN_DRY_RUN = True

log = logging.getLogger(__name__)


def run(ctx: Context) -> dict:
    counts = StepCounts()
    reject_unknown_kinds(ctx, counts)
    rows = pending_rows(ctx, "hold")
    counts.read += len(rows)
    patrons = patrons_by_card(ctx, [row.card_number for row in rows], lock=True)
    verdicts, requests = _parse(ctx, rows, patrons)
    requests = _due(ctx, requests, counts)
    requests.sort(key=lambda r: (r.received_at, r.request_id))
    decided, holds = _judge(ctx, requests, patrons)
    verdicts += decided
    _write(ctx, holds, verdicts, counts)
    log.info("accept: %d read, %s", counts.read, dict(counts.states))
    return counts.as_dict()


def _parse(ctx: Context, rows, patrons) -> tuple[list[Verdict], list[HoldRequest]]:
    verdicts, requests = [], []
    for row in rows:
        try:
            requests.append(parse_hold_row(row, ctx.policy))
        except Unparseable as exc:
            patron = patron_id_for(patrons, row.card_number)
            verdicts.append(Verdict(row.id, "rejected", exc.reason, patron, "request_rejected"))
    return verdicts, requests


def _due(ctx: Context, requests: list[HoldRequest], counts: StepCounts) -> list[HoldRequest]:
    """The requests this run registers; one made while the library is closed stays pending (仮予約)
    until its registration time (seed 002: 閉館時間中の予約申込みはAM7:00の時点に一括で登録処理)."""
    if not ctx.policy.requests.registration_hours:
        return requests
    calendar = library_calendar(ctx.policy)
    due = [req for req in requests if is_due(req.received_at, ctx.now, ctx.policy, calendar)]
    if len(due) < len(requests):
        counts.states["left_pending"] += len(requests) - len(due)
    return due


def _first_submissions(ctx: Context, requests: list[HoldRequest]) -> dict[str, int]:
    """For each client_ref in this run, the id of the first row that carried it (ever)."""
    refs = sorted({r.client_ref for r in requests if r.client_ref})
    r = schema.pending_requests
    first = {}
    for chunk in db.chunks(refs):
        query = (select(r.c.client_ref, func.min(r.c.id)).where(db.one_of(ctx.conn, r.c.client_ref, chunk))
                 .group_by(r.c.client_ref))
        first.update(dict(ctx.conn.execute(query).all()))
    return first


def _judge(ctx: Context, requests: list[HoldRequest], patrons: dict) -> tuple[list[Verdict], list[dict]]:
    facts = patron_facts(ctx.conn, patrons.values(), ctx.today)
    by_card = {card: facts[row.id] for card, row in patrons.items()}
    titles = title_facts(ctx.conn, [r.bib_id for r in requests], count_free_on_shelf=not ctx.policy.holds.onshelf_web_holds)
    branches = branch_facts(ctx.conn)
    first = _first_submissions(ctx, requests)
    policy, today = ctx.policy, ctx.today
    verdicts, holds = [], []
    for req in requests:
        assert req.request_id is not None  # read from a pending row
        patron = by_card.get(req.card_number)
        case = HoldCase(req, patron, titles.get(req.bib_id), branches.get(req.pickup_code), policy, today)
        reason: str | None
        if req.client_ref and first.get(req.client_ref, req.request_id) != req.request_id:
            reason = "duplicate"
        else:
            reason = judge_hold(case)
        if reason:
            verdicts.append(Verdict(req.request_id, "rejected", reason, patron.id if patron else None, "request_rejected"))
            continue
        holds.append(_new_hold(ctx, case))
        case.known_patron.held_titles.add(case.known_title.id)
        case.known_patron.holds_by_channel[req.channel] += 1
    return verdicts, holds


def _new_hold(ctx: Context, case: HoldCase) -> dict:
    req = case.request
    return new_hold_row(
        ctx.policy, patron_id=case.known_patron.id, title_id=case.known_title.id, pickup_branch_id=case.known_pickup.id,
        contact_method=case.contact, channel=req.channel,
        received_at=req.received_at, series_group=req.series_group, series_position=req.series_position,
        request_id=req.request_id, placed_by="batch", created_at=ctx.now,
    )


def _write(ctx: Context, holds: list[dict], verdicts: list[Verdict], counts: StepCounts) -> None:
    if holds:
        ids = insert_holds(ctx.conn, Event.PLACE, holds, [f"request {hold['request_id']}" for hold in holds],
                           at=ctx.now, run_id=ctx.run_id, actor="batch")
        queue_titles(ctx.conn, (hold["title_id"] for hold in holds))
        verdicts += [
            Verdict(hold["request_id"], "accepted", None, hold["patron_id"], "hold_accepted", hold_id=i)
            for i, hold in zip(ids, holds, strict=True)
        ]
    write_verdicts(ctx, verdicts, counts)
