"""Step: apply renew requests (延長申込): once, not overdue, not held by others, not inter-library."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from ils.circulation.overdue import overdue_loans
from ils.circulation.renewal import LoanFacts, judge_renewal, renewal_changes
from ils.exchange.journal import record_changes
from ils.frontend.parsing import Unparseable
from ils.frontend.pending import Verdict, in_receipt_order, refuse_ineligible, run_requests
from ils.infra import db, schema
from ils.infra.context import Context
from ils.library.clock import library_date

NAME = "renew"
INTRADAY = True
IN_DRY_RUN = True


@dataclass(frozen=True)
class RenewRequest:
    """A pending renewal request: who asked, when, for which copy."""

    request_id: int
    card_number: str
    received_at: dt.datetime
    barcode: str


def run(ctx: Context) -> dict:
    return run_requests(ctx, "renew", _judge_all)


def _barcode(row) -> str:
    barcode = (row.target or "").strip()
    if not barcode or len(barcode) > 32:
        raise Unparseable("malformed")
    return barcode


def _judge_all(ctx: Context, rows: list, patrons: dict) -> list[Verdict]:
    verdicts, rows = refuse_ineligible(ctx, rows, patrons, "renew_refused")
    unreadable, ordered = in_receipt_order(ctx, rows, patrons, "renew_refused", _barcode)
    verdicts += unreadable
    requests = [RenewRequest(row.id, (row.card_number or "").strip(), received, barcode)
                for received, row, barcode in ordered]
    loans = _open_loans(ctx, [r.barcode for r in requests])
    overdue_patrons = _patrons_with_overdue(ctx, [p.id for p in patrons.values()])
    held_by_others = _held_by_others(ctx, [loan["id"] for loan in loans.values()])
    before = {loan["id"]: (loan["due_on"], loan["renewals"]) for loan in loans.values()}
    renewed = []
    for req in requests:
        verdict = _judge(ctx, req, patrons.get(req.card_number), loans.get(req.barcode), overdue_patrons, held_by_others)
        if verdict.state == "applied":
            renewed.append(verdict)
        verdicts.append(verdict)
    _write(ctx, renewed)
    _journal(ctx, renewed, before)
    return verdicts


def _judge(ctx: Context, req: RenewRequest, patron, loan, overdue_patrons, held_by_others) -> Verdict:
    if patron is None:
        return Verdict(req.request_id, "rejected", "unknown_card", None, None)
    if loan is None or loan["patron_id"] != patron.id:
        return Verdict(req.request_id, "rejected", "unknown_loan", patron.id, "renew_refused")
    facts = LoanFacts(**{k: loan[k] for k in LoanFacts.__dataclass_fields__})
    # The patron asked on the day of receipt; judge the loan as it stood then.
    reason, due = judge_renewal(
        ctx.policy, facts,
        asked_on=library_date(req.received_at),
        patron_has_overdue=patron.id in overdue_patrons,
        others_holding=loan["id"] in held_by_others,
        calendar=ctx.calendars.get(loan["branch_id"]),
    )
    if reason:
        return Verdict(req.request_id, "rejected", reason, patron.id, "renew_refused", loan_id=loan["id"])
    assert due is not None, "a renewal that is not refused has its new due date"
    loan["renewals"] += 1
    loan["due_on"] = due
    return Verdict(req.request_id, "applied", None, patron.id, "renew_applied", loan_id=loan["id"],
                   details={"due_on": due.isoformat()})


def _open_loans(ctx: Context, barcodes) -> dict[str, dict]:
    lo, c = schema.loans, schema.copies
    query = select(lo.c.id, lo.c.patron_id, lo.c.due_on, lo.c.renewals, lo.c.inter_library, lo.c.branch_id,
                   c.c.barcode, c.c.title_id).join(c, c.c.id == lo.c.copy_id).with_for_update(of=lo)
    found = {}
    for chunk in db.chunks(sorted(set(barcodes))):
        listed = query.where(db.one_of_indexed(ctx.conn, c.c.barcode, chunk), lo.c.returned_at.is_(None))
        for row in ctx.conn.execute(listed).all():
            found[row.barcode] = dict(row._mapping)
    return found


def _patrons_with_overdue(ctx: Context, patron_ids) -> set[int]:
    lo = schema.loans
    found: set[int] = set()
    for chunk in db.chunks(sorted(patron_ids)):
        query = select(lo.c.patron_id).where(
            db.one_of(ctx.conn, lo.c.patron_id, chunk), overdue_loans(ctx.today)
        ).distinct()
        found.update(ctx.conn.execute(query).scalars())
    return found


def _held_by_others(ctx: Context, loan_ids) -> set[int]:
    """The loans whose title another patron holds (an active hold).

    Asked per loan with EXISTS, which stops at the first other patron's hold, not by
    reading every active hold of the loaned titles (popular titles have hundreds).
    """
    lo, c, h = schema.loans, schema.copies, schema.holds
    others = (
        select(h.c.id)
        .where(h.c.title_id == c.c.title_id, h.c.status.in_(schema.ACTIVE_HOLD_STATUSES), h.c.patron_id != lo.c.patron_id)
        .exists()
    )
    found: set[int] = set()
    for chunk in db.chunks(sorted(loan_ids)):
        query = select(lo.c.id).join(c, c.c.id == lo.c.copy_id).where(db.one_of(ctx.conn, lo.c.id, chunk), others)
        found.update(ctx.conn.execute(query).scalars())
    return found


def _write(ctx: Context, renewed: list[Verdict]) -> None:
    if renewed:
        lo = schema.loans
        stmt = (
            lo.update()
            .where(lo.c.id == bindparam("loan"), lo.c.returned_at.is_(None))
            .values(due_on=bindparam("due"), renewals=lo.c.renewals + 1)
        )
        ctx.conn.execute(stmt, [{"loan": v.loan_id, "due": _new_due(v)} for v in renewed])


def _new_due(renewed: Verdict) -> dt.date:
    assert renewed.details is not None, "an applied renewal says its new due date"
    return dt.date.fromisoformat(renewed.details["due_on"])


def _journal(ctx: Context, renewed: list[Verdict], before: dict) -> None:
    """Each renewal's new due date and count go into the journal for the ILS."""
    entries, state = [], dict(before)
    for v in renewed:
        due, count = state[v.loan_id]
        new_due = _new_due(v)
        entries.append((v.patron_id, v.loan_id, due, count, new_due))
        state[v.loan_id] = (new_due, count + 1)
    record_changes(ctx.conn, renewal_changes(entries), at=ctx.now, actor="batch", run_id=ctx.run_id)
