"""Step: apply changes of the patron's contact method (連絡方法の変更) where the library offers a choice."""

from __future__ import annotations

from sqlalchemy import bindparam

from ils.exchange.journal import Change, record_changes
from ils.frontend.pending import Verdict, in_receipt_order, patron_refusal, run_requests
from ils.holds.acceptance import can_receive
from ils.infra import schema
from ils.infra.context import Context

NAME = "contact_change"
INTRADAY = True
IN_DRY_RUN = True

REFUSED = "contact_change_refused"


def run(ctx: Context) -> dict:
    return run_requests(ctx, "contact_change", _judge_all)


def _judge_all(ctx: Context, rows: list, patrons: dict) -> list[Verdict]:
    verdicts, ordered = in_receipt_order(ctx, rows, patrons, REFUSED)
    changes: dict[int, str] = {}  # patron id: the contact method asked for
    for _, row, _ in ordered:
        verdicts.append(_judge(ctx, row, patrons.get((row.card_number or "").strip()), changes))
    _write(ctx, changes)
    _journal(ctx, changes, {row.id: row.contact_method for row in patrons.values()})
    return verdicts


def _judge(ctx: Context, row, patron, changes: dict) -> Verdict:
    refusal = patron_refusal(ctx, patron, row.channel)
    if refusal:
        return Verdict(row.id, "rejected", refusal, patron.id if patron else None, REFUSED if patron else None)
    offered = ctx.policy.holds.contact_methods
    # Only a library that offers a choice lets it be changed (seed 002: 連絡方法の変更;
    # seed 003 contacts by email only: 登録完了後、図書館からの連絡方法はメールになります).
    if len(offered) < 2:
        return Verdict(row.id, "rejected", "contact_change_not_offered", patron.id, REFUSED)
    method = (row.target or "").strip()
    if method not in offered:
        return Verdict(row.id, "rejected", "contact_not_offered", patron.id, REFUSED)
    if not can_receive(patron, method):
        return Verdict(row.id, "rejected", "contact_unavailable", patron.id, REFUSED)
    changes[patron.id] = method  # the latest change of the night wins
    return Verdict(row.id, "applied", None, patron.id, "contact_changed", details={"contact_method": method})


def _write(ctx: Context, changes: dict) -> None:
    if changes:
        p = schema.patrons
        stmt = p.update().where(p.c.id == bindparam("patron")).values(contact_method=bindparam("method"))
        ctx.conn.execute(stmt, [{"patron": pid, "method": method} for pid, method in changes.items()])


def _journal(ctx: Context, changes: dict, before: dict) -> None:
    """The ILS holds the contact method too: each change goes into the journal for its export (docs/integration.md)."""
    journal = [Change("contact_change", pid, "contact_method", before[pid], method) for pid, method in changes.items()]
    record_changes(ctx.conn, journal, at=ctx.now, actor="batch", run_id=ctx.run_id)
