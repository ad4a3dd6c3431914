"""Kitami's weekly newsletter: new arrivals (新着図書案内) by NDC subject, and event announcements (行事案内)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from ils.infra import schema, words
from ils.infra.context import Context
from ils.library.clock import LIBRARY_TZ
from ils.library.events import events_to_announce
from ils.mail.settings import MailSettings
from ils.patrons.addresses import address_problem
from ils.patrons.newsletter import EVENTS, NDC_CLASSES

# Each class's name in each language (data/words/<language>.toml [ndc]), read at start-up.
NDC_NAMES = words.section("ndc", NDC_CLASSES)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_TITLES_PER_SUBJECT = 30


def this_weeks_slot(ctx: Context) -> dt.datetime | None:
    """The newsletter's slot this week (seed 000: 毎週火曜日の10時), if it has come."""
    rules = ctx.policy.newsletter
    local = ctx.now.astimezone(LIBRARY_TZ)
    back = (local.weekday() - WEEKDAYS.index(rules.weekday)) % 7
    day = local.date() - dt.timedelta(days=back)
    hour, minute = map(int, rules.time.split(":"))
    slot = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LIBRARY_TZ)
    return slot if slot <= local else None


def queue_newsletter(ctx: Context, settings: MailSettings) -> int:
    """Queue this week's newsletter for every subscriber with a usable address; returns how many.

    A week's issue has one key per patron, so running it again the same week queues nothing.
    """
    from ils.mail.render import queue_message

    if not ctx.policy.newsletter.enabled:
        return 0
    slot = this_weeks_slot(ctx)
    if slot is None:
        return 0
    kinds = ctx.policy.newsletter.kinds
    arrivals = _arrivals(ctx, slot.date()) if "new_arrivals" in kinds else {}
    events = events_to_announce(ctx, slot) if "events" in kinds else []
    chosen = _subscribers(ctx)
    for patron in _event_subscribers(ctx):
        chosen.setdefault(patron, set()).add(EVENTS)
    queued = 0
    with ctx.writing():
        for patron, topics in sorted(chosen.items(), key=lambda item: item[0].id):
            subjects = [_subject(c, arrivals[c]) for c in sorted(topics - {EVENTS}) if arrivals.get(c)]
            announced = events if EVENTS in topics else []
            if not (subjects or announced) or address_problem(patron.email, ctx.policy):
                continue
            if queue_message(ctx, **_message(ctx, settings, patron, subjects, announced, slot)) is not None:
                queued += 1
    return queued


def _arrivals(ctx: Context, week_of: dt.date) -> dict[str, list[dict]]:
    """Titles catalogued in the seven days before the slot, by NDC class."""
    t = schema.titles
    query = (
        select(t.c.title, t.c.author, t.c.ndc)
        .where(t.c.catalogued_on >= week_of - dt.timedelta(days=7), t.c.catalogued_on < week_of,
               t.c.ndc.is_not(None))
        .order_by(t.c.ndc, t.c.title)
    )
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in ctx.conn.execute(query):
        if row.ndc[:1] in NDC_CLASSES and len(grouped[row.ndc[:1]]) < MAX_TITLES_PER_SUBJECT:
            grouped[row.ndc[:1]].append({"title": row.title, "author": row.author})
    return grouped


@dataclass(frozen=True)
class Subscriber:
    id: int
    name: str
    email: str
    language: str


def _subscribers(ctx: Context) -> dict[Subscriber, set[str]]:
    s, p = schema.newsletter_subscriptions, schema.patrons
    query = (
        select(p.c.id, p.c.name, p.c.email, p.c.language, s.c.ndc_class)
        .join(s, s.c.patron_id == p.c.id)
        .where(p.c.status == "active", p.c.email.is_not(None))
        .order_by(p.c.id)
    )
    chosen: dict[Subscriber, set[str]] = defaultdict(set)
    for row in ctx.conn.execute(query):
        chosen[Subscriber(row.id, row.name, row.email, row.language)].add(row.ndc_class)
    return chosen


def _event_subscribers(ctx: Context) -> set[Subscriber]:
    s, p = schema.event_subscriptions, schema.patrons
    query = (
        select(p.c.id, p.c.name, p.c.email, p.c.language)
        .join(s, s.c.patron_id == p.c.id)
        .where(p.c.status == "active", p.c.email.is_not(None))
    )
    return {Subscriber(row.id, row.name, row.email, row.language) for row in ctx.conn.execute(query)}


def _subject(ndc_class: str, titles: list[dict]) -> dict:
    return {"name": NDC_NAMES["ja"][ndc_class], "name_en": NDC_NAMES["en"][ndc_class], "titles": titles}


def _message(ctx: Context, settings: MailSettings, patron, subjects: list[dict], events: list[dict],
             slot: dt.datetime) -> dict:
    from ils.mail import compose  # jinja2: loaded by the mail run only

    language = compose.language_of(patron.language)
    library = ctx.policy.library
    library_vars = dataclasses.asdict(library)
    variables = {"library": library_vars, "patron": {"name": patron.name}, "subjects": subjects,
                 "events": events, "week_of": slot.date()}
    name = f"{language}/newsletter.txt.j2"
    subject = compose.render_block(name, "subject", variables).strip()
    subject = compose.subject_line(language, library_vars, subject)
    body = compose.render_block(name, "body", variables)
    sender = settings.sender or library.mail_from
    key = f"newsletter:{slot.date()}:{patron.id}"
    mid = compose.message_id(key, sender)
    raw = compose.build_message(sender=sender, sender_name=library.name if language == "ja" else library.name_en,
                                to_addr=patron.email, to_name=patron.name, subject=subject, body=body,
                                message_id=mid, date=ctx.now, charset=ctx.policy.notices.charset)
    return {"patron_id": patron.id, "kind": "newsletter", "key": key, "to_addr": patron.email,
            "subject": subject, "body": body, "raw": raw, "message_id": mid}
