"""Step: apply email-address changes from the web, or refuse an address mail cannot reach."""

from __future__ import annotations

from sqlalchemy import bindparam

from ils.exchange.journal import Change, record_changes
from ils.frontend.pending import Verdict, in_receipt_order, patron_id_for, refuse_ineligible, run_requests
from ils.infra import db, schema
from ils.infra.context import Context
from ils.patrons.addresses import address_problem

NAME = "email"
INTRADAY = True
IN_DRY_RUN = True


def run(ctx: Context) -> dict:
    return run_requests(ctx, "email_change", _judge_all)


def _judge_all(ctx: Context, rows: list, patrons: dict) -> list[Verdict]:
    verdicts, rows = refuse_ineligible(ctx, rows, patrons, "email_refused")
    unreadable, ordered = in_receipt_order(ctx, rows, patrons, "email_refused")
    verdicts += unreadable
    changes: dict = {}
    for received, row, _ in ordered:
        verdicts.append(_judge(ctx, row, received, patrons, changes))
    _write(ctx, changes)
    _journal(ctx, changes, {row.id: row for row in patrons.values()})
    return verdicts


def _judge(ctx: Context, row, received, patrons: dict, changes: dict) -> Verdict:
    patron_id = patron_id_for(patrons, row.card_number)
    address = (row.target or "").strip()
    if patron_id is None:
        return Verdict(row.id, "rejected", "unknown_card", None, None)
    problem = address_problem(address, ctx.policy) if address else None
    if problem:
        return Verdict(row.id, "rejected", problem, patron_id, "email_refused")
    changes[patron_id] = address or None  # the latest change of the night wins
    previous = patrons[row.card_number.strip()].email
    return Verdict(row.id, "applied", None, patron_id, "email_changed",
                   details={"address": address or None, "previous": previous, "received_at": received.isoformat()})


def _write(ctx: Context, changes: dict) -> None:
    if changes:
        p = schema.patrons
        stmt = p.update().where(p.c.id == bindparam("patron")).values(email=bindparam("address"))
        ctx.conn.execute(stmt, [{"patron": pid, "address": addr} for pid, addr in changes.items()])
        # A patron contacted by email whose address was deleted is left uncontacted
        # (自主確認) rather than pointed at nothing.
        removed = [pid for pid, addr in changes.items() if addr is None]
        for chunk in db.chunks(removed):
            ctx.conn.execute(
                p.update().where(db.one_of(ctx.conn, p.c.id, chunk), p.c.contact_method == "email").values(contact_method="none")
            )
    if ctx.policy.email.registration_sets_contact:
        _contact_by_email(ctx, [pid for pid, addr in changes.items() if addr])


def _contact_by_email(ctx: Context, registered: list[int]) -> None:
    """Seed 003: 登録完了後、図書館からの連絡方法はメールになります."""
    p = schema.patrons
    for chunk in db.chunks(registered):
        ctx.conn.execute(p.update().where(db.one_of(ctx.conn, p.c.id, chunk), p.c.contact_method != "email")
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
