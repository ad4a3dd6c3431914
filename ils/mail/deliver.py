"""Delivering the outbox: over SMTP or into .eml files, each message once, retried or failed by the server's answer."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import smtplib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ils import lock, schema
from ils.audit import audit
from ils.context import Context
from ils.errors import IlsError
from ils.mail.settings import MailSettings

log = logging.getLogger(__name__)
MAIL_LOCK = "mail"  # one sender at a time, so a message `sending` at start is truly orphaned


class Temporary(Exception):
    """The server said try later (4xx), or could not be reached: the message waits and is retried."""


class Permanent(Exception):
    """The server refused the message (5xx): it is recorded as failed, never retried."""


@dataclass(frozen=True)
class Outgoing:
    id: int
    sender: str
    to_addr: str
    raw: str
    message_id: str


class FileTransport:
    """Writes each message as <Message-ID>.eml; writing it again replaces it, so it is never doubled."""

    def __init__(self, directory: Path):
        self.directory = directory

    def __enter__(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc):
        return False

    def send(self, message: Outgoing) -> None:
        name = re.sub(r"[^A-Za-z0-9._@-]", "_", message.message_id.strip("<>")) + ".eml"
        temporary = self.directory / f".{name}.tmp"
        temporary.write_text(message.raw, encoding="ascii", newline="\r\n")
        os.replace(temporary, self.directory / name)


class SmtpTransport:
    """One SMTP session for the run: STARTTLS and login as configured."""

    def __init__(self, settings: MailSettings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self):
        s = self.settings
        try:
            self.smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            if s.starttls:
                self.smtp.starttls()
            if s.username:
                self.smtp.login(s.username, s.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise Permanent(f"login refused by {s.host}: {exc.smtp_code}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise Temporary(f"cannot reach {s.host}:{s.port}: {exc}") from exc
        return self

    def __exit__(self, *exc):
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
        return False

    def send(self, message: Outgoing) -> None:
        try:
            refused = self.smtp.sendmail(message.sender, [message.to_addr], message.raw.encode("ascii"))
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise _by_code(code, text) from exc
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            raise _by_code(exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise Temporary(f"connection lost: {exc}") from exc
        if refused:
            code, text = next(iter(refused.values()))
            raise _by_code(code, text)


def _by_code(code: int, text) -> Exception:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return Temporary(f"{code} {text}") if 400 <= code < 500 else Permanent(f"{code} {text}")


def transport_for(settings: MailSettings, base: Path):
    if settings.transport == "smtp":
        return SmtpTransport(settings)
    return FileTransport((base / settings.directory).resolve())


def send_due(ctx: Context, settings: MailSettings, transport, clock) -> Counter:
    """Send every queued message whose time has come.

    Each message is marked `sending` (committed) before it is handed over and `sent` right
    after. A message still `sending` when a run starts was in flight when its sender died:
    the server may have it, so it is never sent again but marked `unconfirmed` for a person
    to check by its Message-ID (`ils mail resend ID` sends it if the server did not).
    """
    with ctx.writing():
        lock.acquire(ctx.conn, clock(), MAIL_LOCK)
    try:
        return _send_due(ctx, settings, transport, clock)
    finally:
        with ctx.writing():
            lock.release(ctx.conn, MAIL_LOCK)


def _send_due(ctx: Context, settings: MailSettings, transport, clock) -> Counter:
    counts: Counter = Counter()
    o = schema.mail_outbox
    with ctx.writing():
        counts["unconfirmed"] = ctx.conn.execute(
            o.update().where(o.c.state == "sending").values(state="unconfirmed",
                                                             last_error="the sender stopped while handing it over")
        ).rowcount
    with ctx.writing():
        due = [
            Outgoing(row.id, settings.sender or ctx.policy.library.mail_from, row.to_addr, row.raw, row.message_id)
            for row in ctx.conn.execute(
                select(o.c.id, o.c.to_addr, o.c.raw, o.c.message_id)
                .where(o.c.state == "queued", o.c.not_before <= ctx.now).order_by(o.c.id)
            )
        ]
    if not due:
        return counts
    try:
        with transport as open_transport:
            for message in due:
                counts[_deliver(ctx, settings, open_transport, message, clock)] += 1
    except Temporary as exc:  # the server cannot be reached at all: everything waits
        log.warning("mail server unavailable: %s", exc)
        counts["waiting"] += len(due) - sum(counts[k] for k in ("sent", "retry", "failed"))
    return counts


def _deliver(ctx: Context, settings: MailSettings, transport, message: Outgoing, clock) -> str:
    o = schema.mail_outbox
    with ctx.writing():
        row = ctx.conn.execute(select(o.c.attempts).where(o.c.id == message.id, o.c.state == "queued")).first()
        if row is None:
            return "skipped"  # another sender took it
        attempts = row.attempts + 1
        ctx.conn.execute(o.update().where(o.c.id == message.id).values(state="sending", attempts=attempts))
    try:
        transport.send(message)
    except Temporary as exc:
        return _retry_or_fail(ctx, settings, message, attempts, str(exc))
    except Permanent as exc:
        _set(ctx, message.id, state="failed", last_error=str(exc))
        return "failed"
    _set(ctx, message.id, state="sent", sent_at=clock())
    return "sent"


def _retry_or_fail(ctx: Context, settings: MailSettings, message: Outgoing, attempts: int, error: str) -> str:
    if attempts >= settings.max_attempts:
        _set(ctx, message.id, state="failed", last_error=f"gave up after {attempts} attempts: {error}")
        return "failed"
    wait = dt.timedelta(minutes=settings.retry_minutes * 2 ** (attempts - 1))
    _set(ctx, message.id, state="queued", not_before=ctx.now + wait, last_error=error)
    return "retry"


def _set(ctx: Context, outbox_id: int, **values) -> None:
    o = schema.mail_outbox
    with ctx.writing():
        ctx.conn.execute(o.update().where(o.c.id == outbox_id).values(**values))



def requeue(ctx: Context, outbox_id: int, *, staff: str, why: str | None) -> dict:
    """Send a message again that was unconfirmed or failed, on a person's word; audited."""
    o = schema.mail_outbox
    with ctx.writing():
        row = ctx.conn.execute(select(o.c.state, o.c.patron_id, o.c.message_id).where(o.c.id == outbox_id)).first()
        if row is None:
            raise IlsError(f"no message {outbox_id} in the outbox")
        if row.state not in ("unconfirmed", "failed"):
            raise IlsError(f"message {outbox_id} is {row.state}; only unconfirmed or failed mail is sent again")
        ctx.conn.execute(o.update().where(o.c.id == outbox_id).values(state="queued", not_before=ctx.now, attempts=0))
        audit(ctx, staff, "mail_resend", row.patron_id, target=row.message_id, reason=why, detail={"was": row.state})
    return {"message": outbox_id, "was": row.state, "now": "queued"}


def outbox_rows(ctx: Context, state: str | None, limit: int) -> list[dict]:
    o, p = schema.mail_outbox, schema.patrons
    query = (
        select(o.c.id, o.c.state, o.c.kind, p.c.card_number.label("card"), o.c.to_addr, o.c.subject, o.c.attempts,
               o.c.last_error, o.c.sent_at, o.c.message_id)
        .outerjoin(p, p.c.id == o.c.patron_id)
        .order_by(o.c.id.desc()).limit(limit)
    )
    if state:
        query = query.where(o.c.state == state)
    return [dict(row._mapping) for row in ctx.conn.execute(query)]
