"""Staff changes to one hold: its pickup branch at any time before pickup (受取館の変更) and its pickup deadline (取置期限の延長).

Each change is one transition through ils.holds.lifecycle.store.move_holds (the staff
account as actor, the reason as note) and one row of the audit log, in one transaction
that starts by checking the account (ils.library.staff.require): a refusal writes nothing.
What a change means for a copy already pulled, travelling or on a hold shelf is written
in docs/counter.md.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from ils.circulation.slips import transit_slip
from ils.errors import Conflict, IlsError
from ils.holds import lifecycle
from ils.holds.acceptance import branch_problem
from ils.holds.facts import branch_facts
from ils.holds.history import Notice, PickupChange, change_pickups, record_notices
from ils.holds.lifecycle import Event
from ils.holds.lifecycle import HoldStatus as S
from ils.holds.lifecycle.store import Move, move_holds
from ils.infra import schema
from ils.infra.audit import audit
from ils.infra.context import Context
from ils.infra.i18n import _
from ils.library.staff import require


class HoldActionRefused(IlsError):
    """Staff asked for a change that does not apply to this hold; nothing was written."""

    code = "hold_action_refused"

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


def _refusals() -> dict[str, str]:
    """What staff read when a change is refused, by reason code, in the staff's language."""
    return {
        "reason_required": _("give --reason: it goes to the hold's history and the audit log"),
        "unknown_hold": _("no hold {hold}"),
        "already_closed": _("hold {hold} is already {status}; only an active hold can be changed"),
        "unknown_pickup": _("no branch has the code {branch!r}"),
        "pickup_not_offered": _("{branch} does not take holds for pickup"),
        "same_pickup": _("hold {hold} is already for pickup at {branch}"),
        "not_ready": _("hold {hold} is {status}: only a ready hold (on the hold shelf) has a pickup deadline to extend"),
        "bad_days": _("--days must be 1 or more"),
        "deadline_in_past": _("{until} is in the past (today is {today})"),
        "deadline_not_later": _("{until} is not after hold {hold}'s pickup deadline {deadline}"),
        "deadline_closed_day": _("{branch} is closed on {until}; its next open day is {next_open}"),
        "past_max_extension": _("{until} is past the longest extension: {days} days after the first deadline "
                                "{first}, that is {limit} ([pickup] max_extension_days)"),
        "copy_not_on_shelf": _("hold {hold}'s copy {barcode} is {state}, not on the hold shelf; check it first"),
    }


def refused(reason: str, **facts) -> HoldActionRefused:
    return HoldActionRefused(reason, _refusals()[reason].format(**facts))


def need_reason(reason: str | None) -> str:
    """The reason staff gave, which the history and the audit log need."""
    text = (reason or "").strip()
    if not text:
        raise refused("reason_required")
    return text


def active_hold(ctx: Context, hold_id: int):
    """The hold, locked, if it is still active; else HoldActionRefused."""
    h = schema.holds
    hold = ctx.conn.execute(select(h).where(h.c.id == hold_id).with_for_update(nowait=True)).first()
    if hold is None:
        raise refused("unknown_hold", hold=hold_id)
    if hold.status not in lifecycle.ACTIVE:
        raise refused("already_closed", hold=hold_id, status=hold.status)
    return hold


def _branch_code(ctx: Context, branch_id: int) -> str:
    b = schema.branches
    return ctx.conn.execute(select(b.c.code).where(b.c.id == branch_id)).scalar_one()


def _changed(hold_id: int) -> str:
    return _("hold {hold} changed while this was being done; try again").format(hold=hold_id)


# Change of pickup branch (受取館の変更) ---------------------------------------------------


def change_pickup(ctx: Context, hold_id: int, code: str, *, staff: str, reason: str | None) -> dict:
    """Staff move a hold's pickup to another branch, in any status before pickup.

    Waiting, 準備中 or suspended: only the branch changes, as by the patron's own change
    (batch/s03_pickup_change.py; ils.holds.history.change_pickups). Allocated: the pull
    stays; pulled, the copy travels to the new branch. In transit: it travels on from the old branch when it gets there
    (ils.circulation.copies.receive_transit). Ready: it leaves the old branch's hold shelf
    in transit, its deadline cleared; it gets a new one, and the patron the ready notice,
    when it arrives.
    """
    with ctx.writing():
        require(ctx.conn, staff, "hold_pickup_change")
        why = need_reason(reason)
        hold = active_hold(ctx, hold_id)
        branch = branch_facts(ctx.conn).get(code.strip())
        problem = branch_problem(branch, ctx.policy)
        if problem:
            raise refused(problem, branch=code)
        assert branch is not None, "branch_problem names an unknown branch"
        if branch.id == hold.pickup_branch_id:
            raise refused("same_pickup", hold=hold_id, branch=branch.code)
        was = _branch_code(ctx, hold.pickup_branch_id)
        result = {"hold": hold.id, "status": hold.status, "was": was, "pickup": branch.code}
        if hold.status == S.READY:
            result |= _send_from_shelf(ctx, hold, branch, staff, why)
        else:
            change_pickups(ctx, [PickupChange(hold.id, hold.status, hold.title_id, branch.id, why)], actor=staff,
                           conflict=_changed(hold.id))
        record_notices(ctx.conn, [Notice(hold.patron_id, "pickup_changed", f"staff-pickup:{hold.id}:{ctx.now.isoformat()}",
                                         hold_id=hold.id, details={"pickup_branch": branch.code})],
                       at=ctx.now, run_id=None)
        audit(ctx, staff, "hold_pickup_change", hold.patron_id, target=str(hold.id), reason=why,
              detail={"hold_id": hold.id, "status": hold.status, "was": was, "now": branch.code})
        return result


def _send_from_shelf(ctx: Context, hold, branch, staff: str, why: str) -> dict:
    """A copy on the old branch's hold shelf goes into the van to the new one, with a slip."""
    c, t, b = schema.copies, schema.titles, schema.branches
    copy = ctx.conn.execute(
        select(c.c.id, c.c.barcode, c.c.state, t.c.title).join(t, t.c.id == c.c.title_id)
        .where(c.c.id == hold.copy_id).with_for_update(of=c, nowait=True)
    ).one()
    if copy.state != "on_hold_shelf":
        raise refused("copy_not_on_shelf", hold=hold.id, barcode=copy.barcode, state=copy.state)
    move_holds(ctx.conn, Event.PICKUP_CHANGE, [Move(hold.id, S.READY, S.IN_TRANSIT, why)],
               values={"pickup_branch_id": branch.id, "pickup_deadline": None, "ready_on": None},
               at=ctx.now, run_id=None, actor=staff, conflict=_changed(hold.id))
    # It leaves from where it lies: location_branch_id stays the old branch until it arrives.
    sent = ctx.conn.execute(c.update().where(c.c.id == copy.id, c.c.state == "on_hold_shelf").values(state="in_transit"))
    if sent.rowcount != 1:
        raise Conflict(_("copy {barcode} changed while this was being done; scan it again").format(barcode=copy.barcode))
    to = ctx.conn.execute(select(b.c.name).where(b.c.id == branch.id)).scalar_one()
    return {"status": str(S.IN_TRANSIT), "barcode": copy.barcode,
            "slip": transit_slip(to, hold.id, copy.barcode, copy.title)}


# Extension of the pickup deadline (取置期限の延長) ------------------------------------------


def extend_deadline(ctx: Context, hold_id: int, *, staff: str, reason: str | None, days: int | None = None,
                    until: dt.date | None = None) -> dict:
    """Staff give a ready hold a later pickup deadline: an open day of the pickup branch, in the
    future, at most [pickup] max_extension_days after the deadline the copy was first given on
    this shelf (extending twice does not stretch the limit)."""
    with ctx.writing():
        require(ctx.conn, staff, "hold_extend")
        why = need_reason(reason)
        hold = active_hold(ctx, hold_id)
        if hold.status != S.READY:
            raise refused("not_ready", hold=hold_id, status=hold.status)
        if days is not None and days < 1:
            raise refused("bad_days")
        # A ready hold the ILS handed over without a deadline counts from today.
        current = hold.pickup_deadline or ctx.today
        new = until if until is not None else current + dt.timedelta(days=days or 0)
        first = first_deadline(ctx, hold) or current
        _check_new_deadline(ctx, hold, new, current, first)
        move_holds(ctx.conn, Event.EXTEND, [Move(hold.id, S.READY, S.READY, why)], values={"pickup_deadline": new},
                   at=ctx.now, run_id=None, actor=staff, conflict=_changed(hold.id))
        audit(ctx, staff, "hold_extend", hold.patron_id, target=str(hold.id), reason=why,
              detail={"hold_id": hold.id, "was": _iso(hold.pickup_deadline), "now": new.isoformat(),
                      "first": first.isoformat(), "ready_on": _iso(hold.ready_on)})
        return {"hold": hold.id, "was": hold.pickup_deadline, "pickup_deadline": new}


def _check_new_deadline(ctx: Context, hold, new: dt.date, current: dt.date, first: dt.date) -> None:
    if new < ctx.today:
        raise refused("deadline_in_past", until=new, today=ctx.today)
    if new <= current:
        raise refused("deadline_not_later", until=new, hold=hold.id, deadline=current)
    calendar = ctx.calendars[hold.pickup_branch_id]
    if not calendar.is_open(new):
        raise refused("deadline_closed_day", branch=_branch_code(ctx, hold.pickup_branch_id), until=new,
                      next_open=calendar.open_on_or_after(new))
    most = ctx.policy.pickup.max_extension_days
    limit = first + dt.timedelta(days=most)
    if new > limit:
        raise refused("past_max_extension", until=new, days=most, first=first, limit=limit)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def first_deadline(ctx: Context, hold) -> dt.date | None:
    """The deadline the copy was given when it came to this hold shelf: the audit log of the
    hold's extensions since it became ready keeps it; with none, the deadline it has."""
    a = schema.staff_audit
    rows = ctx.conn.execute(
        select(a.c.detail).where(a.c.action == "hold_extend", a.c.target == str(hold.id)).order_by(a.c.id)
    ).scalars()
    for detail in rows:
        facts = json.loads(detail or "{}")
        if facts.get("ready_on") == _iso(hold.ready_on) and facts.get("first"):
            return dt.date.fromisoformat(facts["first"])
    return hold.pickup_deadline
