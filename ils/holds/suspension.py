"""Suspending a hold (予約の一時停止) and its not-needed-after date (有効期限): the rules, the changes, and the night's resume and lapse.

A suspended hold keeps its queue columns, so it keeps its place; allocation, the trap at
check-in and the series gate look for `waiting` holds, so they go round it. It still counts
toward the hold limit (it is in lifecycle.ACTIVE). It resumes (→ waiting) when the patron or
staff ask, or in the night on its `suspended_until` day; the series gate may then put it
back to 準備中. A hold still waiting (waiting, 準備中, suspended) after its `not_needed_after`
day lapses in the night: cancelled, close_reason `not_needed_after`, the patron told.

The rules are pure functions returning a reason code (data/words/*.toml [reasons]); the
batch's request step (batch/s08_suspend.py) and the staff's commands judge by the same ones.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from ils.errors import IlsError
from ils.frontend.reasons import reason
from ils.holds import lifecycle
from ils.holds.history import Notice, later_volume_titles, queue_titles, record_notices
from ils.holds.lifecycle import Event
from ils.holds.lifecycle import HoldStatus as S
from ils.holds.lifecycle.store import Move, move_holds
from ils.holds.series import apply_gates
from ils.infra import schema
from ils.infra.audit import audit
from ils.infra.context import Context
from ils.infra.i18n import _
from ils.library.staff import require

log = logging.getLogger(__name__)

# Holds that still wait for a copy: these may be suspended (QUEUED) and may lapse (all three).
STILL_WAITING: tuple[str, ...] = (*lifecycle.QUEUED, S.SUSPENDED.value)
LAPSE_REASON = "not_needed_after"  # holds.close_reason of a lapsed hold


class SuspensionRefused(IlsError):
    """A suspend, resume or not-needed-after change that does not apply to this hold; nothing was written."""

    code = "suspension_refused"

    def __init__(self, message: str, reason_code: str):
        self.reason = reason_code
        super().__init__(message)


# The rules: each returns a reason code, or None when the change applies -------------------


def why_not_suspend(status: str, until: dt.date | None, today: dt.date) -> str | None:
    """A hold may be suspended while it waits for a copy (予約中, 準備中), until a day after today or indefinitely."""
    if status not in lifecycle.ACTIVE:
        return "already_closed"
    if status == S.SUSPENDED:
        return "already_suspended"
    if status not in lifecycle.QUEUED:
        return "suspend_too_late"  # a copy is already being prepared for it
    if until is not None and until <= today:
        return "date_in_past"
    return None


def why_not_resume(status: str) -> str | None:
    """Only a suspended hold resumes."""
    if status not in lifecycle.ACTIVE:
        return "already_closed"
    if status != S.SUSPENDED:
        return "not_suspended"
    return None


def why_not_not_needed_after(status: str, day: dt.date | None, today: dt.date) -> str | None:
    """A still-waiting hold may be given a not-needed-after day of today or later, or have it cleared (None)."""
    if status not in lifecycle.ACTIVE:
        return "already_closed"
    if status not in STILL_WAITING:
        return "not_needed_after_too_late"  # a copy is already on its way: the pickup deadline rules now
    if day is not None and day < today:
        return "date_in_past"
    return None


# The changes, set-based: the batch step passes a night's worth, a staff command one ---------


@dataclass(frozen=True)
class Change:
    """One hold to change: its row as read (id, patron_id, title_id, status, series_group) and the new date."""

    hold: dict
    day: dt.date | None
    note: str


def write_suspensions(ctx: Context, changes: list[Change], *, actor: str) -> None:
    """The holds become suspended until their day (None: until resumed); their queue columns stay.
    A hold already suspended (resumed and suspended again by the night's requests) only takes
    its new day, with a history row of its own that says which request set it."""
    if not changes:
        return
    move_holds(
        ctx.conn, Event.SUSPEND,
        [Move(c.hold["id"], c.hold["status"], S.SUSPENDED, c.note, {"until": c.day}, c.hold["patron_id"])
         for c in changes],
        values={"suspended_until": bindparam("until")}, at=ctx.now, run_id=ctx.run_id, actor=actor,
        conflict=_("a hold changed while it was being suspended; nothing was changed"),
    )
    # The next hold in the queue may now be served (a copy held back for a closed shelf...).
    queue_titles(ctx.conn, {c.hold["title_id"] for c in changes if c.hold["status"] != S.SUSPENDED})


def write_resumptions(ctx: Context, changes: list[Change], *, actor: str) -> None:
    """The holds wait again, in the place they kept; a later volume goes back to 準備中 if an earlier one still waits."""
    if not changes:
        return
    move_holds(
        ctx.conn, Event.RESUME,
        [Move(c.hold["id"], S.SUSPENDED, S.WAITING, c.note, patron_id=c.hold["patron_id"]) for c in changes],
        values={"suspended_until": None}, at=ctx.now, run_id=ctx.run_id, actor=actor,
        conflict=_("a hold changed while it was being resumed; nothing was changed"),
    )
    series_titles = sorted({c.hold["title_id"] for c in changes if c.hold["series_group"] is not None})
    if series_titles:
        apply_gates(ctx, series_titles, actor=actor)
    queue_titles(ctx.conn, {c.hold["title_id"] for c in changes})


def write_not_needed_after(ctx: Context, changes: list[Change], *, actor: str) -> None:
    """Each hold's not-needed-after day (None clears it). The status stays; the change is a
    transition of its own (not_needed_after), so the hold's history says who set it and why.
    The statuses are read again first: the night's resumptions, written just before, may
    have moved a later volume back to 準備中."""
    if not changes:
        return
    h = schema.holds
    now = dict(ctx.conn.execute(select(h.c.id, h.c.status).where(h.c.id.in_([c.hold["id"] for c in changes]))).all())
    move_holds(
        ctx.conn, Event.NOT_NEEDED_AFTER,
        [Move(c.hold["id"], now[c.hold["id"]], now[c.hold["id"]], c.note, {"day": c.day}, c.hold["patron_id"])
         for c in changes if now.get(c.hold["id"]) in STILL_WAITING],
        values={"not_needed_after": bindparam("day")}, at=ctx.now, run_id=ctx.run_id, actor=actor,
        conflict=_("a hold changed while its not-needed-after date was being set; nothing was changed"),
    )


# The night ------------------------------------------------------------------------------


def lapse_due(ctx: Context) -> int:
    """Holds still waiting after their not-needed-after day are cancelled, and their patrons told.

    One read, one set of moves. No index holds the day, so a night with none to lapse still
    reads the holds: a plain scan of the table, which on SQLite measured half the time of the
    status index's look-ups of every waiting hold (city: 22 ms, not 50). The status is
    compared as `status || ''` so that SQLite does not take the index for it.
    """
    h = schema.holds
    query = (
        select(h.c.id, h.c.patron_id, h.c.title_id, h.c.status, h.c.not_needed_after)
        .where(h.c.not_needed_after < ctx.today, h.c.status.concat("").in_(STILL_WAITING))
        .order_by(h.c.not_needed_after, h.c.id)
        .with_for_update(skip_locked=True)
    )
    due = ctx.conn.execute(query).all()
    if not due:
        return 0
    move_holds(
        ctx.conn, Event.LAPSE,
        [Move(row.id, row.status, S.CANCELLED, f"not needed after {row.not_needed_after}", patron_id=row.patron_id)
         for row in due],
        values={"closed_at": ctx.now, "close_reason": LAPSE_REASON}, at=ctx.now, run_id=ctx.run_id, actor="batch",
    )
    record_notices(
        ctx.conn,
        [Notice(row.patron_id, "hold_lapsed", f"lapsed:{row.id}", hold_id=row.id,
                details={"not_needed_after": row.not_needed_after.isoformat()}) for row in due],
        at=ctx.now, run_id=ctx.run_id,
    )
    # A lapsed earlier volume opens the gate of the volumes after it, as a cancelled one does.
    queue_titles(ctx.conn, later_volume_titles(ctx.conn, [row.id for row in due]))
    return len(due)


def resume_due(ctx: Context) -> int:
    """Suspended holds whose day has come wait again (the status index finds them: free when none is suspended)."""
    h = schema.holds
    query = (
        select(h.c.id, h.c.patron_id, h.c.title_id, h.c.status, h.c.series_group, h.c.suspended_until)
        .where(h.c.status == S.SUSPENDED, h.c.suspended_until <= ctx.today)
        .order_by(h.c.id)
        .with_for_update(skip_locked=True)
    )
    due = ctx.conn.execute(query).all()
    write_resumptions(ctx, [Change(dict(row._mapping), None, f"suspended until {row.suspended_until}") for row in due],
                      actor="batch")
    return len(due)


# Staff, for the patron who asked (audited) ------------------------------------------------


def _hold(ctx: Context, hold_id: int) -> dict:
    h = schema.holds
    row = ctx.conn.execute(
        select(h.c.id, h.c.patron_id, h.c.title_id, h.c.status, h.c.series_group, h.c.suspended_until,
               h.c.not_needed_after).where(h.c.id == hold_id).with_for_update(nowait=True)
    ).first()
    if row is None:
        raise IlsError(_("no hold {hold_id}").format(hold_id=hold_id))
    return dict(row._mapping)


def _refuse(hold_id: int, code: str | None) -> None:
    if code is not None:
        raise SuspensionRefused(_("hold {hold_id}: {text}").format(hold_id=hold_id, text=reason(code).en), code)


def _need_reason(why: str | None) -> str:
    given = (why or "").strip()
    if not given:
        raise IlsError(_("staff acting for a patron give --reason (it is written to the audit log)"))
    return given


def suspend_hold(ctx: Context, hold_id: int, *, staff: str, why: str | None, until: dt.date | None = None) -> dict:
    """Suspend a waiting hold for the patron who asked, until `until` (it resumes that night) or until resumed."""
    why = _need_reason(why)
    with ctx.writing():
        require(ctx.conn, staff, "hold_suspend")
        hold = _hold(ctx, hold_id)
        _refuse(hold_id, why_not_suspend(hold["status"], until, ctx.today))
        write_suspensions(ctx, [Change(hold, until, f"suspended by staff: {why}")], actor=staff)
        audit(ctx, staff, "hold_suspend", hold["patron_id"], target=str(hold_id), reason=why,
              detail={"was": hold["status"], "until": until.isoformat() if until else None})
    return {"hold": hold_id, "was": hold["status"], "now": S.SUSPENDED.value, "suspended_until": until}


def resume_hold(ctx: Context, hold_id: int, *, staff: str, why: str | None = None) -> dict:
    """Resume a suspended hold now: it waits again in its place (or 準備中 behind an earlier volume)."""
    with ctx.writing():
        require(ctx.conn, staff, "hold_resume")
        hold = _hold(ctx, hold_id)
        _refuse(hold_id, why_not_resume(hold["status"]))
        write_resumptions(ctx, [Change(hold, None, f"resumed by staff{': ' + why if why else ''}")], actor=staff)
        now = ctx.conn.execute(select(schema.holds.c.status).where(schema.holds.c.id == hold_id)).scalar_one()
        audit(ctx, staff, "hold_resume", hold["patron_id"], target=str(hold_id), reason=why,
              detail={"suspended_until": hold["suspended_until"].isoformat() if hold["suspended_until"] else None})
    return {"hold": hold_id, "was": S.SUSPENDED.value, "now": now}


def set_not_needed_after(ctx: Context, hold_id: int, day: dt.date | None, *, staff: str, why: str | None) -> dict:
    """Set (or with None clear) the day after which the hold, if it still waits, lapses in the night."""
    why = _need_reason(why)
    with ctx.writing():
        require(ctx.conn, staff, "hold_not_needed_after")
        hold = _hold(ctx, hold_id)
        _refuse(hold_id, why_not_not_needed_after(hold["status"], day, ctx.today))
        write_not_needed_after(ctx, [Change(hold, day, why)], actor=staff)
        audit(ctx, staff, "hold_not_needed_after", hold["patron_id"], target=str(hold_id), reason=why,
              detail={"was": hold["not_needed_after"].isoformat() if hold["not_needed_after"] else None,
                      "now": day.isoformat() if day else None})
    return {"hold": hold_id, "status": hold["status"], "not_needed_after": day}


def not_needed_after_rows(hold_rows: list[dict], day: dt.date, today: dt.date) -> list[dict]:
    """For hold requests keyed with a not-needed-after day: one `not_needed_after` request per title,
    naming the hold the night will have made (`bib:BIB_ID@DAY`; the suspend step runs after acceptance)."""
    check_not_needed_after(day, today)
    return [{**{k: v for k, v in row.items() if k in ("card_number", "channel", "received_at")},
             "kind": "not_needed_after", "target": f"bib:{row['target']}@{day.isoformat()}"} for row in hold_rows]


def check_not_needed_after(day: dt.date | None, today: dt.date) -> None:
    """For a hold placed now with a not-needed-after day: refused if the day is past."""
    if day is not None and day < today:
        raise SuspensionRefused(_("not needed after {day}: {text}").format(day=day, text=reason("date_in_past").en),
                                "date_in_past")

