"""The counter's circulation events: check out, check in, pull confirmed or missing, transit received, reshelve."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ils.circulation.slips import transit_slip
from ils.errors import Conflict, CopyUnavailable, IlsError, PatronBlocked, ReadyNoticeUnsent, UnknownCopy
from ils.holds import lifecycle
from ils.holds.facts import patron_by_card
from ils.holds.history import ReadyHold, later_volume_titles, make_ready, queue_titles
from ils.holds.lifecycle import Event, queue_order
from ils.holds.lifecycle import HoldStatus as S
from ils.holds.lifecycle.store import Move, move_holds
from ils.holds.series import apply_gates
from ils.infra import schema
from ils.infra.audit import audit
from ils.infra.context import Context
from ils.infra.i18n import _


@dataclass(frozen=True)
class Outcome:
    """What the counter screen (and the slip printer) says after one scan."""

    action: str
    barcode: str
    title: str
    message: str
    hold_id: int | None = None
    slip: str | None = None  # 回送票: where the copy travels, and for whom
    due_on: dt.date | None = None
    pickup_deadline: dt.date | None = None

    def as_row(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


# Every row a scan changes is read FOR UPDATE NOWAIT (a no-op on SQLite, whose writers
# queue on the database lock): on PostgreSQL a row the batch is allocating makes the
# scan fail at once with Conflict (Context.writing) instead of waiting for the step.


def _copy(ctx: Context, barcode: str):
    c, t = schema.copies, schema.titles
    row = ctx.conn.execute(
        select(c.c.id, c.c.barcode, c.c.title_id, c.c.state, c.c.location_branch_id, c.c.owning_branch_id, t.c.title)
        .join(t, t.c.id == c.c.title_id)
        .where(c.c.barcode == barcode.strip())
        .with_for_update(of=c, nowait=True)
    ).first()
    if row is None:
        raise UnknownCopy(_("no copy with barcode {barcode!r}").format(barcode=barcode))
    return row


def _hold_on_copy(ctx: Context, copy_id: int):
    h, p = schema.holds, schema.patrons
    return ctx.conn.execute(
        select(h, p.c.card_number)
        .join(p, p.c.id == h.c.patron_id)
        .where(h.c.copy_id == copy_id, h.c.status.in_(lifecycle.WITH_COPY))
        .with_for_update(of=h, nowait=True)
    ).first()


def _first_waiting_hold(ctx: Context, title_id: int):
    h = schema.holds
    return ctx.conn.execute(
        select(h)
        .where(h.c.title_id == title_id, h.c.status == S.WAITING)
        .order_by(*queue_order(h))
        .limit(1)
        .with_for_update(nowait=True)
    ).first()


def branch_name(ctx: Context, branch_id: int) -> str:
    b = schema.branches
    return ctx.conn.execute(select(b.c.name).where(b.c.id == branch_id)).scalar_one()


def _set_copy(ctx: Context, copy, *, expect: str | None = None, **values) -> None:
    c = schema.copies
    query = c.update().where(c.c.id == copy.id, c.c.state == (expect or copy.state)).values(**values)
    if ctx.conn.execute(query).rowcount != 1:
        raise Conflict(_("copy {barcode} changed while this was being done; scan it again").format(barcode=copy.barcode))


def _set_hold(ctx: Context, hold, event: Event, to_status: str, note: str, actor: str, **values) -> None:
    move_holds(ctx.conn, event, [Move(hold.id, hold.status, to_status, note)], values=values, at=ctx.now, run_id=None,
               actor=actor, conflict=f"hold {hold.id} changed while this was being done; try again")


def _ready(ctx: Context, event: Event, hold, copy, actor: str, note: str) -> dt.date:
    ready = ReadyHold(hold.id, hold.patron_id, copy.id, hold.pickup_branch_id, hold.contact_method, hold.status)
    return make_ready(ctx, event, [ready], actor=actor, note=note)[hold.id]


def _send(ctx: Context, event: Event, hold, copy, branch_id: int, actor: str, note: str) -> Outcome:
    """The copy leaves for the hold's pickup branch (他館確保 / 取寄中), with a slip line."""
    _set_hold(ctx, hold, event, S.IN_TRANSIT, note, actor, copy_id=copy.id, allocated_at=hold.allocated_at or ctx.now)
    _set_copy(ctx, copy, state="in_transit", location_branch_id=branch_id)
    to = branch_name(ctx, hold.pickup_branch_id)
    return Outcome("in_transit", copy.barcode, copy.title, _("send to {to} for hold {hold}").format(to=to, hold=hold.id), hold.id,
                   slip=transit_slip(to, hold.id, copy.barcode, copy.title))


def _serve_or_shelve(ctx: Context, copy, branch_id: int, actor: str) -> Outcome:
    """A copy free at this branch: caught for the first waiting hold, else shelved or sent home."""
    hold = _first_waiting_hold(ctx, copy.title_id)
    if hold is not None and hold.pickup_branch_id == branch_id:
        deadline = _ready(ctx, Event.TRAP, hold, copy, actor, "caught at check-in")
        return Outcome("hold_shelf", copy.barcode, copy.title, _("put on the hold shelf for hold {hold}").format(hold=hold.id),
                       hold.id, pickup_deadline=deadline)
    if hold is not None:
        return _send(ctx, Event.TRAP, hold, copy, branch_id, actor, "caught at check-in")
    if copy.owning_branch_id != branch_id:
        _set_copy(ctx, copy, state="in_transit", location_branch_id=branch_id)
        home = branch_name(ctx, copy.owning_branch_id)
        return Outcome("return_home", copy.barcode, copy.title, _("send back to {home}").format(home=home),
                       slip=transit_slip(home, None, copy.barcode, copy.title))
    _set_copy(ctx, copy, state="on_shelf", location_branch_id=branch_id)
    return Outcome("reshelve", copy.barcode, copy.title, _("put back on the shelf"))


def check_in(ctx: Context, barcode: str, branch_id: int, staff: str) -> Outcome:
    """A returned copy (返却): the loan ends, and the copy serves the first waiting hold on its title."""
    with ctx.writing():
        copy = _copy(ctx, barcode)
        lo = schema.loans
        ctx.conn.execute(lo.update().where(lo.c.copy_id == copy.id, lo.c.returned_at.is_(None)).values(returned_at=ctx.now))
        hold = _hold_on_copy(ctx, copy.id)
        if hold is not None:
            return _arrived(ctx, copy, hold, branch_id, staff)
        outcome = _serve_or_shelve(ctx, copy, branch_id, staff)
        if copy.state in ("missing", "long_overdue"):
            outcome = Outcome(**{**outcome.__dict__, "message": _("found again ({state}); {message}").format(state=copy.state, message=outcome.message)})
        return outcome


def _arrived(ctx: Context, copy, hold, branch_id: int, actor: str) -> Outcome:
    """A copy that already serves a hold was scanned at `branch_id`."""
    if hold.status == S.ALLOCATED:
        return _pulled(ctx, copy, hold, branch_id, actor)
    if hold.pickup_branch_id != branch_id:
        to = branch_name(ctx, hold.pickup_branch_id)
        return Outcome("in_transit", copy.barcode, copy.title, _("on its way to {to} for hold {hold}").format(to=to, hold=hold.id), hold.id,
                       slip=transit_slip(to, hold.id, copy.barcode, copy.title))
    if hold.status == S.READY:
        return Outcome("hold_shelf", copy.barcode, copy.title, _("already on the hold shelf for hold {hold}").format(hold=hold.id),
                       hold.id, pickup_deadline=hold.pickup_deadline)
    deadline = _ready(ctx, Event.TRANSIT_RECEIVED, hold, copy, actor, "transit received")
    return Outcome("hold_shelf", copy.barcode, copy.title, _("put on the hold shelf for hold {hold}").format(hold=hold.id), hold.id,
                   pickup_deadline=deadline)


def receive_transit(ctx: Context, barcode: str, branch_id: int, staff: str) -> Outcome:
    """A copy off the van (回送受取): ready at its pickup branch, or back home on the shelf."""
    with ctx.writing():
        copy = _copy(ctx, barcode)
        if copy.state != "in_transit":
            raise CopyUnavailable(_("copy {barcode} is not in transit (it is {state})").format(barcode=copy.barcode, state=copy.state))
        hold = _hold_on_copy(ctx, copy.id)
        if hold is not None:
            if hold.pickup_branch_id != branch_id:
                raise CopyUnavailable(
                    _("copy {barcode} travels to {branch} for hold {id}, not here").format(barcode=copy.barcode, branch=branch_name(ctx, hold.pickup_branch_id), id=hold.id)
                )
            return _arrived(ctx, copy, hold, branch_id, staff)
        # Travelling home, or its hold was cancelled on the way: whoever receives it
        # serves the queue, shelves it, or sends it on home.
        return _serve_or_shelve(ctx, copy, branch_id, staff)


def _pulled(ctx: Context, copy, hold, branch_id: int, actor: str) -> Outcome:
    if copy.location_branch_id != branch_id:
        raise CopyUnavailable(_("copy {barcode} is on the pull list of {branch}").format(barcode=copy.barcode, branch=branch_name(ctx, copy.location_branch_id)))
    if hold.pickup_branch_id == branch_id:
        deadline = _ready(ctx, Event.PULL_CONFIRMED, hold, copy, actor, "pulled from the shelf")
        return Outcome("hold_shelf", copy.barcode, copy.title, _("put on the hold shelf for hold {hold}").format(hold=hold.id), hold.id,
                       pickup_deadline=deadline)
    return _send(ctx, Event.PULL_CONFIRMED, hold, copy, branch_id, actor, "pulled from the shelf")


def _on_pull_list(ctx: Context, barcode: str):
    """The copy and the hold it is allocated to, or CopyUnavailable if it is on no pull list."""
    copy = _copy(ctx, barcode)
    hold = _hold_on_copy(ctx, copy.id)
    if hold is None or hold.status != S.ALLOCATED:
        raise CopyUnavailable(_("copy {barcode} is not on a pull list").format(barcode=copy.barcode))
    return copy, hold


def confirm_pull(ctx: Context, barcode: str, branch_id: int, staff: str) -> Outcome:
    """Staff took a copy on the pull list (資料確保リスト) off the shelf: ready here, or into the van."""
    with ctx.writing():
        copy, hold = _on_pull_list(ctx, barcode)
        return _pulled(ctx, copy, hold, branch_id, staff)


def report_missing(ctx: Context, barcode: str, branch_id: int, staff: str) -> Outcome:
    """A copy on the pull list is not on the shelf: it is marked missing and its hold queues again."""
    with ctx.writing():
        copy, hold = _on_pull_list(ctx, barcode)
        _set_hold(ctx, hold, Event.PULL_MISSING, S.WAITING, "copy not found on the shelf", staff, copy_id=None,
                  allocated_at=None)
        _set_copy(ctx, copy, state="missing")
        queue_titles(ctx.conn, [copy.title_id])
        return Outcome("missing", copy.barcode, copy.title, _("marked missing; hold {hold} waits for another copy").format(hold=hold.id),
                       hold.id)


def reshelve(ctx: Context, barcode: str, branch_id: int, staff: str) -> Outcome:
    """A copy left on the hold shelf by an expired or cancelled hold goes back (or home)."""
    with ctx.writing():
        copy = _copy(ctx, barcode)
        if copy.state != "on_hold_shelf" or _hold_on_copy(ctx, copy.id) is not None:
            raise CopyUnavailable(_("copy {barcode} is not a free copy on the hold shelf").format(barcode=copy.barcode))
        return _serve_or_shelve(ctx, copy, branch_id, staff)


# Rules of lending staff may set aside, with a reason that goes to the audit log.
CHECKOUT_OVERRIDABLE = frozenset({"ready_notice_unsent"})


def check_out(ctx: Context, card: str, barcode: str, branch_id: int, staff: str, *,
              overrides: frozenset[str] = frozenset(), override_reason: str | None = None) -> Outcome:
    """Lend a copy (貸出). A copy on the hold shelf goes only to its patron, and where the
    profile says so only once its ready mail has gone; a copy on a pull list may go to a
    walk-in, and its hold goes back in the queue (seed 000: 来館者優先)."""
    _check_overrides(overrides, override_reason)
    with ctx.writing():
        patron = patron_by_card(ctx.conn, card)
        if patron.status != "active":
            raise PatronBlocked(_("card {card_number} is {status}").format(card_number=patron.card_number, status=patron.status))
        copy = _copy(ctx, barcode)
        if copy.state in ("on_loan", "in_transit", "missing", "long_overdue", "withdrawn"):
            raise CopyUnavailable(_("copy {barcode} is {state}; check it in first").format(barcode=copy.barcode, state=copy.state))
        _mail_before_lending(ctx, patron, copy, staff, overrides, override_reason)
        notes = _release_for(ctx, patron, copy, staff)
        due = _lend(ctx, patron, copy, branch_id)
        return Outcome("checked_out", copy.barcode, copy.title, "; ".join([_("lent"), *notes]), due_on=due)


def _check_overrides(overrides: frozenset[str], override_reason: str | None) -> None:
    unknown = set(overrides) - CHECKOUT_OVERRIDABLE
    if unknown:
        raise IlsError(_("cannot override {unknown}; overridable: {overridable}").format(unknown=', '.join(sorted(unknown)), overridable=', '.join(sorted(CHECKOUT_OVERRIDABLE))))
    if overrides and not (override_reason or "").strip():
        raise IlsError(_("an override needs --reason (it is written to the audit log)"))


def _mail_before_lending(ctx: Context, patron, copy, staff: str, overrides, override_reason) -> None:
    """Seed 003: 資料の貸出は、資料用意のおしらせ送信後となります — refuse a ready copy whose
    ready mail is still to go, unless staff override it (audited)."""
    if not ctx.policy.loans.lend_after_ready_mail:
        return
    bound = _hold_on_copy(ctx, copy.id)
    if bound is None or bound.patron_id != patron.id or bound.status != S.READY:
        return
    if (bound.contact_method or patron.contact_method) != "email" or not _ready_mail_waiting(ctx, bound.id):
        return  # told by phone or not at all: there is no mail to wait for
    if "ready_notice_unsent" not in overrides:
        raise ReadyNoticeUnsent(
            _("copy {barcode} is ready for hold {id}, but its ready mail (用意ができました) has not been sent "
              "yet; the library lends only after it (資料の貸出は、資料用意のおしらせ送信後). Staff may lend it with "
              "--override ready_notice_unsent --reason TEXT").format(barcode=copy.barcode, id=bound.id)
        )
    audit(ctx, staff, "checkout_override", patron.id, target=copy.barcode, reason=override_reason,
          detail={"rule": "ready_notice_unsent", "hold_id": bound.id})


def _ready_mail_waiting(ctx: Context, hold_id: int) -> bool:
    """Whether the hold's latest ready notice is a mail not yet sent: not yet rendered, or in
    the outbox unsent. A notice by phone, with no contact, or to a problem address has no
    mail to wait for, and neither has a mail that failed for good."""
    e, o = schema.notice_events, schema.mail_outbox
    row = ctx.conn.execute(
        select(e.c.delivery, o.c.state).outerjoin(o, o.c.id == e.c.outbox_id)
        .where(e.c.hold_id == hold_id, e.c.kind == "hold_ready").order_by(e.c.id.desc()).limit(1)
    ).first()
    if row is None:
        return False
    if row.delivery is None:
        return True
    return row.delivery == "mailed" and row.state in ("queued", "sending", "unconfirmed")


def _release_for(ctx: Context, patron, copy, actor: str) -> list[str]:
    """Settle the holds a loan touches: the copy's own hold and the borrower's hold on the title."""
    notes = []
    bound = _hold_on_copy(ctx, copy.id)
    if bound is not None and bound.patron_id != patron.id:
        if bound.status == S.READY:
            raise CopyUnavailable(
                _("copy {barcode} is on the hold shelf for another patron (hold {id}, card {card_number})").format(barcode=copy.barcode, id=bound.id, card_number=bound.card_number)
            )
        _set_hold(ctx, bound, Event.WALK_IN, S.WAITING, "its copy went to a walk-in", actor, copy_id=None,
                  allocated_at=None)
        queue_titles(ctx.conn, [copy.title_id])
        notes.append(_("hold {hold} goes back to the queue").format(hold=bound.id))
    h = schema.holds
    own = ctx.conn.execute(
        select(h).where(h.c.patron_id == patron.id, h.c.title_id == copy.title_id,
                        h.c.status.in_(lifecycle.ACTIVE))
        .with_for_update(nowait=True)
    ).all()
    for hold in own:
        freed = hold.copy_id is not None and hold.copy_id != copy.id
        _set_hold(ctx, hold, Event.CHECK_OUT, S.FULFILLED, f"lent copy {copy.barcode}", actor, closed_at=ctx.now,
                  close_reason="picked_up")
        notes.append(_("hold {hold} collected").format(hold=hold.id))
        if freed:
            queue_titles(ctx.conn, [hold.title_id])
    if own:
        # the gate of the next volume opens once this one is collected (seed 004)
        later = later_volume_titles(ctx.conn, [hold.id for hold in own])
        apply_gates(ctx, sorted(later), actor=actor)
        queue_titles(ctx.conn, later)
    return notes


def _lend(ctx: Context, patron, copy, branch_id: int) -> dt.date:
    rules = ctx.policy.loans
    due = ctx.today + dt.timedelta(days=rules.days)
    if rules.due_on_closed_day == "next_open":
        due = ctx.calendars[branch_id].open_on_or_after(due)
    ctx.conn.execute(schema.loans.insert().values(
        copy_id=copy.id, patron_id=patron.id, branch_id=branch_id, loaned_on=ctx.today, due_on=due))
    _set_copy(ctx, copy, state="on_loan", location_branch_id=branch_id)
    return due
