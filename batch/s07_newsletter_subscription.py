"""Step: apply newsletter subscriptions from the web (メールマガジンの登録, seed 000): NDC subjects and 行事案内."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from ils.exchange.journal import Change, newsletter_text, record_changes
from ils.frontend.parsing import Unparseable
from ils.frontend.pending import Verdict, in_receipt_order, patron_refusal, run_requests
from ils.infra import db, schema
from ils.infra.context import Context
from ils.patrons.addresses import address_problem
from ils.patrons.newsletter import EVENTS, NDC_CLASSES

NAME = "newsletter_subscription"
INTRADAY = True
IN_DRY_RUN = True

REFUSED = "newsletter_refused"
ACTIONS = ("subscribe", "unsubscribe")
ALL = "all"


def run(ctx: Context) -> dict:
    return run_requests(ctx, "newsletter", _judge_all)


def _judge_all(ctx: Context, rows: list, patrons: dict) -> list[Verdict]:
    verdicts, ordered = in_receipt_order(ctx, rows, patrons, REFUSED, lambda row: parse_target(row.target))
    wanted = _current(ctx, {patrons[r.card_number.strip()].id for _, r, _ in ordered
                            if (r.card_number or "").strip() in patrons})
    before = {pid: newsletter_text(topics - {EVENTS}) for pid, topics in wanted.items()}
    changed: set[int] = set()
    for _, row, (action, topics) in ordered:
        verdicts.append(_judge(ctx, row, patrons.get((row.card_number or "").strip()), action, topics, wanted, changed))
    _write(ctx, {pid: wanted[pid] for pid in changed})
    # The ILS exports the subject classes too (patrons.csv `newsletter`): journaled, so the
    # morning's import does not undo the patron's choice (docs/integration.md). 行事案内 is ours alone.
    record_changes(ctx.conn, [Change("newsletter_change", pid, "newsletter", before.get(pid, ""),
                                     newsletter_text(wanted[pid] - {EVENTS})) for pid in sorted(changed)],
                   at=ctx.now, actor="batch", run_id=ctx.run_id)
    return verdicts


def parse_target(target: str | None) -> tuple[str, frozenset[str]]:
    """`subscribe:9,4,events` or `unsubscribe:9` (NDC classes 0-9, `events` for 行事案内), or `unsubscribe:all`."""
    action, _, listed = (target or "").strip().partition(":")
    topics = frozenset(t.strip() for t in listed.split(",") if t.strip())
    if action not in ACTIONS or not topics:
        raise Unparseable("malformed")
    if topics == {ALL} and action == "unsubscribe":
        return action, topics
    if not topics <= set(NDC_CLASSES) | {EVENTS}:
        raise Unparseable("malformed")
    return action, topics


def _current(ctx: Context, patron_ids: set[int]) -> dict[int, set[str]]:
    s, e = schema.newsletter_subscriptions, schema.event_subscriptions
    found: dict[int, set[str]] = defaultdict(set)
    for chunk in db.chunks(sorted(patron_ids)):
        for row in ctx.conn.execute(select(s.c.patron_id, s.c.ndc_class).where(db.one_of(ctx.conn, s.c.patron_id, chunk))):
            found[row.patron_id].add(row.ndc_class)
        for patron_id in ctx.conn.execute(select(e.c.patron_id).where(db.one_of(ctx.conn, e.c.patron_id, chunk))).scalars():
            found[patron_id].add(EVENTS)
    return found


def _judge(ctx: Context, row, patron, action: str, topics: frozenset, wanted: dict, changed: set) -> Verdict:
    refusal = patron_refusal(ctx, patron, row.channel)
    if refusal:
        return Verdict(row.id, "rejected", refusal, patron.id if patron else None, REFUSED if patron else None)
    if not ctx.policy.newsletter.enabled or not _offered(ctx, topics):
        return Verdict(row.id, "rejected", "newsletter_not_offered", patron.id, REFUSED)
    if action == "subscribe" and (not patron.email or address_problem(patron.email, ctx.policy)):
        return Verdict(row.id, "rejected", "contact_unavailable", patron.id, REFUSED)
    mine = wanted[patron.id]
    if action == "subscribe":
        mine.update(topics)
    elif ALL in topics:
        mine.clear()
    else:
        mine.difference_update(topics)
    changed.add(patron.id)
    return Verdict(row.id, "applied", None, patron.id, "newsletter_changed", details={"topics": sorted(mine)})


def _offered(ctx: Context, topics: frozenset) -> bool:
    """The profile's newsletter carries every kind asked for (new arrivals by subject, 行事案内)."""
    kinds = ctx.policy.newsletter.kinds
    wants_events, wants_subjects = EVENTS in topics, bool(topics - {EVENTS, ALL})
    return (not wants_events or "events" in kinds) and (not wants_subjects or "new_arrivals" in kinds)


def _write(ctx: Context, subscriptions: dict[int, set[str]]) -> None:
    s, e = schema.newsletter_subscriptions, schema.event_subscriptions
    for chunk in db.chunks(sorted(subscriptions)):
        ctx.conn.execute(s.delete().where(db.one_of(ctx.conn, s.c.patron_id, chunk)))
        ctx.conn.execute(e.delete().where(db.one_of(ctx.conn, e.c.patron_id, chunk)))
    subjects = [{"patron_id": pid, "ndc_class": t} for pid, topics in subscriptions.items() for t in sorted(topics - {EVENTS})]
    events = [{"patron_id": pid} for pid, topics in sorted(subscriptions.items()) if EVENTS in topics]
    if subjects:
        ctx.conn.execute(s.insert(), subjects)
    if events:
        ctx.conn.execute(e.insert(), events)
