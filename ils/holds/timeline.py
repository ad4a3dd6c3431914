"""A hold's past as staff read it (`ils hold history`, `ils patron history`): every transition in hold_history, with when, why and who.

hold_history is written by ils.holds.lifecycle.store, one row per move, with the actor
(`batch`, or the staff account at the counter), the batch run and a note. Who did it is
read from those: a batch run, a front end request the batch applied (its note names the
request), a staff account. A hold the ILS already had comes in by `ils import` with no
history row (the ILS keeps its past): it is shown as one `import` row at the time it was
imported, in the status the ILS gave it.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from ils.errors import IlsError
from ils.holds import lifecycle
from ils.holds.facts import patron_by_card
from ils.infra import schema
from ils.infra.context import Context
from ils.infra.i18n import _

COLUMNS = ["at", "hold", "bib_id", "from_status", "to_status", "event", "why", "who"]
IMPORTED = "import"
_REQUEST = re.compile(r"\brequest (\d+)\b")


class UnknownHold(IlsError):
    """No hold has the id."""

    code = "unknown_hold"


def hold_history(ctx: Context, hold_id: int) -> list[dict]:
    """Every transition of one hold, oldest first."""
    h = schema.holds
    if ctx.conn.execute(select(h.c.id).where(h.c.id == hold_id)).first() is None:
        raise UnknownHold(_("no hold {hold_id}").format(hold_id=hold_id))
    return _history(ctx, h.c.id == hold_id)


def patron_history(ctx: Context, card: str) -> list[dict]:
    """Every transition of every hold the patron has had, oldest first."""
    patron = patron_by_card(ctx.conn, card)
    return _history(ctx, schema.holds.c.patron_id == patron.id)


def _history(ctx: Context, which) -> list[dict]:
    h, hh, t = schema.holds, schema.hold_history, schema.titles
    holds = {
        row.id: row for row in ctx.conn.execute(
            select(h.c.id, h.c.status, h.c.created_at, h.c.placed_by, t.c.bib_id)
            .join(t, t.c.id == h.c.title_id).where(which))
    }
    moves = ctx.conn.execute(
        select(hh.c.hold_id, hh.c.at, hh.c.from_status, hh.c.to_status, hh.c.run_id, hh.c.actor, hh.c.note)
        .join(h, h.c.id == hh.c.hold_id).where(which).order_by(hh.c.at, hh.c.id)
    ).all()
    rows = [_imported(holds[i], moves) for i in holds if holds[i].placed_by == IMPORTED]
    rows += [_row(m, holds[m.hold_id].bib_id) for m in moves]
    return sorted(rows, key=lambda r: (r["at"], r["hold"]))


def _row(move, bib_id: str) -> dict:
    return {"at": move.at, "hold": move.hold_id, "bib_id": bib_id, "from_status": move.from_status or "",
            "to_status": move.to_status, "event": event_of(move.from_status, move.to_status, _mover(move.run_id, move.note)),
            "why": move.note or "", "who": who(move.actor, move.run_id, move.note)}


def _imported(hold, moves) -> dict:
    """The row an import stands for: the status the ILS gave it is where its first move started."""
    first = next((m for m in moves if m.hold_id == hold.id), None)
    status = first.from_status if first is not None else hold.status
    return {"at": hold.created_at, "hold": hold.id, "bib_id": hold.bib_id, "from_status": "", "to_status": status,
            "event": str(lifecycle.Event.IMPORT), "why": _("imported from the ILS as it stood"), "who": _("import")}


def who(actor: str | None, run_id: int | None, note: str | None) -> str:
    """Who moved the hold, in words: a batch run, a front end request it applied, a staff account."""
    if run_id is not None:
        request = _REQUEST.search(note or "")
        run = _("batch run {run_id}").format(run_id=run_id)
        return _("front end request {request} ({run})").format(request=request.group(1), run=run) if request else run
    if actor in (None, "", "batch"):
        return _("batch")
    if actor == IMPORTED:
        return _("import")
    return _("staff {staff_id}").format(staff_id=actor)


# Where the transition table has several events for one pair of statuses, who moved the
# hold tells some apart: a cancellation by a front end request, by staff, or by the night
# (a lapsed 有効期限); a copy bound by the night's allocation or caught at the counter.
_MOVED_BY = {
    lifecycle.Event.CANCEL_BY_PATRON: "request", lifecycle.Event.CANCEL_BY_STAFF: "staff",
    lifecycle.Event.LAPSE: "batch", lifecycle.Event.ALLOCATE: "batch", lifecycle.Event.TRAP: "staff",
}


def _mover(run_id: int | None, note: str | None) -> str:
    if run_id is None:
        return "staff"
    return "request" if _REQUEST.search(note or "") else "batch"


def event_of(was: str | None, now: str, mover: str) -> str:
    """The event of a move: the one the transition table names for the pair of statuses, or
    the one of several that this mover (request, batch, staff) makes; else "" (the note says why)."""
    events = {r.event for r in lifecycle.TRANSITIONS if r.was == was and r.now == now
              and r.event != lifecycle.Event.IMPORT}
    if len(events) > 1:
        events = {e for e in events if _MOVED_BY.get(e) == mover}
    return str(events.pop()) if len(events) == 1 else ""
