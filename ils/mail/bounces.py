"""Bounces: delivery-status notifications (RFC 3464) the relay returns, matched to the outbox, marking the address."""

from __future__ import annotations

import datetime as dt
import email.parser
import email.utils
import hashlib
import mailbox
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from sqlalchemy import and_, exists, func, not_, or_, select

from ils.errors import MailboxUnreadable
from ils.infra import db, schema
from ils.infra.context import Context
from ils.infra.i18n import _

# Actions of RFC 3464 2.3.3: `failed` is final; these say the message reached the address.
SUCCESS_ACTIONS = ("delivered", "relayed", "expanded")
# A relay gives up on a message after 4-5 days (RFC 5321 4.5.4.1): a message to the address
# sent after the bounced one that has had that long to come back, and did not, reached it.
QUIET_DAYS = 5


@dataclass(frozen=True)
class Report:
    """One recipient of one delivery-status notification."""

    key: str
    recipient: str
    action: str
    status: str | None
    diagnostic: str | None
    original_id: str | None


def messages(path: Path, kind: str) -> Iterator[Message]:
    """The messages of an mbox file or a Maildir folder; the mailbox itself is left as it is."""
    try:
        box = mailbox.mbox(str(path), create=False) if kind == "mbox" else mailbox.Maildir(str(path), create=False)
        keys = list(box.keys())
    except (mailbox.NoSuchMailboxError, OSError) as exc:
        raise MailboxUnreadable(_("cannot read the {kind} {path}: {exc}").format(kind=kind, path=path, exc=exc)) from None
    for key in keys:
        yield box[key]


def reports_in(message: Message) -> list[Report]:
    """The per-recipient reports of a multipart/report; report-type=delivery-status, else none."""
    if message.get_content_type() != "multipart/report":
        return []
    if email.utils.collapse_rfc2231_value(message.get_param("report-type") or "").lower() != "delivery-status":
        return []
    blocks, original = [], None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            blocks = [b for b in part.get_payload() if isinstance(b, Message)]
        elif kind == "message/rfc822" and part.is_multipart():
            inner = part.get_payload(0)
            if isinstance(inner, Message):
                original = original or inner.get("Message-ID")
        elif kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                headers = email.parser.HeaderParser().parsestr(payload.decode("utf-8", "replace"))
                original = original or headers.get("Message-ID")
    if not blocks:
        return []
    per_message, recipients = blocks[0], blocks[1:]
    source = message.get("Message-ID") or hashlib.sha256(message.as_bytes()).hexdigest()
    found = []
    for block in recipients:
        recipient = _address(block.get("Final-Recipient") or block.get("Original-Recipient"))
        if not recipient:
            continue
        given = _original_id(block) or _original_id(per_message) or original
        key = hashlib.sha256(f"{source}\n{recipient}".encode()).hexdigest()
        found.append(Report(key, recipient, (block.get("Action") or "").strip().lower(),
                            _text(block.get("Status")), _text(block.get("Diagnostic-Code")), _angled(given)))
    return found


def _original_id(block: Message) -> str | None:
    return block.get("Original-Message-ID") or block.get("X-Original-Message-ID")


def _address(value: str | None) -> str | None:
    """`rfc822; someone@example.jp` (RFC 3464 2.3.2): the address, lower case."""
    if not value:
        return None
    address = value.split(";", 1)[1] if ";" in value else value
    return address.strip().strip("<>").strip().lower() or None


def _text(value: str | None) -> str | None:
    return " ".join(str(value).split())[:1000] if value else None


def _angled(value: str | None) -> str | None:
    value = _text(value)
    if not value:
        return None
    return value if value.startswith("<") else f"<{value}>"


def read_bounces(ctx: Context, path: Path, kind: str) -> Counter:
    """Record every report in the mailbox (once each, however often it is read), then clear
    the addresses a later message has reached."""
    counts: Counter = Counter()
    with ctx.writing():
        for message in messages(path, kind):
            reports = reports_in(message)
            counts["messages"] += 1
            if not reports:
                counts["not_reports"] += 1
            for report in reports:
                counts[record(ctx, report)] += 1
        counts["cleared"] += clear_reached(ctx)
    return counts


def record(ctx: Context, report: Report) -> str:
    """Store one report; returns what it was: failed, delivered..., delayed or seen_before."""
    if report.action not in ("failed", *SUCCESS_ACTIONS):
        return report.action or "no_action"  # delayed: the relay is still trying
    outbox = _outbox_for(ctx, report)
    patron_id = outbox.patron_id if outbox is not None else _patron_for(ctx, report.recipient)
    b = schema.mail_bounces
    new = db.insert_ignore(ctx.conn, b, [{
        "dedupe_key": report.key, "outbox_id": outbox.id if outbox is not None else None, "patron_id": patron_id,
        "address": report.recipient, "action": report.action, "status": report.status,
        "diagnostic": report.diagnostic, "reported_at": ctx.now,
    }], ["dedupe_key"])
    if not new:
        return "seen_before"
    if report.action in SUCCESS_ACTIONS:
        ctx.conn.execute(b.update().where(b.c.address == report.recipient, b.c.action == "failed",
                                          b.c.cleared_at.is_(None)).values(cleared_at=ctx.now))
    return report.action


def _outbox_for(ctx: Context, report: Report):
    """The message reported on: by its Message-ID, else the last message sent to the recipient."""
    o = schema.mail_outbox
    if report.original_id:
        row = ctx.conn.execute(select(o.c.id, o.c.patron_id).where(o.c.message_id == report.original_id)).first()
        if row is not None:
            return row
    return ctx.conn.execute(
        select(o.c.id, o.c.patron_id)
        .where(func.lower(o.c.to_addr) == report.recipient, o.c.sent_at.is_not(None))
        .order_by(o.c.sent_at.desc(), o.c.id.desc()).limit(1)
    ).first()


def _patron_for(ctx: Context, address: str) -> int | None:
    p = schema.patrons
    return ctx.conn.execute(select(p.c.id).where(func.lower(p.c.email) == address).order_by(p.c.id).limit(1)).scalar()


def clear_reached(ctx: Context) -> int:
    """Clear each failed address that a later message has reached: sent after the bounced
    one, QUIET_DAYS ago or more, and never reported back."""
    b, o = schema.mail_bounces, schema.mail_outbox
    other = schema.mail_bounces.alias("other")
    quiet = ctx.now - dt.timedelta(days=QUIET_DAYS)
    later = or_(and_(b.c.outbox_id.is_not(None), o.c.id > b.c.outbox_id),
                and_(b.c.outbox_id.is_(None), o.c.sent_at > b.c.reported_at))
    reached = exists().where(
        func.lower(o.c.to_addr) == b.c.address, o.c.state == "sent", o.c.sent_at <= quiet, later,
        not_(exists().where(other.c.outbox_id == o.c.id)),
    )
    result = ctx.conn.execute(
        b.update().where(b.c.action == "failed", b.c.cleared_at.is_(None), reached).values(cleared_at=ctx.now)
    )
    return result.rowcount
