"""What follows a hold's moves: notices for the patron, titles to allocate again, holds made ready or given another pickup branch (the moves themselves: ils.holds.lifecycle)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from ils.holds import lifecycle
from ils.holds.lifecycle import Event, HoldStatus
from ils.holds.lifecycle.store import Move, move_holds
from ils.holds.pickup import pickup_deadline
from ils.infra import db, schema
from ils.infra.context import Context

# What a patron is told about (the mail step renders these; see docs/notices.md).
NOTICE_KINDS = (
    "hold_accepted",
    "request_rejected",
    "cancel_applied",
    "cancel_refused",
    "renew_applied",
    "renew_refused",
    "email_changed",
    "email_refused",
    "hold_ready",
    "hold_expired",
    "pickup_changed",
    "pickup_change_refused",
    "contact_changed",
    "contact_change_refused",
    "newsletter_changed",
    "newsletter_refused",
    "hold_change_applied",  # a suspend, resume or not-needed-after request (ils/holds/suspension.py)
    "hold_change_refused",
    "hold_lapsed",  # its not-needed-after day (有効期限) passed while it still waited
)


@dataclass(frozen=True)
class Notice:
    """A notice for a patron, recorded once by its dedupe key (a notice_events row)."""

    patron_id: int
    kind: str
    dedupe_key: str
    hold_id: int | None = None
    request_id: int | None = None
    loan_id: int | None = None
    details: dict | None = None


# notice_events' columns in the order record_notices builds its rows.
_NOTICE_COLUMNS = ("patron_id", "kind", "dedupe_key", "hold_id", "request_id", "loan_id", "occurred_at", "run_id",
                   "payload")
# A notice's details as its payload. One encoder for every notice: json.dumps with these
# options builds a new encoder per call, half of its time for a night's small payloads.
_PAYLOAD = json.JSONEncoder(ensure_ascii=False, default=str)


def record_notices(conn: Connection, notices: Iterable[Notice], *, at: dt.datetime, run_id: int | None) -> None:
    """Record what patrons must be told, in the transaction that changed it; a key is recorded once."""
    rows = [
        (n.patron_id, n.kind, n.dedupe_key, n.hold_id, n.request_id, n.loan_id, at, run_id,
         _PAYLOAD.encode(n.details) if n.details else None)
        for n in notices
    ]
    db.insert_rows(conn, schema.notice_events, _NOTICE_COLUMNS, rows, skip_existing=["dedupe_key"])


def queue_titles(conn: Connection, title_ids: Iterable[int]) -> None:
    """Put titles on the allocation to-do list (a copy was freed, a hold added, a gate opened)."""
    rows = [(t,) for t in sorted(set(title_ids))]
    db.insert_rows(conn, schema.allocation_todo, ["title_id"], rows, skip_existing=["title_id"])


def later_volume_titles(conn: Connection, hold_ids: Iterable[int]) -> set[int]:
    """Titles of the later volumes in the series groups of these holds (their gates may open).

    Two index lookups — the groups of the holds that are in one (most are not), then the
    waiting holds of those patrons — and the comparison in Python: a join on the group
    led SQLite to scan every waiting hold for each chunk.
    """
    h = schema.holds
    earliest: dict[tuple, int] = {}
    for chunk in db.chunks(sorted(set(hold_ids))):
        query = select(h.c.patron_id, h.c.series_group, h.c.series_position).where(
            db.one_of(conn, h.c.id, chunk), h.c.series_group.is_not(None)
        )
        for patron_id, group, position in conn.execute(query):
            key = (patron_id, group)
            earliest[key] = min(position, earliest.get(key, position))
    titles: set[int] = set()
    title_id: int  # mypy reads a four-column SQLAlchemy row as Never
    for chunk in db.chunks(sorted({patron for patron, _ in earliest})):
        query = select(h.c.patron_id, h.c.series_group, h.c.series_position, h.c.title_id).where(
            db.one_of(conn, h.c.patron_id, chunk), h.c.series_group.is_not(None), h.c.status.in_(lifecycle.QUEUED)
        )
        for patron_id, group, position, title_id in conn.execute(query):
            if position > earliest.get((patron_id, group), position):
                titles.add(title_id)
    return titles


@dataclass(frozen=True)
class ReadyHold:
    """A hold whose copy is now on its pickup branch's hold shelf."""

    hold_id: int
    patron_id: int
    copy_id: int
    pickup_branch_id: int
    contact_method: str
    from_status: str


def make_ready(ctx: Context, event: Event, holds: list[ReadyHold], *, actor: str, note: str) -> dict[int, dt.date]:
    """The holds become ready (貸出可能) with their pickup deadlines; the copies sit on the
    pickup branch's hold shelf; the patrons are told. Returns the deadline per hold id.

    Every update names the status it expects, so a hold that changed meanwhile (another
    counter, the batch) raises Conflict instead of being overwritten.
    """
    if not holds:
        return {}
    c = schema.copies
    deadlines = {
        r.hold_id: pickup_deadline(ctx.now, r.contact_method, ctx.calendars[r.pickup_branch_id], ctx.policy)
        for r in holds
    }
    move_holds(
        ctx.conn, event,
        [Move(r.hold_id, r.from_status, HoldStatus.READY, note,
              {"copy": r.copy_id, "deadline": deadlines[r.hold_id]}) for r in holds],
        values={"copy_id": bindparam("copy"), "ready_on": ctx.today, "pickup_deadline": bindparam("deadline"),
                "allocated_at": ctx.now},
        at=ctx.now, run_id=ctx.run_id, actor=actor,
        conflict="a hold changed while it was being made ready; nothing was changed",
    )
    ctx.conn.execute(
        c.update().where(c.c.id == bindparam("copy")).values(state="on_hold_shelf", location_branch_id=bindparam("at")),
        [{"copy": r.copy_id, "at": r.pickup_branch_id} for r in holds],
    )
    record_notices(
        ctx.conn,
        [Notice(r.patron_id, "hold_ready", f"ready:{r.hold_id}:{ctx.today}", hold_id=r.hold_id,
                details={"pickup_deadline": deadlines[r.hold_id].isoformat()}) for r in holds],
        at=ctx.now, run_id=ctx.run_id,
    )
    return deadlines


@dataclass(frozen=True)
class PickupChange:
    """A hold to give another pickup branch (受取館の変更), its status unchanged."""

    hold_id: int
    status: str
    title_id: int
    branch_id: int
    note: str


def change_pickups(ctx: Context, changes: list[PickupChange], *, actor: str, conflict: str | None = None) -> None:
    """The holds get their new pickup branches, by the patron's request (the batch) or by staff;
    their titles are allocated again, since the nearest copy depends on the branch."""
    if not changes:
        return
    move_holds(
        ctx.conn, Event.PICKUP_CHANGE,
        [Move(c.hold_id, c.status, c.status, c.note, {"branch": c.branch_id}) for c in changes],
        values={"pickup_branch_id": bindparam("branch")}, at=ctx.now, run_id=ctx.run_id, actor=actor,
        conflict=conflict,
    )
    queue_titles(ctx.conn, {c.title_id for c in changes})
