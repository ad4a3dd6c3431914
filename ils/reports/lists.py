"""The rows of each branch report, for one day: only the personal data each list needs.

Every list is one query for a set of branches (the night asks for all of them at once);
each row carries `branch_id` so the writer can deal the rows out to the branches.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

from sqlalchemy import and_, func, or_, select

from ils.infra import schema
from ils.library.clock import LIBRARY_TZ
from ils.infra.context import Context
from ils.patrons.addresses import address_problem


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=LIBRARY_TZ)
    return start, start + dt.timedelta(days=1)


def _rows(ctx: Context, query) -> list[dict]:
    return [dict(row._mapping) for row in ctx.conn.execute(query)]


def pull_list(ctx: Context, branch_ids: list[int], day: dt.date) -> list[dict]:
    """資料確保リスト: copies on the branches' shelves allocated to holds, by shelf mark."""
    h, c, t, b = schema.holds, schema.copies, schema.titles, schema.branches
    query = (
        select(c.c.location_branch_id.label("branch_id"), c.c.shelf_mark, c.c.barcode, t.c.title,
               b.c.name.label("pickup"), h.c.id.label("hold"))
        .join(c, c.c.id == h.c.copy_id).join(t, t.c.id == c.c.title_id).join(b, b.c.id == h.c.pickup_branch_id)
        .where(h.c.status == "allocated", c.c.location_branch_id.in_(branch_ids))
        .order_by(c.c.shelf_mark, c.c.barcode)
    )
    return _rows(ctx, query)


def transit_list(ctx: Context, branch_ids: list[int], day: dt.date) -> list[dict]:
    """回送リスト: copies waiting at the branches for the van, one slip line each: where to, for which hold."""
    c, t, h, b = schema.copies, schema.titles, schema.holds, schema.branches
    to_pickup, home = b.alias("to_pickup"), b.alias("home")
    query = (
        select(c.c.location_branch_id.label("branch_id"), c.c.barcode, t.c.title,
               func.coalesce(to_pickup.c.name, home.c.name).label("to"), h.c.id.label("hold"))
        .join(t, t.c.id == c.c.title_id)
        .outerjoin(h, and_(h.c.copy_id == c.c.id, h.c.status == "in_transit"))
        .outerjoin(to_pickup, to_pickup.c.id == h.c.pickup_branch_id)
        .join(home, home.c.id == c.c.owning_branch_id)
        .where(c.c.state == "in_transit", c.c.location_branch_id.in_(branch_ids))
        .order_by("to", c.c.barcode)
    )
    rows = []
    for row in _rows(ctx, query):
        purpose = f"予約 {row['hold']}" if row["hold"] else "返却"
        rows.append({**row, "slip": f"{row['to']} 行き / {purpose} / {row['barcode']} {row['title']}"})
    return rows


def hold_shelf(ctx: Context, branch_ids: list[int], day: dt.date) -> list[dict]:
    """取置資料一覧: ready holds on the branches' hold shelves, by deadline; card and name only."""
    h, c, t, p = schema.holds, schema.copies, schema.titles, schema.patrons
    query = (
        select(h.c.pickup_branch_id.label("branch_id"), h.c.pickup_deadline, p.c.card_number.label("card"), p.c.name,
               t.c.title, c.c.barcode, h.c.ready_on, h.c.id.label("hold"))
        .join(c, c.c.id == h.c.copy_id).join(t, t.c.id == h.c.title_id).join(p, p.c.id == h.c.patron_id)
        .where(h.c.status == "ready", h.c.pickup_branch_id.in_(branch_ids))
        .order_by(h.c.pickup_deadline, p.c.card_number)
    )
    return _rows(ctx, query)


def expired_today(ctx: Context, branch_ids: list[int], day: dt.date) -> list[dict]:
    """Copies of holds that expired at the branches today: clear them from the hold shelf, and where each goes next."""
    h, c, t, b = schema.holds, schema.copies, schema.titles, schema.branches
    start, end = _day_bounds(day)
    nxt, nxt_branch, home = h.alias("nxt"), b.alias("nxt_branch"), b.alias("home")
    query = (
        select(h.c.pickup_branch_id.label("branch_id"), c.c.barcode, t.c.title, h.c.id.label("expired_hold"),
               c.c.owning_branch_id, c.c.state, home.c.name.label("home"),
               nxt.c.id.label("next_hold"), nxt.c.status.label("next_status"), nxt_branch.c.name.label("next_pickup"))
        .join(c, c.c.id == h.c.copy_id).join(t, t.c.id == h.c.title_id).join(home, home.c.id == c.c.owning_branch_id)
        .outerjoin(nxt, and_(nxt.c.copy_id == c.c.id, nxt.c.status.in_(schema.HOLDS_WITH_COPY)))
        .outerjoin(nxt_branch, nxt_branch.c.id == nxt.c.pickup_branch_id)
        .where(h.c.status == "expired", h.c.closed_at >= start, h.c.closed_at < end,
               h.c.pickup_branch_id.in_(branch_ids))
        .order_by(c.c.barcode)
    )
    return [
        {"branch_id": r["branch_id"], "barcode": r["barcode"], "title": r["title"],
         "expired_hold": r["expired_hold"], "next": _where_next(r)}
        for r in _rows(ctx, query)
    ]


def _where_next(row: dict) -> str:
    if row["next_hold"] is not None and row["next_status"] == "ready":
        return f"取置継続: 予約 {row['next_hold']}"
    if row["next_hold"] is not None:
        return f"{row['next_pickup']} へ: 予約 {row['next_hold']}"
    if row["state"] != "on_hold_shelf":
        return "処理済"
    if row["owning_branch_id"] == row["branch_id"]:
        return "書架へ戻す"
    return f"{row['home']} へ返送"


def phone_list(ctx: Context, branch_ids: list[int], day: dt.date) -> list[dict]:
    """電話連絡リスト: holds ready at the branches for patrons who asked to be phoned, readied since the last list."""
    h, t, p = schema.holds, schema.titles, schema.patrons
    query = (
        select(h.c.pickup_branch_id.label("branch_id"), p.c.card_number.label("card"), p.c.name, p.c.phone, t.c.title,
               h.c.ready_on, h.c.pickup_deadline, h.c.id.label("hold"))
        .join(t, t.c.id == h.c.title_id).join(p, p.c.id == h.c.patron_id)
        .where(h.c.status == "ready", h.c.pickup_branch_id.in_(branch_ids), h.c.contact_method == "phone",
               h.c.ready_on >= day - dt.timedelta(days=1), h.c.ready_on <= day)
        .order_by(p.c.card_number, h.c.id)
    )
    return _rows(ctx, query)


def contact_problems(ctx: Context, branch_ids: list[int], day: dt.date) -> list[dict]:
    """Patrons of the branches the library could not reach by mail yesterday or today, and why."""
    e, p, o = schema.notice_events, schema.patrons, schema.mail_outbox
    start, end = _day_bounds(day)
    since = start - dt.timedelta(days=1)
    unsendable = (
        select(p.c.home_branch_id.label("branch_id"), p.c.card_number.label("card"), p.c.name, p.c.email,
               e.c.kind.label("notice"))
        .join(p, p.c.id == e.c.patron_id)
        .where(e.c.delivery == "problem", p.c.home_branch_id.in_(branch_ids),
               e.c.occurred_at >= since, e.c.occurred_at < end)
        .order_by(p.c.card_number, e.c.id)
    )
    rows = [{**row, "problem": _address_words(row["email"], ctx)} for row in _rows(ctx, unsendable)]
    failed = (
        select(p.c.home_branch_id.label("branch_id"), p.c.card_number.label("card"), p.c.name,
               o.c.to_addr.label("email"), o.c.kind.label("notice"), o.c.state, o.c.last_error)
        .join(p, p.c.id == o.c.patron_id)
        .where(o.c.state.in_(("failed", "unconfirmed")), p.c.home_branch_id.in_(branch_ids),
               or_(o.c.created_at >= since, o.c.sent_at >= since))
        .order_by(p.c.card_number, o.c.id)
    )
    for row in _rows(ctx, failed):
        words = "送信失敗" if row["state"] == "failed" else "送信未確認"
        rows.append({"branch_id": row["branch_id"], "card": row["card"], "name": row["name"], "email": row["email"],
                     "notice": row["notice"], "problem": f"{words}: {row['last_error'] or ''}".strip()})
    return rows + _bounced(ctx, branch_ids)


def _bounced(ctx: Context, branch_ids: list[int]) -> list[dict]:
    """Patrons whose registered address bounced (seed 001: 送信したEメールがエラーとなって返って
    くることがあります), until a later delivery to it clears it (`ils mail bounces`)."""
    b, p, o = schema.mail_bounces, schema.patrons, schema.mail_outbox
    query = (
        select(p.c.home_branch_id.label("branch_id"), p.c.card_number.label("card"), p.c.name, p.c.email,
               o.c.kind.label("notice"), b.c.status, b.c.diagnostic)
        .join(p, p.c.id == b.c.patron_id).outerjoin(o, o.c.id == b.c.outbox_id)
        .where(b.c.action == "failed", b.c.cleared_at.is_(None), func.lower(p.c.email) == b.c.address,
               p.c.home_branch_id.in_(branch_ids))
        .order_by(p.c.card_number, b.c.id)
    )
    return [{"branch_id": row["branch_id"], "card": row["card"], "name": row["name"], "email": row["email"],
             "notice": row["notice"] or "",
             "problem": f"エラーで返送: {row['status'] or ''} {row['diagnostic'] or ''}".strip()}
            for row in _rows(ctx, query)]


def _address_words(address: str | None, ctx: Context) -> str:
    if not address:
        return "メールアドレス未登録"
    problem = address_problem(address, ctx.policy)
    return {"email_undeliverable": "送信できないアドレス(「.」の連続や「@」直前の「.」)",
            "email_invalid": "アドレスの形式が正しくない",
            "email_domain_blocked": "フリーメールのアドレス"}.get(problem or "", "送信できないアドレス")


BRANCH_COUNTS = ("予約受付(この館で受取)", "資料確保(この館の書架から)", "取置中", "取置期限切れ(本日)", "確保待ち・準備中")


def night_summary(ctx: Context, branch_ids: list[int] | None, day: dt.date) -> list[dict]:
    """The night's counts: per branch, or for the whole system (branch_ids None)."""
    if branch_ids is None:
        return _system_summary(ctx, day)
    h, c = schema.holds, schema.copies
    start, end = _day_bounds(day)
    night_end = start + dt.timedelta(hours=12)
    counts: dict[str, Counter] = {what: Counter() for what in BRANCH_COUNTS}

    def tally(what, query):
        counts[what].update(dict(ctx.conn.execute(query).all()))

    by_pickup = select(h.c.pickup_branch_id, func.count()).group_by(h.c.pickup_branch_id)
    mine = h.c.pickup_branch_id.in_(branch_ids)
    tally(BRANCH_COUNTS[0], by_pickup.where(mine, h.c.created_at >= start, h.c.created_at < night_end,
                                            h.c.channel != "counter"))
    tally(BRANCH_COUNTS[1], select(c.c.location_branch_id, func.count()).join(c, c.c.id == h.c.copy_id)
          .where(h.c.status == "allocated", c.c.location_branch_id.in_(branch_ids)).group_by(c.c.location_branch_id))
    tally(BRANCH_COUNTS[2], by_pickup.where(mine, h.c.status == "ready"))
    tally(BRANCH_COUNTS[3], by_pickup.where(mine, h.c.status == "expired", h.c.closed_at >= start, h.c.closed_at < end))
    tally(BRANCH_COUNTS[4], by_pickup.where(mine, h.c.status.in_(("waiting", "series_waiting"))))
    return [{"branch_id": b, "what": what, "count": counts[what][b]} for b in branch_ids for what in BRANCH_COUNTS]


def _system_summary(ctx: Context, day: dt.date) -> list[dict]:
    r, s = schema.batch_runs, schema.batch_steps
    start, end = _day_bounds(day)
    runs = ctx.conn.execute(
        select(r).where(r.c.dry_run.is_(False), r.c.as_of >= start, r.c.as_of < end).order_by(r.c.id)
    ).all()
    rows = []
    for run in runs:
        seconds = round((run.finished_at - run.started_at).total_seconds(), 1) if run.finished_at else None
        rows.append({"what": f"run {run.id} ({run.as_of.astimezone(LIBRARY_TZ):%H:%M}): {run.status}, seconds",
                     "count": seconds})
        if run.message:
            rows.append({"what": f"  warning: {run.message}", "count": None})
        for step in ctx.conn.execute(select(s).where(s.c.run_id == run.id).order_by(s.c.started_at)):
            counts = json.loads(step.counts) if step.counts else {}
            for key, value in counts.items():
                if key == "rejected_by_reason":
                    rows += [{"what": f"  {step.step}: rejected {reason}", "count": n} for reason, n in value.items()]
                elif value:
                    rows.append({"what": f"  {step.step}: {key}", "count": value})
    unconfirmed = ctx.conn.execute(
        select(func.count()).select_from(schema.mail_outbox).where(schema.mail_outbox.c.state == "unconfirmed")
    ).scalar_one()
    if unconfirmed:
        rows.append({"what": "warning: unconfirmed mail (check the mail server's log)", "count": unconfirmed})
    return rows or [{"what": "no batch run recorded for this day", "count": None}]
