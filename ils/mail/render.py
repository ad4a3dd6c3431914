"""Rendering notices: due notices become outbox messages (per item or one digest per patron), once."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from ils.frontend.reasons import REASONS
from ils.holds.history import Notice, record_notices
from ils.infra import db, schema
from ils.infra.context import Context
from ils.library.calendar import BranchCalendar, CalendarRules
from ils.library.send_slots import next_send, upcoming_slot
from ils.mail import compose
from ils.mail.schedule import due_at
from ils.mail.settings import MailSettings
from ils.patrons.addresses import address_problem

# Kinds told about the hold itself, by the contact method chosen for that hold.
HOLD_KINDS = ("hold_ready", "hold_expired")
YES = {"yes", "true", "1", "on"}


@dataclass(frozen=True)
class Due:
    """One notice with what its mail needs, and when the mail goes (None: at once)."""

    event_id: int
    patron_id: int
    kind: str
    address: str  # only a notice that goes by mail is due
    name: str
    language: str
    variables: dict
    send_at: dt.datetime | None = None


def render_due(ctx: Context, settings: MailSettings) -> Counter:
    """Queue the mail that is due now; mark every notice looked at with what became of it."""
    with ctx.writing():
        _record_receipts(ctx)
        return render_notices(ctx, settings, ahead=False)


def render_notices(ctx: Context, settings: MailSettings, *, ahead: bool) -> Counter:
    """Render notices into the outbox, in the caller's transaction: those due now, or with
    `ahead` (the night's render step) those due by the library's next send slot (the
    morning's mail), each message queued for its own send time. A notice is rendered once: it is marked with
    what became of it, and a message's key is refused a second time."""
    counts: Counter = Counter()
    due, routed = _due_notices(ctx, ahead)
    _mark(ctx, routed)
    counts.update(delivery for _, delivery in routed)
    for patron_items in _by_patron(due).values():
        for group in _groups(ctx, patron_items):
            outbox_id = _queue(ctx, settings, group)
            if outbox_id is None:  # rendered before: the events point at that message
                outbox_id = _existing(ctx, group)
            _mark(ctx, [(item.event_id, "mailed") for item in group], outbox_id)
            counts["messages"] += 1
            counts["mailed"] += len(group)
    return counts


def _record_receipts(ctx: Context) -> None:
    """A receipt for each pending request whose patron asked for one (seed 003: 予約内容メールの
    送信, seed 004: 予約確認メールを送信する), where the profile offers it."""
    if not ctx.policy.notices.receipt_mail_offered:
        return
    r, p = schema.pending_requests, schema.patrons
    query = (
        select(r.c.id, r.c.receipt_mail, p.c.id.label("patron_id"))
        .join(p, p.c.card_number == r.c.card_number)
        .where(r.c.state == "pending", r.c.kind == "hold", r.c.entered_at <= ctx.now)
    )
    notices = [
        Notice(row.patron_id, "request_received", f"receipt:{row.id}", request_id=row.id)
        for row in ctx.conn.execute(query)
        if (row.receipt_mail or "").strip().lower() in YES
    ]
    record_notices(ctx.conn, notices, at=ctx.now, run_id=None)


def _due_notices(ctx: Context, ahead: bool) -> tuple[list[Due], list[tuple[int, str]]]:
    """Notices due by now (or, `ahead`, by the library's next send slot) that go by mail, and
    (event, delivery) for those that do not."""
    library = BranchCalendar(CalendarRules.from_policy(ctx.policy.calendar))
    horizon = upcoming_slot(ctx.now, library, ctx.policy) if ahead else ctx.now
    due, routed = [], []
    for row in ctx.conn.execute(_notice_query(ctx)):
        calendar = ctx.calendars.get(row.pickup_branch_id, library) if row.kind in HOLD_KINDS else library
        send_at = due_at(row.kind, row.occurred_at, calendar, ctx.policy, _registered_at(row))
        if send_at > horizon or (ahead and not _closed(ctx, send_at, calendar)):
            continue
        delivery = route(row, ctx)
        if delivery != "mailed":
            routed.append((row.id, delivery))
            continue
        due.append(Due(row.id, row.patron_id, row.kind, row.email, row.name,
                       compose.language_of(row.language), _variables(row, ctx.policy), max(send_at, ctx.now)))
    return due, routed


def _closed(ctx: Context, send_at: dt.datetime, calendar: BranchCalendar) -> bool:
    """Whether nothing that happens from now on can join a digest sent at `send_at`: only then
    is it rendered ahead (Mito: what happens today goes in the digest of the open day after);
    otherwise the mail run renders it whole at its slot. A mail per item is never joined."""
    return ctx.policy.notices.mode != "digest" or send_at < next_send(ctx.now, calendar, ctx.policy)


def _registered_at(row) -> dt.datetime | None:
    """When the patron made the email change this notice confirms (batch/s05_email_change.py records it)."""
    received = json.loads(row.payload).get("received_at") if row.kind == "email_changed" and row.payload else None
    return dt.datetime.fromisoformat(received) if received else None


def _notice_query(ctx: Context):
    e, p, h, r, lo, c = (schema.notice_events, schema.patrons, schema.holds, schema.pending_requests,
                         schema.loans, schema.copies)
    held, asked, lent, b = schema.titles.alias("held"), schema.titles.alias("asked"), schema.titles.alias("lent"), schema.branches
    # The branch a request named, for a request that made no hold (a refused hold request).
    named = schema.branches.alias("named")
    return (
        select(
            e.c.id, e.c.patron_id, e.c.kind, e.c.occurred_at, e.c.payload,
            p.c.name, p.c.email, p.c.contact_method, p.c.language,
            h.c.contact_method.label("hold_contact"), h.c.pickup_branch_id, h.c.pickup_deadline,
            b.c.name.label("pickup"), held.c.title.label("hold_title"),
            b.c.phone.label("pickup_phone"), named.c.name.label("named_branch"), named.c.phone.label("named_phone"),
            r.c.kind.label("request_kind"), asked.c.title.label("asked_title"),
            lo.c.due_on, lent.c.title.label("loan_title"),
        )
        .join(p, p.c.id == e.c.patron_id)
        .outerjoin(h, h.c.id == e.c.hold_id).outerjoin(held, held.c.id == h.c.title_id)
        .outerjoin(b, b.c.id == h.c.pickup_branch_id)
        .outerjoin(r, r.c.id == e.c.request_id).outerjoin(asked, asked.c.bib_id == r.c.target)
        .outerjoin(named, named.c.code == r.c.pickup_branch)
        .outerjoin(lo, lo.c.id == e.c.loan_id).outerjoin(c, c.c.id == lo.c.copy_id)
        .outerjoin(lent, lent.c.id == c.c.title_id)
        .where(e.c.delivery.is_(None), e.c.occurred_at <= ctx.now)
        .order_by(e.c.patron_id, e.c.id)
    )


def route(row, ctx: Context) -> str:
    """mailed, or why not: phone (the branch's phone list), none, problem, not_mailed."""
    notices = ctx.policy.notices
    if row.kind == "hold_accepted" and not notices.accepted_mail:
        return "not_mailed"
    if row.kind == "email_changed" and notices.email_registered_mail == "none":
        return "not_mailed"
    if row.kind in HOLD_KINDS:
        method = row.hold_contact or row.contact_method
    elif row.kind in ("request_received", "email_changed"):
        method = "email"  # the patron asked for it / the new address is confirmed
    else:
        method = row.contact_method
    if method == "phone":
        return "phone" if row.kind == "hold_ready" else "not_mailed"
    if method == "none":
        return "none"
    if not row.email or address_problem(row.email, ctx.policy):
        return "problem"  # the branch's contact-problem list
    return "mailed"


def _variables(row, policy) -> dict:
    """What a notice template reads; `branch` and `branch_phone` say whom to call (seed 001:
    図書館にご連絡ください): the hold's pickup branch, else the branch the request named,
    with the library's own number where the branch has none."""
    payload = json.loads(row.payload) if row.payload else {}
    reason = REASONS.get(payload.get("reason", ""))
    language = compose.language_of(row.language)
    deadline = payload.get("pickup_deadline") or row.pickup_deadline
    return {
        "title": row.hold_title or row.loan_title or row.asked_title,
        "pickup": row.pickup,
        "pickup_deadline": deadline,
        "due_on": payload.get("due_on") or row.due_on,
        "reason": (reason.en if language == "en" else reason.ja) if reason else "",
        "reason_code": payload.get("reason"),
        "address": payload.get("address"),
        "request_kind": row.request_kind,
        "branch": row.pickup or row.named_branch,
        "branch_phone": (row.pickup_phone if row.pickup else row.named_phone) or policy.library.phone,
        # A new address in place of one (変更), or the first (登録); Kitsuki names both 変更.
        "changed": bool(payload.get("previous")) or policy.notices.email_registered_subject == "always_change",
        "contact_method": payload.get("contact_method"),
    }


def _by_patron(due: list[Due]) -> dict[int, list[Due]]:
    grouped = defaultdict(list)
    for item in due:
        grouped[item.patron_id].append(item)
    return grouped


def _groups(ctx: Context, items: list[Due]) -> list[list[Due]]:
    """One mail per item (Kitami: その都度、ご連絡), or one digest per send time (Mito: 1日分まとめて);
    a receipt always goes on its own, at once."""
    receipts = [[i] for i in items if i.kind == "request_received"]
    others = [i for i in items if i.kind != "request_received"]
    if ctx.policy.notices.mode == "per_item":
        return receipts + [[i] for i in others]
    digests: dict = defaultdict(list)  # one per send time
    for item in others:
        digests[item.send_at].append(item)
    return receipts + list(digests.values())


def _queue(ctx: Context, settings: MailSettings, group: list[Due]) -> int | None:
    first = group[0]
    rendered = [compose.notice_item(i.kind, first.language, i.variables) for i in group]
    if len(group) == 1:
        return queue_rendered(ctx, settings, first, rendered, f"notice:{first.event_id}")
    return queue_rendered(ctx, settings, first, rendered, f"digest:{first.patron_id}:{first.event_id}")


def queue_rendered(ctx: Context, settings: MailSettings, first: Due, rendered: list[tuple[str, str]],
                   key: str) -> int | None:
    """Wrap rendered items (subject, paragraph) in the mail template and put the message in the
    outbox, to go at the first item's send time (dated then: when it enters the mail system)."""
    library = ctx.policy.library
    send_at = first.send_at or ctx.now
    language = first.language
    library_vars = library.model_dump()
    if len(rendered) == 1:
        subject = rendered[0][0]
    else:
        subject = compose.digest_subject(language, {"library": library_vars})
    name = library.name if language == "ja" else library.name_en
    subject = compose.subject_line(language, library_vars, subject)
    body = compose.mail_body(language, {"library": library_vars, "patron": {"name": first.name},
                                        "items": [{"text": text} for _, text in rendered], "digest": len(rendered) > 1})
    sender = settings.sender or library.mail_from
    mid = compose.message_id(key, sender)
    raw = compose.build_message(sender=sender, sender_name=name, to_addr=first.address, to_name=first.name,
                                subject=subject, body=body, message_id=mid, date=send_at,
                                charset=ctx.policy.notices.charset)
    return queue_message(ctx, patron_id=first.patron_id, kind="notice", key=key, to_addr=first.address,
                         subject=subject, body=body, raw=raw, message_id=mid, not_before=send_at)


def queue_message(ctx: Context, *, patron_id, kind, key, to_addr, subject, body, raw, message_id,
                  not_before: dt.datetime | None = None) -> int | None:
    """Put one message in the outbox, once per key, to go at `not_before` (default: now);
    returns its id, or None if the key was there."""
    o = schema.mail_outbox
    new = db.insert_ignore(ctx.conn, o, [{
        "patron_id": patron_id, "kind": kind, "dedupe_key": key, "to_addr": to_addr, "subject": subject,
        "body": body, "raw": raw, "message_id": message_id, "created_at": ctx.now, "not_before": not_before or ctx.now,
    }], ["dedupe_key"])
    return ctx.conn.execute(select(o.c.id).where(o.c.dedupe_key == key)).scalar_one() if new else None


def _existing(ctx: Context, group: list[Due]) -> int:
    o = schema.mail_outbox
    first = group[0]
    keys = (f"notice:{first.event_id}", f"digest:{first.patron_id}:{first.event_id}")
    return ctx.conn.execute(select(o.c.id).where(o.c.dedupe_key.in_(keys))).scalar_one()


def _mark(ctx: Context, routed: list[tuple[int, str]], outbox_id: int | None = None) -> None:
    if not routed:
        return
    e = schema.notice_events
    ctx.conn.execute(
        e.update().where(e.c.id == bindparam("event"), e.c.delivery.is_(None))
        .values(delivery=bindparam("how"), outbox_id=outbox_id),
        [{"event": event_id, "how": how} for event_id, how in routed],
    )

