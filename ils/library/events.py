"""The library's events (行事) that Kitami's newsletter announces (行事案内): recording them and choosing which to announce."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ils.errors import IlsError
from ils.infra import schema
from ils.infra.context import Context
from ils.infra.i18n import _

ANNOUNCE_AFTER = dt.timedelta(days=7)  # one newsletter issue's week


def record_event(ctx: Context, held_on: dt.date, title: str, place: str | None = None) -> int:
    """Record an event to announce in the next newsletter; returns its id."""
    title = title.strip()
    if not title or len(title) > 200:
        raise IlsError(_("an event needs a title of 1 to 200 characters"))
    if held_on < ctx.today:
        raise IlsError(_("the event is on {held_on}, which has passed; an announcement is for what is to come").format(held_on=held_on))
    e = schema.library_events
    with ctx.writing():
        return ctx.conn.execute(
            e.insert().values(held_on=held_on, title=title, place=(place or "").strip()[:100] or None,
                              recorded_at=ctx.now).returning(e.c.id)
        ).scalar_one()


def events_to_announce(ctx: Context, slot: dt.datetime) -> list[dict]:
    """Events recorded in the week before a newsletter slot and still to come: each is
    announced once, in the first issue after it was recorded."""
    e = schema.library_events
    query = (
        select(e.c.held_on, e.c.title, e.c.place)
        .where(e.c.recorded_at >= slot - ANNOUNCE_AFTER, e.c.recorded_at < slot, e.c.held_on >= slot.date())
        .order_by(e.c.held_on, e.c.id)
    )
    return [dict(row._mapping) for row in ctx.conn.execute(query)]


def list_events(ctx: Context) -> list[dict]:
    """Events to come, soonest first."""
    e = schema.library_events
    query = select(e.c.id, e.c.held_on, e.c.title, e.c.place, e.c.recorded_at).where(e.c.held_on >= ctx.today)
    return [dict(row._mapping) for row in ctx.conn.execute(query.order_by(e.c.held_on, e.c.id))]
