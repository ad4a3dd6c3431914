"""Delivering the outbox: over SMTP or into .eml files, each message at most once, retried or failed by the server's answer."""

from __future__ import annotations

import datetime as dt
import errno
import logging
import re
import smtplib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ils.errors import BatchRunning, IlsError, MailFolderUnwritable
from ils.infra import files, lock, schema
from ils.infra.audit import audit
from ils.infra.context import Context
from ils.infra.i18n import _
from ils.mail.settings import MailSettings

log = logging.getLogger(__name__)
MAIL_LOCK = "mail"  # one sender at a time, so a message `sending` at start is truly orphaned


class Temporary(Exception):
    """The server said try later (4xx), or went silent before the message was sent: it waits and is retried."""


class Permanent(Exception):
    """The server refused the message (5xx): it is recorded as failed, never retried."""


class Unconfirmed(Exception):
    """The message was sent but no definite answer came back: the server may have it, so a person decides."""


@dataclass(frozen=True)
class Outgoing:
    id: int
    sender: str
    to_addr: str
    raw: str
    message_id: str


def on_the_wire(raw: str) -> bytes:
    """The stored message with CRLF line ends (RFC 5321 2.3.8); a row queued by an older version had LF."""
    return re.sub(r"\r\n|\r|\n", "\r\n", raw).encode("ascii")


class FileTransport:
    """Writes each message as <Message-ID>.eml, for its owner (and group) only; writing it again replaces it, never doubles it."""

    connected = True

    def __init__(self, directory: Path):
        self.directory = directory

    def __enter__(self):
        try:
            files.private_dir(self.directory)
        except OSError as exc:
            raise folder_unwritable(self.directory, exc) from exc
        return self

    def __exit__(self, *exc):
        return False

    def send(self, message: Outgoing) -> None:
        name = re.sub(r"[^A-Za-z0-9._@-]", "_", message.message_id.strip("<>")) + ".eml"
        try:
            files.write_private(self.directory / name, on_the_wire(message.raw))
        except OSError as exc:
            raise folder_unwritable(self.directory, exc) from exc


def folder_unwritable(folder: Path, exc: OSError) -> MailFolderUnwritable:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        advice = "free space there"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        advice = "make it writable for the user that runs ils"
    else:
        advice = "fix the folder (or [mail] directory in ils.toml)"
    return MailFolderUnwritable(_("cannot write mail into {folder}: {value}; {advice} and run `ils mail send` again").format(folder=folder, value=exc.strerror or exc, advice=advice))


class SmtpTransport:
    """One SMTP session for the run (STARTTLS and login as configured). Each message goes
    command by command (MAIL, RCPT, DATA, then the data) rather than through
    smtplib.sendmail, whose data() raises the same error for a connection lost before the
    server's 354 (nothing was sent: safe to retry) and after the data (the server may have
    it: never to be sent again by itself)."""

    def __init__(self, settings: MailSettings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    @property
    def connected(self) -> bool:
        return self.smtp is not None and self.smtp.sock is not None

    def __enter__(self):
        s = self.settings
        try:
            self.smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            if s.starttls:
                self.smtp.starttls()
            if s.username:
                self.smtp.login(s.username, s.password or "")
            self.smtp.ehlo_or_helo_if_needed()
        except smtplib.SMTPAuthenticationError as exc:
            raise Permanent(f"login refused by {s.host}: {exc.smtp_code}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise Temporary(f"cannot reach {s.host}:{s.port}: {exc}") from exc
        return self

    def __exit__(self, *exc):
        if self.connected:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
        return False

    @property
    def _session(self) -> smtplib.SMTP:
        assert self.smtp is not None, "messages are sent inside `with SmtpTransport(...)`"
        return self.smtp

    def send(self, message: Outgoing) -> None:
        data = on_the_wire(message.raw)
        size = [f"SIZE={len(data)}"] if self._session.has_extn("size") else []
        code, text = self._before_data(self._session.mail, message.sender, size)
        if code != 250:
            raise self._refused(code, text)
        code, text = self._before_data(self._session.rcpt, message.to_addr)
        if code not in (250, 251):
            raise self._refused(code, text)
        code, text = self._before_data(self._session.docmd, "data")
        if code != 354:
            raise self._refused(code, text)
        self._hand_over(data)

    def _before_data(self, command, *args) -> tuple[int, bytes]:
        """One command before the server's 354: without an answer nothing was handed over."""
        try:
            return command(*args)
        except (OSError, smtplib.SMTPException) as exc:
            self._session.close()
            raise Temporary(f"connection lost before the message was sent: {exc}") from exc

    def _refused(self, code: int, text) -> Exception:
        """A refusal before the data: reset the transaction for the next message (421: the server is closing)."""
        if code == 421:
            self._session.close()
        else:
            try:
                self._session.rset()
            except (OSError, smtplib.SMTPException):
                self._session.close()
        return _by_code(code, text)

    def _hand_over(self, data: bytes) -> None:
        """The data and its final answer: from here on, only a 2xx, 4xx or 5xx reply is an answer."""
        sock = self._session.sock
        assert sock is not None, "the server's 354 came over it"
        sock.settimeout(self.settings.data_timeout_seconds)
        try:
            self._session.send(re.sub(rb"(?m)^\.", b"..", data) + b".\r\n")
            code, text = self._session.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self._session.close()
            raise Unconfirmed(f"no answer from the server after the message was sent: {exc}") from exc
        if self._session.sock is not None:  # still connected
            self._session.sock.settimeout(self.settings.timeout_seconds)
        if 200 <= code < 300:
            return
        if not 400 <= code < 600:
            self._session.close()
            raise Unconfirmed(f"the server answered {code} {text!r} after the message was sent")
        if code == 421:
            self._session.close()
        raise _by_code(code, text)


def _by_code(code: int, text) -> Exception:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return Permanent(f"{code} {text}") if 500 <= code < 600 else Temporary(f"{code} {text}")


def transport_for(settings: MailSettings, base: Path):
    if settings.transport == "smtp":
        return SmtpTransport(settings)
    return FileTransport((base / settings.directory).resolve())


def send_due(ctx: Context, settings: MailSettings, transport, clock) -> Counter:
    """Send every queued message whose time has come, each at most once.

    Each message is marked `sending` (committed) before it is handed over and `sent` right
    after. A message still `sending` when a run starts was in flight when its sender died:
    the server may have it, so it is never sent again but marked `unconfirmed` for a person
    to check by its Message-ID (`ils mail resend ID` sends it if the server did not). The
    same holds for a message whose data went out without a definite answer coming back.
    """
    with ctx.writing():
        lock.acquire(ctx.conn, clock(), MAIL_LOCK)
    try:
        return _send_due(ctx, settings, transport, clock)
    finally:
        with ctx.writing():
            lock.release(ctx.conn, MAIL_LOCK)


def _send_due(ctx: Context, settings: MailSettings, transport, clock) -> Counter:
    counts = Counter(unconfirmed=_orphans(ctx))
    due = _due(ctx, settings)
    if not due:
        return counts
    handled = 0
    try:
        with transport as open_transport:
            for message in due:
                counts[_deliver(ctx, settings, open_transport, message, clock)] += 1
                handled += 1
                if not open_transport.connected:
                    break  # no answer, or the server hung up: the rest wait for the next run
    except Temporary as exc:  # the server cannot be reached at all: everything waits
        log.warning("mail server unavailable: %s", exc)
    counts["waiting"] += len(due) - handled
    return counts


def _orphans(ctx: Context) -> int:
    o = schema.mail_outbox
    with ctx.writing():
        return ctx.conn.execute(
            o.update().where(o.c.state == "sending")
            .values(state="unconfirmed", last_error="the sender stopped while handing it over")
        ).rowcount


def _due(ctx: Context, settings: MailSettings) -> list[Outgoing]:
    o = schema.mail_outbox
    with ctx.writing():
        return [
            Outgoing(row.id, settings.sender or ctx.policy.library.mail_from, row.to_addr, row.raw, row.message_id)
            for row in ctx.conn.execute(
                select(o.c.id, o.c.to_addr, o.c.raw, o.c.message_id)
                .where(o.c.state == "queued", o.c.not_before <= ctx.now).order_by(o.c.id)
            )
        ]


def _deliver(ctx: Context, settings: MailSettings, transport, message: Outgoing, clock) -> str:
    attempts = _take(ctx, message, clock)
    if attempts is None:
        return "skipped"  # another sender took it
    try:
        transport.send(message)
    except Temporary as exc:
        return _retry_or_fail(ctx, settings, message, attempts, str(exc))
    except Permanent as exc:
        return _set(ctx, message.id, state="failed", last_error=str(exc))
    except Unconfirmed as exc:
        log.warning("message %s (%s) may or may not have been taken: %s", message.id, message.message_id, exc)
        return _set(ctx, message.id, state="unconfirmed", last_error=str(exc))
    except MailFolderUnwritable as exc:  # nothing left this machine: it waits, and the run stops here
        _set(ctx, message.id, state="queued", attempts=attempts - 1, last_error=str(exc))
        raise
    return _set(ctx, message.id, state="sent", sent_at=clock())


def _take(ctx: Context, message: Outgoing, clock) -> int | None:
    """Mark the message `sending` (committed before anything is handed over); beat the lock's heartbeat,
    so a long send is never judged stale and joined by a second sender. Its attempt number, or None."""
    o = schema.mail_outbox
    with ctx.writing():
        if not lock.heartbeat(ctx.conn, clock(), MAIL_LOCK):
            raise BatchRunning(_("another mail run took over the mail lock while this one was sending; this one stops"))
        return ctx.conn.execute(
            o.update().where(o.c.id == message.id, o.c.state == "queued")
            .values(state="sending", attempts=o.c.attempts + 1).returning(o.c.attempts)
        ).scalar_one_or_none()


def _retry_or_fail(ctx: Context, settings: MailSettings, message: Outgoing, attempts: int, error: str) -> str:
    if attempts >= settings.max_attempts:
        _set(ctx, message.id, state="failed", last_error=f"gave up after {attempts} attempts: {error}")
        return "failed"
    wait = dt.timedelta(minutes=settings.retry_minutes * 2 ** (attempts - 1))
    _set(ctx, message.id, state="queued", not_before=ctx.now + wait, last_error=error)
    return "retry"


def _set(ctx: Context, outbox_id: int, **values) -> str:
    """Record what became of a message; returns its new state."""
    o = schema.mail_outbox
    with ctx.writing():
        ctx.conn.execute(o.update().where(o.c.id == outbox_id).values(**values))
    return values["state"]


def requeue(ctx: Context, outbox_id: int, *, staff: str, why: str | None) -> dict:
    """Send a message again that was unconfirmed or failed, on a person's word; audited."""
    o = schema.mail_outbox
    with ctx.writing():
        row = ctx.conn.execute(select(o.c.state, o.c.patron_id, o.c.message_id).where(o.c.id == outbox_id)).first()
        if row is None:
            raise IlsError(_("no message {outbox_id} in the outbox").format(outbox_id=outbox_id))
        if row.state not in ("unconfirmed", "failed"):
            raise IlsError(_("message {outbox_id} is {state}; only unconfirmed or failed mail is sent again").format(outbox_id=outbox_id, state=row.state))
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
