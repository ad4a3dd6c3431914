"""What the request steps share: reading pending rows of a kind in receipt order, and writing each row's verdict once."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import Counter, namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, String, bindparam, extract, select

from ils.frontend.parsing import Unparseable, ascii_number, parse_received_at
from ils.holds.acceptance import web_ineligible
from ils.holds.history import Notice, record_notices
from ils.infra import db, schema
from ils.infra.context import Context

MAX_CARD_CHARS = 32
PATRON_COLUMNS = ("id", "card_number", "status", "birth_date", "web_registered", "email", "phone", "contact_method")
BIB_PREFIX = "bib:"

log = logging.getLogger(__name__)


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


def run_requests(ctx: Context, kind: str, judge: Callable[[Context, list, dict], list["Verdict"]]) -> dict:
    """One request step: the pending rows of `kind` with their patrons go to the step's
    `judge(ctx, rows, patrons)`, which writes what it applies and returns a verdict per row;
    each verdict is written once (with the patron's notice) and counted."""
    counts = StepCounts()
    rows = pending_rows(ctx, kind)
    counts.read = len(rows)
    patrons = patrons_by_card(ctx, [row.card_number for row in rows])
    write_verdicts(ctx, judge(ctx, rows, patrons), counts)
    log.info("%s: %d read, %s", kind, counts.read, dict(counts.states))
    return counts.as_dict()


def in_receipt_order(ctx: Context, rows: list, patrons: dict, refused: str,
                     parse: Callable[[Any], Any] = lambda row: None) -> tuple[list["Verdict"], list[tuple]]:
    """(received_at, row, parse(row)) for each row, oldest receipt first (ties by row id); a row
    whose receipt time or target (`parse` raises Unparseable) cannot be read is rejected
    with the notice `refused`."""
    verdicts, ordered = [], []
    for row in rows:
        try:
            received = parse_received_at(row.received_at, row.entered_at, row.channel, ctx.policy)
            ordered.append((received, row.id, row, parse(row)))
        except Unparseable as exc:
            verdicts.append(Verdict(row.id, "rejected", exc.reason, patron_id_for(patrons, row.card_number), refused))
    ordered.sort(key=lambda item: item[:2])
    return verdicts, [(received, row, parsed) for received, _, row, parsed in ordered]


def pending_rows(ctx: Context, kind: str) -> list:
    """Rows of one kind still pending and entered by the run's `now`, oldest first.

    A row entered after `now` belongs to a later run, so replaying a missed night with
    --now sees exactly the rows that night would have seen. Each row's `entered_at` is an
    instant, or None where the database holds one no datetime can carry (the step then
    rejects the row instead of failing on it).
    """
    r = schema.pending_requests
    # Read as seconds, not as a datetime: the driver would fail the whole read on one
    # -infinity (PostgreSQL) or one unreadable text (SQLite stores anything).
    entered = extract("epoch", r.c.entered_at).label("entered_epoch")
    columns = [column for column in r.c if column.name != "entered_at"]
    query = (
        select(*columns, entered)
        .where(r.c.state == "pending", r.c.kind == kind, entered_by_now(ctx))
        .order_by(r.c.id)
    )
    result = ctx.conn.execute(query)
    row_type = _pending_row_type(tuple(result.keys()))
    return [_with_entry_time(row_type, row) for row in result.all()]


def entered_by_now(ctx: Context):
    """Entered at or before the run's `now`, or at no time the database can count (SQLite)."""
    r = schema.pending_requests
    return (r.c.entered_at <= ctx.now) | extract("epoch", r.c.entered_at).is_(None)


@functools.cache
def _pending_row_type(columns: tuple[str, ...]):
    """A pending row as the steps read it: its columns by name, `entered_at` in place of the epoch."""
    return namedtuple("PendingRow", [name if name != "entered_epoch" else "entered_at" for name in columns])


def _with_entry_time(row_type, row: tuple):
    # A plain tuple per row, not SQLAlchemy's Row and a dict: a night reads tens of thousands.
    *fields, seconds = row
    try:
        entered = dt.datetime.fromtimestamp(float(seconds), dt.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):  # NULL, ±infinity, before year 1
        entered = None
    return row_type(*fields, entered)


def patrons_by_card(ctx: Context, cards, *, lock: bool = False) -> dict:
    """Patron rows for the card numbers given (blank and over-long cards cannot exist).

    `lock` reads them FOR UPDATE (PostgreSQL), so a counter cannot place a hold for one
    of them until the step commits: the hold limit is counted by one side at a time.
    """
    wanted = sorted({c.strip() for c in cards if c and 0 < len(c.strip()) <= MAX_CARD_CHARS})
    p = schema.patrons
    # The columns the request steps and their rules read (ils.holds.acceptance.PatronFacts), not
    # the whole row: a night reads tens of thousands, each with dates and instants to convert.
    columns = [p.c[name] for name in PATRON_COLUMNS]
    query = select(*columns).with_for_update(of=p) if lock else select(*columns)
    card = PATRON_COLUMNS.index("card_number")  # by position: a Row reads a name through __getattr__, ~20x slower
    found: dict[str, Any] = {}
    for chunk in db.chunks(wanted):
        rows = ctx.conn.execute(query.where(db.one_of(ctx.conn, p.c.card_number, chunk))).all()
        found.update((row[card], row) for row in rows)
    return found


def write_verdicts(ctx: Context, verdicts: list[Verdict], counts: StepCounts) -> None:
    """Mark each row judged, and record the notice its patron gets, in the caller's transaction."""
    if not verdicts:
        return
    _mark_judged(ctx, verdicts)
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


def _mark_judged(ctx: Context, verdicts: list[Verdict]) -> None:
    """Each row's state, reason and hold: an accepted row's hold is the one it placed; a row naming a
    hold it did not place (a cancel, a pickup change) gets that one. PostgreSQL: one UPDATE from the
    verdicts bound as arrays, their holds with them (_mark_judged_at_once). SQLite: one UPDATE per
    state, reason and chunk of ids, an accepted row's hold found by the hold's request_id (a set
    statement, where the ids bound row by row would be an executemany), the rows naming a hold one
    by one (an executemany)."""
    if ctx.conn.dialect.name == "postgresql":
        _mark_judged_at_once(ctx, verdicts)
        return
    r, h = schema.pending_requests, schema.holds
    judged = {"processed_at": ctx.now, "run_id": ctx.run_id}
    with_hold = [v for v in verdicts if v.hold_id is not None and v.state != "accepted"]
    if with_hold:
        stmt = (
            r.update()
            .where(r.c.id == bindparam("rid"), r.c.state == "pending")
            .values(state=bindparam("new_state"), reason=bindparam("why"), hold_id=bindparam("hid"), **judged)
        )
        ctx.conn.execute(
            stmt, [{"rid": v.request_id, "new_state": v.state, "why": v.reason, "hid": v.hold_id} for v in with_hold]
        )
    groups: dict[tuple[str, str | None], list[int]] = {}
    for v in verdicts:
        if v.hold_id is None or v.state == "accepted":
            groups.setdefault((v.state, v.reason), []).append(v.request_id)
    placed = select(h.c.id).where(h.c.request_id == r.c.id).scalar_subquery()
    for (state, reason), ids in groups.items():
        hold = placed if state == "accepted" else None
        for chunk in db.chunks(sorted(ids)):
            ctx.conn.execute(r.update().where(db.one_of(ctx.conn, r.c.id, chunk), r.c.state == "pending")
                             .values(state=state, reason=reason, hold_id=hold, **judged))


_VERDICT_COLUMNS = (("request_id", Integer()), ("state", String()), ("reason", String()), ("hold_id", Integer()))


def _mark_judged_at_once(ctx: Context, verdicts: list[Verdict]) -> None:
    """PostgreSQL: every row judged by one UPDATE ... FROM the verdicts (db.unnested). A city's accept
    sent 21 (one per state and reason, each reading the whole table for its ids); a row changed
    meanwhile (no longer pending) is left alone, as there. The verdicts carry each row's hold, an
    accepted row's the one accept placed for it (insert_holds returned its id): looking it up again
    by request_id cost an index probe per accepted row."""
    r = schema.pending_requests
    v = db.unnested("verdicts", _VERDICT_COLUMNS).c
    stmt = (
        r.update()
        .where(r.c.id == v.request_id, r.c.state == "pending")
        .values(state=v.state, reason=v.reason, hold_id=v.hold_id, processed_at=ctx.now, run_id=ctx.run_id)
    )
    rows = [(x.request_id, x.state, x.reason, x.hold_id) for x in verdicts]
    ctx.conn.execute(stmt, db.unnested_rows("verdicts", [name for name, _ in _VERDICT_COLUMNS], rows))


def reject_unknown_kinds(ctx: Context, counts: StepCounts) -> None:
    """Rows whose kind the batch does not know are rejected, never left pending forever."""
    r = schema.pending_requests
    query = select(r.c.id, r.c.card_number).where(
        r.c.state == "pending",
        entered_by_now(ctx),
        (r.c.kind.is_(None)) | (r.c.kind.not_in(schema.REQUEST_KINDS)),
    )
    rows = ctx.conn.execute(query).all()
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


@dataclass(frozen=True)
class HoldRef:
    """A request about one of the patron's holds (cancel, pickup change): a hold id, or bib:BIB_ID."""

    request_id: int
    card_number: str
    received_at: object
    hold_id: int | None
    bib_id: str | None
    row: Any = None  # the pending row (SQLAlchemy's Row reads its columns as attributes)


def parse_hold_refs(ctx: Context, rows, patrons: dict, refused: str) -> tuple[list[Verdict], list[HoldRef]]:
    """The rows' targets as HoldRefs, oldest receipt first (in_receipt_order); a row that
    cannot be read is rejected with the notice `refused`."""
    verdicts, ordered = in_receipt_order(ctx, rows, patrons, refused, _hold_target)
    refs = [HoldRef(row.id, (row.card_number or "").strip(), received, hold_id, bib_id, row)
            for received, row, (hold_id, bib_id) in ordered]
    return verdicts, refs


def _hold_target(row) -> tuple[int | None, str | None]:
    return read_hold_ref(row.target)


def read_hold_ref(text: str | None) -> tuple[int | None, str | None]:
    """(hold id, None) or (None, bib id) from a target `12345` or `bib:BIB_ID`, else Unparseable("malformed")."""
    target = (text or "").strip()
    hold_id = ascii_number(target, digits=18)
    if hold_id is not None:
        return hold_id, None
    if target.startswith(BIB_PREFIX) and 0 < len(target) - len(BIB_PREFIX) <= 32:
        return None, target[len(BIB_PREFIX):]
    raise Unparseable("malformed")


def holds_named(ctx: Context, refs: list[HoldRef], patrons: dict) -> dict:
    """The holds the requests name, by id and by (patron id, bib id), an active one first."""
    h, t = schema.holds, schema.titles
    columns = (h.c.id, h.c.patron_id, h.c.title_id, h.c.status, h.c.copy_id, h.c.series_group,
               h.c.pickup_branch_id, t.c.bib_id)
    # FOR UPDATE (PostgreSQL): a counter scan changing one of these holds right now is
    # waited for, and its result judged, so a hold caught at check-in is not also cancelled.
    base = select(*columns).join(t, t.c.id == h.c.title_id).with_for_update(of=h)
    found: dict = {}
    ids = sorted({r.hold_id for r in refs if r.hold_id is not None})
    for chunk in db.chunks(ids):
        for row in ctx.conn.execute(base.where(db.one_of(ctx.conn, h.c.id, chunk))).all():
            found[row.id] = dict(row._mapping)
    patron_ids = sorted({patrons[r.card_number].id for r in refs if r.bib_id and r.card_number in patrons})
    bibs = {r.bib_id for r in refs if r.bib_id}
    for chunk in db.chunks(patron_ids):
        # The patrons' holds first (their index), the titles named kept in Python: given the
        # bib ids too, SQLite went through every hold on those titles — 35k rows for 2k
        # requests. Only the holds kept are read again, and locked, by id.
        theirs = (select(h.c.id, t.c.bib_id).join(t, t.c.id == h.c.title_id)
                  .where(db.one_of_indexed(ctx.conn, h.c.patron_id, chunk)))
        named = sorted(hold_id for hold_id, bib_id in ctx.conn.execute(theirs).all() if bib_id in bibs)
        for row in _holds_by_id(ctx, base, named):
            found[row.id] = dict(row._mapping)
            key = (row.patron_id, row.bib_id)
            # prefer an active hold over a closed one on the same title
            if key not in found or found[key]["status"] not in schema.ACTIVE_HOLD_STATUSES:
                found[key] = found[row.id]
    return found


def _holds_by_id(ctx: Context, base, ids: list[int]):
    """The rows of `base` for these hold ids, in id order."""
    h = schema.holds
    for chunk in db.chunks(ids):
        yield from ctx.conn.execute(base.where(db.one_of(ctx.conn, h.c.id, chunk)).order_by(h.c.id)).all()


def hold_of(ref: HoldRef, patron, holds: dict) -> dict | None:
    """The patron's hold a request names, or None (no such hold, or another patron's)."""
    hold = holds.get(ref.hold_id) if ref.hold_id is not None else holds.get((patron.id, ref.bib_id))
    return hold if hold is not None and hold["patron_id"] == patron.id else None


def patron_refusal(ctx: Context, patron, channel: str | None) -> str | None:
    """Why a patron may not change anything this way: unknown card, blocked, or the web
    service is not for them (ineligible_for_web)."""
    if patron is None:
        return "unknown_card"
    if patron.status != "active":
        return "patron_blocked"
    return ineligible_for_web(ctx, patron, channel)


def ineligible_for_web(ctx: Context, patron, channel: str | None) -> str | None:
    """not_eligible for a patron the web service is not for (not enrolled; Kitsuki's 中学生以上),
    whatever the request's kind, as for hold requests. A paper form keyed by staff is not the
    web: staff checked the card."""
    if (channel or "").strip() == "paper":
        return None
    return web_ineligible(ctx.policy, web_registered=bool(patron.web_registered), birth_date=patron.birth_date,
                          today=ctx.today)


def refuse_ineligible(ctx: Context, rows: list, patrons: dict, notice: str) -> tuple[list[Verdict], list]:
    """Rows whose patron may not use the web service, rejected (ineligible_for_web); the rest to judge."""
    refused, kept = [], []
    for row in rows:
        patron = patrons.get((row.card_number or "").strip())
        if patron is not None and (why := ineligible_for_web(ctx, patron, row.channel)):
            refused.append(Verdict(row.id, "rejected", why, patron.id, notice))
        else:
            kept.append(row)
    return refused, kept
