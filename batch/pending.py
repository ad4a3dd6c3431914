"""What the request steps share: reading pending rows of a kind, and writing each row's verdict once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select

from ils import db, schema
from ils.context import Context
from ils.holds import Notice, record_notices
from ils.rules import web_ineligible

MAX_CARD_CHARS = 32


@dataclass(frozen=True)
class Verdict:
    """How one pending row was judged, and what its patron is told."""

    request_id: int
    state: str  # accepted, applied or rejected
    reason: str | None = None
    patron_id: int | None = None
    notice: str | None = None
    hold_id: int | None = None
    loan_id: int | None = None
    details: dict | None = None


@dataclass
class StepCounts:
    """What a request step did: rows read, verdicts by state, rejections by reason."""

    read: int = 0
    states: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)

    def add(self, verdict: Verdict) -> None:
        self.states[verdict.state] += 1
        if verdict.reason:
            self.reasons[verdict.reason] += 1

    def as_dict(self) -> dict:
        return {"read": self.read, **dict(sorted(self.states.items())), "rejected_by_reason": dict(sorted(self.reasons.items()))}


def pending_rows(ctx: Context, kind: str) -> list:
    """Rows of one kind still pending and entered by the run's `now`, oldest first.

    A row entered after `now` belongs to a later run, so replaying a missed night with
    --now sees exactly the rows that night would have seen.
    """
    r = schema.pending_requests
    query = (
        select(r)
        .where(r.c.state == "pending", r.c.kind == kind, r.c.entered_at <= ctx.now)
        .order_by(r.c.id)
    )
    return list(ctx.conn.execute(query))


def patrons_by_card(ctx: Context, cards, *, lock: bool = False) -> dict:
    """Patron rows for the card numbers given (blank and over-long cards cannot exist).

    `lock` reads them FOR UPDATE (PostgreSQL), so a counter cannot place a hold for one
    of them until the step commits: the hold limit is counted by one side at a time.
    """
    wanted = sorted({c.strip() for c in cards if c and 0 < len(c.strip()) <= MAX_CARD_CHARS})
    p = schema.patrons
    query = select(p).with_for_update() if lock else select(p)
    found = {}
    for chunk in db.chunks(wanted):
        for row in ctx.conn.execute(query.where(p.c.card_number.in_(chunk))):
            found[row.card_number] = row
    return found


def write_verdicts(ctx: Context, verdicts: list[Verdict], counts: StepCounts) -> None:
    """Mark each row judged, and record the notice its patron gets, in the caller's transaction."""
    if not verdicts:
        return
    r = schema.pending_requests
    stmt = (
        r.update()
        .where(r.c.id == bindparam("rid"), r.c.state == "pending")
        .values(state=bindparam("new_state"), reason=bindparam("why"), processed_at=ctx.now,
                run_id=ctx.run_id, hold_id=bindparam("hid"))
    )
    ctx.conn.execute(
        stmt,
        [{"rid": v.request_id, "new_state": v.state, "why": v.reason, "hid": v.hold_id} for v in verdicts],
    )
    notices = [
        Notice(
            patron_id=v.patron_id,
            kind=v.notice,
            dedupe_key=f"request:{v.request_id}",
            hold_id=v.hold_id,
            request_id=v.request_id,
            loan_id=v.loan_id,
            details=({"reason": v.reason} if v.reason else {}) | (v.details or {}) or None,
        )
        for v in verdicts
        if v.patron_id is not None and v.notice
    ]
    record_notices(ctx.conn, notices, at=ctx.now, run_id=ctx.run_id)
    for v in verdicts:
        counts.add(v)


def reject_unknown_kinds(ctx: Context, counts: StepCounts) -> None:
    """Rows whose kind the batch does not know are rejected, never left pending forever."""
    r = schema.pending_requests
    query = select(r.c.id, r.c.card_number).where(
        r.c.state == "pending",
        r.c.entered_at <= ctx.now,
        (r.c.kind.is_(None)) | (r.c.kind.not_in(schema.REQUEST_KINDS)),
    )
    rows = list(ctx.conn.execute(query))
    counts.read += len(rows)
    patrons = patrons_by_card(ctx, [row.card_number for row in rows])
    verdicts = [
        Verdict(row.id, "rejected", "unknown_kind", patron_id_for(patrons, row.card_number), "request_rejected")
        for row in rows
    ]
    write_verdicts(ctx, verdicts, counts)


def patron_id_for(patrons: dict, card: str | None) -> int | None:
    row = patrons.get((card or "").strip())
    return row.id if row is not None else None


def refuse_ineligible(ctx: Context, rows: list, patrons: dict, notice: str) -> tuple[list[Verdict], list]:
    """Rows from a patron the web service is not for (not enrolled; Kitsuki's 中学生以上) are
    rejected not_eligible, whatever their kind, as hold requests are. A paper form keyed by
    staff is not the web: staff checked the card."""
    refused, kept = [], []
    for row in rows:
        patron = patrons.get((row.card_number or "").strip())
        web = (row.channel or "").strip() != "paper"
        why = patron is not None and web and web_ineligible(
            ctx.policy, web_registered=bool(patron.web_registered), birth_date=patron.birth_date, today=ctx.today)
        if why:
            refused.append(Verdict(row.id, "rejected", why, patron.id, notice))
        else:
            kept.append(row)
    return refused, kept
