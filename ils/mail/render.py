"""Rendering notices: due notices become outbox messages (per item or one digest per patron), once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, cast, literal, select, type_coerce

from ils.frontend.reasons import REASONS
from ils.holds.history import Notice, record_notices
from ils.infra import db, schema
from ils.infra.context import Context
from ils.library.calendar import BranchCalendar, CalendarRules
from ils.library.policy import Policy
from ils.library.send_slots import upcoming_slot
from ils.mail import compose
from ils.mail.schedule import SendTimes
from ils.mail.settings import MailSettings
from ils.patrons.addresses import address_problem

# Kinds told about the hold itself, by the contact method chosen for that hold.
HOLD_KINDS = ("hold_ready", "hold_expired", "hold_lapsed")
YES = {"yes", "true", "1", "on"}
# Messages rendered, queued and marked together: a few statements per chunk, and a
# prefecture's morning never held in memory at once.
MESSAGES_PER_CHUNK = 2000


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
    due, routed, never_mailed = _due_notices(ctx, ahead)
    _mark_routed(ctx, routed)
    counts.update(delivery for _, delivery in routed)
    if never_mailed:
        counts["not_mailed"] += never_mailed
    letterhead = Letterhead(ctx, settings, compose.Templates.for_run())
    groups = [group for patron_items in _by_patron(due).values() for group in _groups(ctx, patron_items)]
    # A chunk is a few statements (the messages in, their notices marked), whatever its size.
    for chunk in db.chunks(groups, MESSAGES_PER_CHUNK):
        messages = [letterhead.notice_message(group) for group in chunk]
        db.insert_missing(ctx.conn, schema.mail_outbox, messages, ["dedupe_key"])
        # A message rendered before keeps its notices pointing at it (the key found it).
        _mark_mailed(ctx, [(item.event_id, message["dedupe_key"])
                           for group, message in zip(chunk, messages, strict=True) for item in group])
    if groups:
        counts["messages"] += len(groups)
        counts["mailed"] += len(due)
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


def _due_notices(ctx: Context, ahead: bool) -> tuple[list[Due], list[tuple[int, str]], int]:
    """Notices due by now (or, `ahead`, by the library's next send slot) that go by mail,
    (event, delivery) for those that do not, and how many of a kind never mailed were marked."""
    library = BranchCalendar(CalendarRules.from_policy(ctx.policy.calendar))
    times = SendTimes(ctx.policy)
    horizon = upcoming_slot(ctx.now, library, ctx.policy) if ahead else ctx.now

    def due(send_at: dt.datetime, calendar: BranchCalendar) -> bool:
        return send_at <= horizon and (not ahead or _closed(ctx, times, send_at, calendar))

    never_mailed = _mark_never_mailed(ctx, times, library, due)

    @functools.cache
    def problem(address: str) -> str | None:  # a patron with many notices is checked once
        return address_problem(address, ctx.policy)

    instant = _instants(ctx)
    mailed, routed = [], []
    # Plain tuples: most of a night's notices are looked at only to be marked.
    for (event_id, kind, stored_at, payload, email, contact_method, hold_contact, branch_id,
         patron_id, name, language) in ctx.conn.execute(_notice_query(ctx)):
        calendar = ctx.calendars.get(branch_id, library) if kind in HOLD_KINDS else library
        send_at = times.due_at(kind, instant(stored_at), calendar, _registered_at(kind, payload))
        if not due(send_at, calendar):
            continue
        delivery = route(kind, contact_method, hold_contact, email, ctx.policy, problem)
        if delivery == "mailed":
            mailed.append((event_id, patron_id, kind, email, name, compose.language_of(language), payload,
                           max(send_at, ctx.now)))
        else:
            routed.append((event_id, delivery))
    details = _details(ctx, [event_id for event_id, *_ in mailed])
    decoded = functools.cache(_payload)  # a night's payloads are a few dozen texts, repeated
    mail = [Due(event_id, patron_id, kind, email, name, language,
                _variables(decoded(payload), language, details[event_id], ctx.policy), send_at)
            for event_id, patron_id, kind, email, name, language, payload, send_at in mailed]
    return mail, routed, never_mailed


def _mark_never_mailed(ctx: Context, times: SendTimes, library: BranchCalendar,
                       due: Callable[[dt.datetime, BranchCalendar], bool]) -> int:
    """Mark not_mailed, by a statement per few instants, the due notices of acceptance where
    the profile mails none (route's first answer; Kitami): half a night's notices, which the
    query of _due_notices would read with their patrons only to mark them. Such a notice is
    due by the library's calendar and the instant it happened (SendTimes.due_at)."""
    if ctx.policy.notices.accepted_mail:
        return 0
    e = schema.notice_events
    waiting = (e.c.kind == "hold_accepted", e.c.delivery.is_(None), e.c.occurred_at <= ctx.now,
               e.c.patron_id.is_not(None))  # _notice_query's join: a notice has its patron or is not read
    instants = ctx.conn.execute(select(e.c.occurred_at).where(*waiting).distinct()).scalars().all()
    now_due = [at for at in instants if due(times.due_at("hold_accepted", at, library), library)]
    mark = e.update().where(*waiting, e.c.occurred_at.in_(bindparam("instants", expanding=True)))
    return sum(ctx.conn.execute(mark.values(delivery="not_mailed"), {"instants": chunk}).rowcount
               for chunk in db.chunks(now_due))


def _closed(ctx: Context, times: SendTimes, send_at: dt.datetime, calendar: BranchCalendar) -> bool:
    """Whether nothing that happens from now on can join a digest sent at `send_at`: only then
    is it rendered ahead (Mito: what happens today goes in the digest of the open day after);
    otherwise the mail run renders it whole at its slot. A mail per item is never joined."""
    return ctx.policy.notices.mode != "digest" or send_at < times.next_send(ctx.now, calendar)


def _registered_at(kind: str, payload: str | None) -> dt.datetime | None:
    """When the patron made the email change this notice confirms (batch/s05_email_change.py records it)."""
    received = json.loads(payload).get("received_at") if kind == "email_changed" and payload else None
    return dt.datetime.fromisoformat(received) if received else None


def _payload(payload: str | None) -> dict:
    """A notice's payload decoded (read, never changed: one dict serves every notice with the same text)."""
    return json.loads(payload) if payload else {}


def _instants(ctx: Context) -> Callable[[Any], dt.datetime]:
    """An instant as _notice_query reads it (as stored) converted as its column converts it, once
    per stored value: a night's notices happened at a handful of instants (at one on the bench),
    and converting 20,000 equal timestamps again and again was a tenth of the step."""
    instant, dialect = schema.notice_events.c.occurred_at.type, ctx.conn.dialect
    assert isinstance(instant, schema.Instant), "an instant converts as Instant does"
    return functools.cache(lambda stored: instant.process_result_value(stored, dialect))


def _notice_query(ctx: Context):
    """Every notice not yet looked at, with what says when and whether it goes by mail."""
    e, p, h = schema.notice_events, schema.patrons, schema.holds
    return (
        # What routes it first, then what its mail needs; the instant as stored (_instants).
        select(
            e.c.id, e.c.kind, type_coerce(e.c.occurred_at, String), e.c.payload, p.c.email, p.c.contact_method,
            h.c.contact_method.label("hold_contact"), h.c.pickup_branch_id,
            e.c.patron_id, p.c.name, p.c.language,
        )
        .join(p, p.c.id == e.c.patron_id)
        .outerjoin(h, h.c.id == e.c.hold_id)
        .where(e.c.delivery.is_(None), e.c.occurred_at <= ctx.now)
        .order_by(e.c.patron_id, e.c.id)
    )


def _details(ctx: Context, event_ids: list[int]) -> dict:
    """What the mail of each of these notices tells (titles, branches, dates), by event: read
    for the notices that go by mail only, most of a night's do not."""
    e, h, r, lo, c = schema.notice_events, schema.holds, schema.pending_requests, schema.loans, schema.copies
    held, asked, lent, b = schema.titles.alias("held"), schema.titles.alias("asked"), schema.titles.alias("lent"), schema.branches
    # The branch a request named, for a request that made no hold (a refused hold request).
    named = schema.branches.alias("named")
    query = (
        select(
            e.c.id, h.c.pickup_deadline,
            b.c.name.label("pickup"), held.c.title.label("hold_title"),
            b.c.phone.label("pickup_phone"), named.c.name.label("named_branch"), named.c.phone.label("named_phone"),
            r.c.kind.label("request_kind"), asked.c.title.label("asked_title"),
            lo.c.due_on, lent.c.title.label("loan_title"),
        )
        .select_from(e)
        .outerjoin(h, h.c.id == e.c.hold_id).outerjoin(held, held.c.id == h.c.title_id)
        .outerjoin(b, b.c.id == h.c.pickup_branch_id)
        .outerjoin(r, r.c.id == e.c.request_id).outerjoin(asked, asked.c.bib_id == r.c.target)
        .outerjoin(named, named.c.code == r.c.pickup_branch)
        .outerjoin(lo, lo.c.id == e.c.loan_id).outerjoin(c, c.c.id == lo.c.copy_id)
        .outerjoin(lent, lent.c.id == c.c.title_id)
        .where(db.one_of_indexed_bound(ctx.conn.dialect, e.c.id, "events"))
    )
    # By name through each row's mapping: a Row's attributes are found only after a failed
    # lookup, several times slower, and _variables reads a dozen of each.
    return {row.id: row._mapping
            for chunk in db.chunks(event_ids) for row in ctx.conn.execute(query, {"events": chunk}).fetchall()}


def route(kind: str, contact_method: str | None, hold_contact: str | None, email: str | None, policy: Policy,
          problem: Callable[[str], str | None]) -> str:
    """mailed, or why not: phone (the branch's phone list), none, problem, not_mailed; by the
    contact method the hold or the patron chose, and the patron's address (`problem` is
    address_problem for the policy)."""
    notices = policy.notices
    if kind == "hold_accepted" and not notices.accepted_mail:
        return "not_mailed"
    if kind == "email_changed" and notices.email_registered_mail == "none":
        return "not_mailed"
    if kind in HOLD_KINDS:
        method = hold_contact or contact_method
    elif kind in ("request_received", "email_changed"):
        method = "email"  # the patron asked for it / the new address is confirmed
    else:
        method = contact_method
    if method == "phone":  # the branch's phone list calls about these (sql/phone.sql)
        return "phone" if kind in ("hold_ready", "hold_lapsed") else "not_mailed"
    if method == "none":
        return "none"
    if not email or problem(email):
        return "problem"  # the branch's contact-problem list
    return "mailed"


def _variables(payload: dict, language: str, details: Mapping[str, Any], policy: Policy) -> dict:
    """What a notice template reads, from its payload and _details; `branch` and `branch_phone` say
    whom to call (seed 001: 図書館にご連絡ください): the hold's pickup branch, else the branch the
    request named, with the library's own number where the branch has none."""
    reason = REASONS.get(payload.get("reason", ""))
    deadline = payload.get("pickup_deadline") or details["pickup_deadline"]
    pickup = details["pickup"]
    return {
        "title": details["hold_title"] or details["loan_title"] or details["asked_title"],
        "pickup": pickup,
        "pickup_deadline": deadline,
        "due_on": payload.get("due_on") or details["due_on"],
        "reason": (reason.en if language == "en" else reason.ja) if reason else "",
        "reason_code": payload.get("reason"),
        "address": payload.get("address"),
        "request_kind": details["request_kind"],
        "branch": pickup or details["named_branch"],
        "branch_phone": (details["pickup_phone"] if pickup else details["named_phone"]) or policy.library.phone,
        # A new address in place of one (変更), or the first (登録); Kitsuki names both 変更.
        "changed": bool(payload.get("previous")) or policy.notices.email_registered_subject == "always_change",
        "contact_method": payload.get("contact_method"),
        "suspended_until": payload.get("suspended_until"),  # a suspension's last day (予約の一時停止)
        "not_needed_after": payload.get("not_needed_after"),  # 有効期限
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


class Letterhead:
    """What every message of one render shares: the library's name and variables, the sender,
    the templates (looked up once, a subject line written once)."""

    def __init__(self, ctx: Context, settings: MailSettings, templates: compose.Templates | None = None) -> None:
        library = ctx.policy.library
        self.ctx = ctx
        self.library = dataclasses.asdict(library)
        self.names = {"ja": library.name, "en": library.name_en}
        self.sender = settings.sender or library.mail_from
        self.charset = ctx.policy.notices.charset
        self.templates = templates or compose.Templates()

    def notice_message(self, group: list[Due]) -> dict:
        """One notice's mail, or a digest of several (keyed by its first notice)."""
        first = group[0]
        rendered = [self.templates.notice_item(i.kind, first.language, i.variables) for i in group]
        key = _notice_key(first.event_id) if len(group) == 1 else f"digest:{first.patron_id}:{first.event_id}"
        return self.message(first, rendered, key)

    def message(self, first: Due, rendered: list[tuple[str, str]], key: str) -> dict:
        """Rendered items (subject, paragraph) in the mail template, as an outbox row to go at the
        first item's send time (dated then: when it enters the mail system)."""
        ctx, templates, language = self.ctx, self.templates, first.language
        send_at = first.send_at or ctx.now
        if len(rendered) == 1:
            subject = rendered[0][0]
        else:
            subject = templates.digest_subject(language, {"library": self.library})
        subject = templates.subject_line(language, self.library, subject)
        body = templates.mail_body(language, {"library": self.library, "patron": {"name": first.name},
                                              "items": [{"text": text} for _, text in rendered],
                                              "digest": len(rendered) > 1})
        mid = compose.message_id(key, self.sender)
        raw = compose.build_message(sender=self.sender, sender_name=self.names[language], to_addr=first.address,
                                    to_name=first.name, subject=subject, body=body, message_id=mid, date=send_at,
                                    charset=self.charset)
        return _outbox_row(ctx, patron_id=first.patron_id, kind="notice", key=key, to_addr=first.address,
                           subject=subject, body=body, raw=raw, message_id=mid, not_before=send_at)


def queue_rendered(ctx: Context, settings: MailSettings, first: Due, rendered: list[tuple[str, str]],
                   key: str) -> int | None:
    """Wrap rendered items (subject, paragraph) in the mail template and put the message in the
    outbox, to go at the first item's send time; returns its id, or None if the key was there."""
    return _queue_row(ctx, Letterhead(ctx, settings).message(first, rendered, key))


def queue_message(ctx: Context, *, patron_id, kind, key, to_addr, subject, body, raw, message_id,
                  not_before: dt.datetime | None = None) -> int | None:
    """Put one message in the outbox, once per key, to go at `not_before` (default: now);
    returns its id, or None if the key was there."""
    return _queue_row(ctx, _outbox_row(ctx, patron_id=patron_id, kind=kind, key=key, to_addr=to_addr,
                                       subject=subject, body=body, raw=raw, message_id=message_id,
                                       not_before=not_before))


def _outbox_row(ctx: Context, *, patron_id, kind, key, to_addr, subject, body, raw, message_id,
                not_before: dt.datetime | None) -> dict:
    return {"patron_id": patron_id, "kind": kind, "dedupe_key": key, "to_addr": to_addr, "subject": subject,
            "body": body, "raw": raw, "message_id": message_id, "created_at": ctx.now,
            "not_before": not_before or ctx.now}


def _queue_row(ctx: Context, row: dict) -> int | None:
    o = schema.mail_outbox
    if not db.insert_ignore(ctx.conn, o, [row], ["dedupe_key"]):
        return None
    return ctx.conn.execute(select(o.c.id).where(o.c.dedupe_key == row["dedupe_key"])).scalar_one()


def _mark_routed(ctx: Context, routed: list[tuple[int, str]]) -> None:
    """Each notice that does not go by mail marked with why (phone, none, problem...): a
    statement per reason and chunk."""
    e = schema.notice_events
    mark = (e.update().where(db.one_of_bound(ctx.conn.dialect, e.c.id, "events"), e.c.delivery.is_(None))
            .values(delivery=bindparam("how")))
    by_reason = defaultdict(list)
    for event_id, how in routed:
        by_reason[how].append(event_id)
    for how, events in sorted(by_reason.items()):
        for chunk in db.chunks(events):
            ctx.conn.execute(mark, {"how": how, "events": chunk})


NOTICE_KEY = "notice:"  # the key of a message telling one notice: this and the notice's id


def _notice_key(event_id: int) -> str:
    return f"{NOTICE_KEY}{event_id}"


def _mark_mailed(ctx: Context, keys: list[tuple[int, str]]) -> None:
    """Each mailed notice marked with the outbox message its (event, message key) names, the
    message found by its key: a notice in a message of its own by a statement per chunk (its
    key is its id; most of a night's mail), a digest's by one executemany."""
    e, o = schema.notice_events, schema.mail_outbox
    mailed = db.one_of_bound(ctx.conn.dialect, e.c.id, "events"), e.c.delivery.is_(None)
    own = select(o.c.id).where(o.c.dedupe_key == literal(NOTICE_KEY) + cast(e.c.id, String)).scalar_subquery()
    alone = [event_id for event_id, key in keys if key == _notice_key(event_id)]
    for chunk in db.chunks(alone):
        ctx.conn.execute(e.update().where(*mailed).values(delivery="mailed", outbox_id=own), {"events": chunk})
    digests = [{"event": event_id, "key": key} for event_id, key in keys if key != _notice_key(event_id)]
    if digests:
        message = select(o.c.id).where(o.c.dedupe_key == bindparam("key")).scalar_subquery()
        ctx.conn.execute(e.update().where(e.c.id == bindparam("event"), e.c.delivery.is_(None))
                         .values(delivery="mailed", outbox_id=message), digests)
