"""Step: apply email-address changes from the web, or refuse an address mail cannot reach."""

from __future__ import annotations

import logging

from sqlalchemy import bindparam

from ils.infra import db, schema
from ils.exchange.journal import Change, record_changes
from ils.infra.context import Context
from ils.patrons.addresses import address_problem
from ils.holds.acceptance import Unparseable, parse_received_at

from ils.frontend.pending import (StepCounts, Verdict, patron_id_for, patrons_by_card, pending_rows, refuse_ineligible,
                           write_verdicts)

NAME = "email"
INTRADAY = True
IN_DRY_RUN = True

log = logging.getLogger(__name__)


def run(ctx: Context) -> dict:
    counts = StepCounts()
    rows = pending_rows(ctx, "email_change")
    counts.read = len(rows)
    patrons = patrons_by_card(ctx, [row.card_number for row in rows])
    verdicts, rows = refuse_ineligible(ctx, rows, patrons, "email_refused")
    changes, ordered = {}, []
    for row in rows:
        patron_id = patron_id_for(patrons, row.card_number)
        try:
            received = parse_received_at(row.received_at, row.entered_at, row.channel, ctx.policy)
            ordered.append((received, row.id, row, patron_id))
        except Unparseable as exc:
            verdicts.append(Verdict(row.id, "rejected", exc.reason, patron_id, "email_refused"))
    for received, _, row, patron_id in sorted(ordered, key=lambda item: item[:2]):
        address = (row.target or "").strip()
        if patron_id is None:
            verdicts.append(Verdict(row.id, "rejected", "unknown_card", None, None))
            continue
        problem = address_problem(address, ctx.policy) if address else None
        if problem:
            verdicts.append(Verdict(row.id, "rejected", problem, patron_id, "email_refused"))
            continue
        changes[patron_id] = address or None  # the latest change of the night wins
        previous = patrons[row.card_number.strip()].email
        verdicts.append(Verdict(row.id, "applied", None, patron_id, "email_changed",
                                details={"address": address or None, "previous": previous,
                                         "received_at": received.isoformat()}))
    _write(ctx, changes, verdicts, counts)
    _journal(ctx, changes, {row.id: row for row in patrons.values()})
    log.info("email: %d read, %s", counts.read, dict(counts.states))
    return counts.as_dict()


def _write(ctx: Context, changes: dict, verdicts: list[Verdict], counts: StepCounts) -> None:
    if changes:
        p = schema.patrons
        stmt = p.update().where(p.c.id == bindparam("patron")).values(email=bindparam("address"))
        ctx.conn.execute(stmt, [{"patron": pid, "address": addr} for pid, addr in changes.items()])
        # A patron contacted by email whose address was deleted is left uncontacted
        # (自主確認) rather than pointed at nothing.
        removed = [pid for pid, addr in changes.items() if addr is None]
        for chunk in db.chunks(removed):
            ctx.conn.execute(
                p.update().where(p.c.id.in_(chunk), p.c.contact_method == "email").values(contact_method="none")
            )
    if ctx.policy.email.registration_sets_contact:
        _contact_by_email(ctx, [pid for pid, addr in changes.items() if addr])
    write_verdicts(ctx, verdicts, counts)


def _contact_by_email(ctx: Context, registered: list[int]) -> None:
    """Seed 003: 登録完了後、図書館からの連絡方法はメールになります."""
    p = schema.patrons
    for chunk in db.chunks(registered):
        ctx.conn.execute(p.update().where(p.c.id.in_(chunk), p.c.contact_method != "email")
                         .values(contact_method="email"))


def _journal(ctx: Context, changes: dict, before: dict) -> None:
    """The new addresses (and contact methods the deletion changed) go into the journal for the ILS."""
    journal = []
    for patron_id, address in changes.items():
        was = before[patron_id]
        journal.append(Change("email_change", patron_id, "email", was.email, address))
        if address is None and was.contact_method == "email":
            journal.append(Change("contact_change", patron_id, "contact_method", "email", "none"))
        elif address and ctx.policy.email.registration_sets_contact:
            journal.append(Change("contact_change", patron_id, "contact_method", was.contact_method, "email"))
    record_changes(ctx.conn, journal, at=ctx.now, actor="batch", run_id=ctx.run_id)
