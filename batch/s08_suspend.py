"""Step: suspend and resume holds (予約の一時停止) and set their not-needed-after dates (有効期限) as patrons asked; at night, resume the holds whose day came and lapse those no longer needed."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from ils.frontend.parsing import Unparseable
from ils.frontend.pending import (
    HoldRef,
    StepCounts,
    Verdict,
    hold_of,
    holds_named,
    in_receipt_order,
    patron_refusal,
    patrons_by_card,
    pending_rows,
    read_hold_ref,
    write_verdicts,
)
from ils.holds import suspension
from ils.holds.lifecycle import HoldStatus as S
from ils.infra.context import Context

NAME = "suspend"
INTRADAY = True  # the patrons' requests are served by an intraday run too; resume and lapse wait for the night
IN_DRY_RUN = True

KINDS = ("suspend", "resume", "not_needed_after")
APPLIED, REFUSED = "hold_change_applied", "hold_change_refused"
CLEAR = "none"  # not_needed_after `REF@none` clears the date
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)

log = logging.getLogger(__name__)


def run(ctx: Context) -> dict:
    counts = StepCounts()
    rows = sorted((row for kind in KINDS for row in pending_rows(ctx, kind)), key=lambda row: row.id)
    counts.read = len(rows)
    if rows:
        patrons = patrons_by_card(ctx, [row.card_number for row in rows])
        write_verdicts(ctx, _judge_all(ctx, rows, patrons), counts)
    result = counts.as_dict()
    if ctx.mode == "night":
        # Lapse first: a hold past its not-needed-after day is not resumed to be cancelled.
        result["lapsed"] = suspension.lapse_due(ctx)
        result["resumed"] = suspension.resume_due(ctx)
    log.info("suspend: %d requests read, %s; %s lapsed, %s resumed", counts.read, dict(counts.states),
             result.get("lapsed", 0), result.get("resumed", 0))
    return result


@dataclass(frozen=True)
class Asked:
    """A request's target: the hold it names, and for suspend and not_needed_after the day (None: indefinitely / cleared)."""

    hold_id: int | None
    bib_id: str | None
    day: dt.date | None


def read_target(kind: str, text: str | None) -> Asked:
    """`REF` (suspend indefinitely, resume), `REF@YYYY-MM-DD` (suspend until, not needed after) or
    `REF@none` (not_needed_after: clear it); REF is a hold id or bib:BIB_ID. Unparseable("malformed") otherwise."""
    ref, at_sign, after = (text or "").strip().rpartition("@")
    day_text: str | None = after
    if not at_sign:
        ref, day_text = after, None
    hold_id, bib_id = read_hold_ref(ref)
    if kind == "resume" and day_text is not None:
        raise Unparseable("malformed")
    if kind == "not_needed_after" and day_text is None:
        raise Unparseable("malformed")
    if day_text is None or (kind == "not_needed_after" and day_text == CLEAR):
        return Asked(hold_id, bib_id, None)
    return Asked(hold_id, bib_id, read_day(day_text))


def read_day(text: str) -> dt.date:
    if not _DAY.fullmatch(text):
        raise Unparseable("malformed")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:  # 2026-02-30
        raise Unparseable("malformed") from None


def _judge_all(ctx: Context, rows: list, patrons: dict) -> list[Verdict]:
    verdicts, ordered = in_receipt_order(ctx, rows, patrons, REFUSED, lambda row: read_target(row.kind, row.target))
    refs = [HoldRef(row.id, (row.card_number or "").strip(), received, asked.hold_id, asked.bib_id, row)
            for received, row, asked in ordered]
    days = {row.id: asked.day for _, row, asked in ordered}
    holds = holds_named(ctx, refs, patrons)
    tonight = _Tonight()
    for ref in refs:
        verdicts.append(_judge(ctx, ref, days[ref.request_id], patrons.get(ref.card_number), holds, tonight))
    tonight.write(ctx)
    return verdicts


def _judge(ctx: Context, ref: HoldRef, day: dt.date | None, patron, holds: dict, tonight: "_Tonight") -> Verdict:
    kind = ref.row.kind
    refusal = patron_refusal(ctx, patron, ref.row.channel)
    if refusal:
        return Verdict(ref.request_id, "rejected", refusal, patron.id if patron else None, REFUSED if patron else None)
    hold = hold_of(ref, patron, holds)
    if hold is None:
        return Verdict(ref.request_id, "rejected", "unknown_hold", patron.id, REFUSED)
    why = {
        "suspend": lambda: suspension.why_not_suspend(hold["status"], day, ctx.today),
        "resume": lambda: suspension.why_not_resume(hold["status"]),
        "not_needed_after": lambda: suspension.why_not_not_needed_after(hold["status"], day, ctx.today),
    }[kind]()
    if why:
        return Verdict(ref.request_id, "rejected", why, patron.id, REFUSED, hold_id=hold["id"])
    tonight.apply(kind, hold, day, ref.request_id)
    details = {"change": kind, **({"suspended_until": day.isoformat()} if kind == "suspend" and day else {}),
               **({"not_needed_after": day.isoformat()} if kind == "not_needed_after" and day else {})}
    return Verdict(ref.request_id, "applied", None, patron.id, APPLIED, hold_id=hold["id"], details=details)


class _Tonight:
    """The requests' net effect on each hold, judged one after another in receipt order and written
    together: a hold resumed and suspended again the same night is moved once (or not at all)."""

    def __init__(self) -> None:
        self.was: dict[int, dict] = {}  # hold id -> the hold as read
        self.suspend: dict[int, suspension.Change] = {}
        self.resumed: dict[int, str] = {}
        self.dates: dict[int, suspension.Change] = {}

    def apply(self, kind: str, hold: dict, day: dt.date | None, request_id: int) -> None:
        self.was.setdefault(hold["id"], dict(hold))
        note = f"request {request_id}"
        if kind == "suspend":
            hold["status"] = S.SUSPENDED
            self.suspend[hold["id"]] = suspension.Change(self.was[hold["id"]], day, note)
        elif kind == "resume":
            hold["status"] = S.WAITING
            self.suspend.pop(hold["id"], None)
            self.resumed[hold["id"]] = note
        else:
            self.dates[hold["id"]] = suspension.Change(hold, day, note)

    def write(self, ctx: Context) -> None:
        suspend: list[suspension.Change] = []  # a hold that was suspended and is again keeps it, to its new day
        resume: list[suspension.Change] = []
        for hold_id, was in self.was.items():
            if hold_id in self.suspend:
                suspend.append(self.suspend[hold_id])
            elif hold_id in self.resumed and was["status"] == S.SUSPENDED:
                resume.append(suspension.Change(was, None, self.resumed[hold_id]))
        suspension.write_resumptions(ctx, resume, actor="batch")
        suspension.write_suspensions(ctx, suspend, actor="batch")
        suspension.write_not_needed_after(ctx, list(self.dates.values()), actor="batch")
