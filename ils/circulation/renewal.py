"""Renewing a loan (延長): the profile's conditions and the new due date, for the web and the counter."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ils.circulation.overdue import is_overdue, overdue_loans
from ils.errors import RenewalRefused, UnknownCopy
from ils.exchange.journal import Change, record_changes
from ils.frontend.reasons import reason as reason_text
from ils.infra import schema
from ils.infra.context import Context
from ils.infra.i18n import _
from ils.library.calendar import BranchCalendar
from ils.library.policy import Policy
from ils.library.staff import require


@dataclass(frozen=True)
class LoanFacts:
    """A loan as the renewal rules see it."""

    id: int
    patron_id: int
    title_id: int
    due_on: dt.date
    renewals: int
    inter_library: bool
    branch_id: int | None


def new_due_date(policy: Policy, renewed_on: dt.date, calendar: BranchCalendar | None) -> dt.date:
    """The due date a renewal on `renewed_on` gives (seed 000: 手続きの日から14日間;
    seed 002: 手続きした日から15日目, and the lending branch's closed day may be the due date)."""
    rules = policy.renewal
    due = renewed_on + dt.timedelta(days=rules.due_offset_days)
    if rules.due_on_closed_day == "next_open" and calendar is not None:
        due = calendar.open_on_or_after(due)
    return due


def judge_renewal(
    policy: Policy,
    loan: LoanFacts,
    *,
    asked_on: dt.date,
    patron_has_overdue: bool,
    others_holding: bool,
    calendar: BranchCalendar | None,
) -> tuple[str | None, dt.date | None]:
    """(reason code, None) if the loan may not be renewed, else (None, new due date)."""
    rules = policy.renewal
    if loan.renewals >= rules.max_renewals:
        return "renewed_already", None
    if loan.inter_library and rules.blocked_if_inter_library:
        return "inter_library", None
    if rules.blocked_if_item_overdue and is_overdue(loan.due_on, asked_on):
        return "item_overdue", None
    if rules.blocked_if_patron_overdue and patron_has_overdue:
        return "patron_overdue", None
    if rules.blocked_if_held and others_holding:
        return "held_by_others", None
    due = new_due_date(policy, asked_on, calendar)
    if due <= loan.due_on:
        return "not_extended", None
    return None, due


def renewal_changes(renewed) -> list[Change]:
    """Journal entries for renewals given as (patron id, loan id, old due, old count, new due)."""
    changes = []
    for patron_id, loan_id, old_due, old_count, new_due in renewed:
        changes.append(Change("renewal", patron_id, "due_on", old_due, new_due, loan_id=loan_id))
        changes.append(Change("renewal", patron_id, "renewals", old_count, old_count + 1, loan_id=loan_id))
    return changes


def renew_at_counter(ctx: Context, barcode: str, *, staff: str) -> dict:
    """Renew a loan at the counter (or by phone), by the same rules as a web request, today."""
    lo, c, h = schema.loans, schema.copies, schema.holds
    with ctx.writing():
        require(ctx.conn, staff, "renew")
        row = ctx.conn.execute(
            select(lo.c.id, lo.c.patron_id, c.c.title_id, lo.c.due_on, lo.c.renewals, lo.c.inter_library, lo.c.branch_id)
            .join(c, c.c.id == lo.c.copy_id)
            .where(c.c.barcode == barcode.strip(), lo.c.returned_at.is_(None))
        ).first()
        if row is None:
            raise UnknownCopy(_("no open loan of a copy with barcode {barcode!r}").format(barcode=barcode))
        loan = LoanFacts(**row._mapping)
        overdue = ctx.conn.execute(
            select(lo.c.id).where(lo.c.patron_id == loan.patron_id, overdue_loans(ctx.today))
        ).first() is not None
        others = ctx.conn.execute(
            select(h.c.id).where(h.c.title_id == loan.title_id, h.c.patron_id != loan.patron_id,
                                 h.c.status.in_(schema.ACTIVE_HOLD_STATUSES))
        ).first() is not None
        calendar = ctx.calendars.get(loan.branch_id) if loan.branch_id is not None else None
        why, due = judge_renewal(ctx.policy, loan, asked_on=ctx.today, patron_has_overdue=overdue,
                                 others_holding=others, calendar=calendar)
        if why:
            raise RenewalRefused(_("{barcode}: {en}").format(barcode=barcode, en=reason_text(why).en), why)
        ctx.conn.execute(lo.update().where(lo.c.id == loan.id).values(due_on=due, renewals=loan.renewals + 1))
        record_changes(ctx.conn, renewal_changes([(loan.patron_id, loan.id, loan.due_on, loan.renewals, due)]),
                       at=ctx.now, actor=staff)
        return {"barcode": barcode, "due_on": due, "renewals": loan.renewals + 1, "renewed_by": staff}
