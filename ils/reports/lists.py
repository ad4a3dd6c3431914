"""The rows of each branch report, for one day: only the personal data each list needs.

Every list is one query for a set of branches (the night asks for all of them at once),
read from sql/ by the report's name, so that a DBA can read and adapt it there; each row
carries `branch_id` so the writer can deal the rows out to the branches. What Python adds
is words: the slip line (templates_reports/transit_slip.txt.j2), where an expired copy goes
next, why a patron cannot be reached (templates_reports/reports.toml, or reports.en.toml
when the staff read English).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import Counter
from collections.abc import Mapping
from operator import itemgetter

from sqlalchemy import Date

from ils.circulation.slips import transit_slips
from ils.frontend.reasons import reason
from ils.infra import i18n, schema
from ils.infra.context import Context
from ils.infra.schema import Instant
from ils.infra.sqlfiles import named_query
from ils.library.clock import LIBRARY_TZ
from ils.patrons.addresses import address_problem
from ils.reports.words import words

BRANCHES = ("branch_ids",)  # the list parameter of every branch report's query


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=LIBRARY_TZ)
    return start, start + dt.timedelta(days=1)


def _rows(ctx: Context, query, **params) -> list[dict]:
    result = ctx.conn.execute(query, params)
    columns = tuple(result.keys())
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]  # one call, not one a row


def pull_list(ctx: Context, branch_ids: list[int], day: dt.date | None = None) -> list[dict]:
    """資料確保リスト: copies on the branches' shelves allocated to holds, by shelf mark (sql/pull.sql).

    Each row says where the copy stands (配架場所), named from its material type and
    handling category in templates_reports/reports.toml.
    """
    shelves = words()["pull"]["locations"]
    result = ctx.conn.execute(named_query("pull", lists=BRANCHES), {"branch_ids": branch_ids})
    columns = tuple(result.keys())
    # Each row made once, from the query's tuple: every column but the two that name the shelf, then the shelf.
    kept = [i for i, key in enumerate(columns) if key not in ("material_type", "category")]
    names, pick = [columns[i] for i in kept], itemgetter(*kept)
    material_type, category = columns.index("material_type"), columns.index("category")
    return [dict(zip(names, pick(row), strict=True), location=shelves.get(row[category]) or shelves.get(row[material_type], ""))
            for row in result.fetchall()]


def pulled_counts(rows: list[dict]) -> Counter[int]:
    """The summary's `pulled` count of each branch: the rows of its pull list."""
    return Counter(map(itemgetter("branch_id"), rows))


def branch_pull_list(ctx: Context, branch_id: int) -> list[dict]:
    """One branch's pull list as the counter shows it (`ils pull list`): the same rows, without the branch column."""
    return [{key: value for key, value in row.items() if key != "branch_id"} for row in pull_list(ctx, [branch_id])]


def transit_list(ctx: Context, branch_ids: list[int], day: dt.date) -> list[dict]:
    """回送リスト: copies waiting at the branches for the van, one slip line each: where to, for which hold."""
    rows = _rows(ctx, named_query("transit", lists=BRANCHES), branch_ids=branch_ids)
    slips = transit_slips((row["to"], row["hold"], row["barcode"], row["title"]) for row in rows)
    for row, slip in zip(rows, slips, strict=True):
        row["slip"] = slip  # the row was made here, for this list: no copy of it
    return rows


def hold_shelf(ctx: Context, branch_ids: list[int], day: dt.date) -> list[dict]:
    """取置資料一覧: ready holds on the branches' hold shelves, by deadline; card and name only."""
    query = named_query("holdshelf", lists=BRANCHES, columns={"pickup_deadline": Date, "ready_on": Date})
    return _rows(ctx, query, branch_ids=branch_ids)


def expired_today(ctx: Context, branch_ids: list[int], day: dt.date) -> list[dict]:
    """Copies of holds that expired at the branches today: clear them from the hold shelf, and where each goes next."""
    start, end = _day_bounds(day)
    query = named_query("expired", lists=(*BRANCHES, "holds_with_copy"),
                        binds={"day_start": Instant, "day_end": Instant})
    rows = _rows(ctx, query, branch_ids=branch_ids, holds_with_copy=schema.HOLDS_WITH_COPY,
                 day_start=start, day_end=end)
    # The words looked up once, not once a row: each lookup reads the staff's language from the environment.
    said = words()["expired"]["words"]
    return [
        {"branch_id": r["branch_id"], "barcode": r["barcode"], "title": r["title"],
         "expired_hold": r["expired_hold"], "next": _where_next(r, said)}
        for r in rows
    ]


def _where_next(row: dict, said: dict) -> str:
    """次の扱い, in `said` ([expired.words] of the staff's language)."""
    if row["next_hold"] is not None and row["next_status"] == "ready":
        return said["kept"].format(hold=row["next_hold"])
    if row["next_hold"] is not None:
        return said["forward"].format(pickup=row["next_pickup"], hold=row["next_hold"])
    if row["state"] != "on_hold_shelf":
        return said["done"]
    if row["owning_branch_id"] == row["branch_id"]:
        return said["reshelve"]
    return said["go_home"].format(home=row["home"])


def phone_list(ctx: Context, branch_ids: list[int], day: dt.date) -> list[dict]:
    """電話連絡リスト: holds ready at the branches for patrons who asked to be phoned, readied since the
    last list, and their holds lapsed since then (有効期限), the title saying so."""
    start, end = _day_bounds(day)
    query = named_query("phone", lists=BRANCHES,
                        binds={"yesterday": Date, "today": Date, "since": Instant, "day_end": Instant},
                        columns={"ready_on": Date, "pickup_deadline": Date})
    rows = _rows(ctx, query, branch_ids=branch_ids, yesterday=day - dt.timedelta(days=1), today=day,
                 since=start - dt.timedelta(days=1), day_end=end)
    lapsed = words()["phone"]["words"]["lapsed"]
    return [{**row, "title": lapsed.format(title=row["title"])} if row["what"] == "lapsed" else row for row in rows]


def contact_problems(ctx: Context, branch_ids: list[int], day: dt.date) -> list[dict]:
    """Patrons of the branches the library could not reach by mail yesterday or today, and why.

    Bounces (seed 001: 送信したEメールがエラーとなって返ってくることがあります) stay on the
    list until a later delivery to the address clears them (`ils mail bounces`).
    """
    start, end = _day_bounds(day)
    query = named_query("problems", lists=BRANCHES, binds={"since": Instant, "day_end": Instant})
    return [
        {"branch_id": row["branch_id"], "card": row["card"], "name": row["name"], "email": row["email"],
         "notice": row["notice"] or "", "problem": _problem_words(row, ctx)}
        for row in _rows(ctx, query, branch_ids=branch_ids, since=start - dt.timedelta(days=1), day_end=end)
    ]


def _problem_words(row: dict, ctx: Context) -> str:
    said = words()["problems"]["words"]
    if row["part"] == 1:
        return _address_words(row["email"], ctx)
    if row["part"] == 2:
        return said[row["state"]].format(detail=row["detail"] or "").strip()
    return said["bounced"].format(code=row["code"] or "", detail=row["detail"] or "").strip()


def _address_words(address: str | None, ctx: Context) -> str:
    said = words()["problems"]["words"]
    if not address:
        return said["no_address"]
    problem = address_problem(address, ctx.policy)
    return said[problem] if problem in ("email_undeliverable", "email_invalid", "email_domain_blocked") \
        else said["unsendable"]


def night_summary(ctx: Context, branch_ids: list[int] | None, day: dt.date,
                  pulled: Mapping[int, int] | None = None) -> list[dict]:
    """The night's counts: per branch, or for the whole system (branch_ids None).

    `pulled`: the branches' pull lists' rows, counted, when they have been read already
    (the night reads them for the pull list just before); else the pull list is read here.
    """
    if branch_ids is None:
        return _system_summary(ctx, day)
    if pulled is None:
        pulled = pulled_counts(pull_list(ctx, branch_ids))
    start, end = _day_bounds(day)
    query = named_query("summary_branch", lists=BRANCHES,
                        binds={"day_start": Instant, "night_end": Instant, "day_end": Instant})
    found = {(row["branch_id"], row["what"]): row["count"]
             for row in _rows(ctx, query, branch_ids=branch_ids, day_start=start,
                              night_end=start + dt.timedelta(hours=12), day_end=end)}
    found.update(((branch_id, "pulled"), count) for branch_id, count in pulled.items())
    labels = words()["summary"]["counts"]
    return [{"branch_id": b, "what": label, "count": found.get((b, what), 0)}
            for b in branch_ids for what, label in labels.items()]


def _reason_words(code: str) -> str:
    """A refusal's reason, short (templates_reports/reports.toml [summary.reasons], or reports.en.toml);
    else the patron's own sentence (data/words/ja.toml, en.toml), else the code."""
    short = words()["summary"].get("reasons", {}).get(code)
    if short:
        return short
    try:
        return reason(code).en if i18n.language() == "en" else reason(code).ja
    except KeyError:
        return code


def _system_summary(ctx: Context, day: dt.date) -> list[dict]:
    summary = words()["summary"]
    said = summary["words"]
    start, end = _day_bounds(day)
    query = named_query("summary_runs", binds={"day_start": Instant, "day_end": Instant},
                        columns={"as_of": Instant, "started_at": Instant, "finished_at": Instant})
    rows = []
    for _, grouped in itertools.groupby(_rows(ctx, query, day_start=start, day_end=end), key=lambda r: r["run_id"]):
        steps = list(grouped)  # one row per step of the run, each carrying the run's columns
        run = steps[0]
        seconds = round((run["finished_at"] - run["started_at"]).total_seconds(), 1) if run["finished_at"] else None
        status = summary["statuses"].get(run["status"], run["status"])
        rows.append({"what": said["run"].format(run=run["run_id"], time=f"{run['as_of'].astimezone(LIBRARY_TZ):%H:%M}",
                                                 status=status), "count": seconds})
        if run["message"]:
            rows.append({"what": said["warning"].format(message=run["message"]), "count": None})
        for step in steps:
            counts = json.loads(step["counts"]) if step["counts"] else {}
            name = summary["steps"].get(step["step"], step["step"])
            for key, value in counts.items():
                if key == "rejected_by_reason":
                    rows += [{"what": said["rejected"].format(step=name, reason=_reason_words(reason)), "count": n}
                             for reason, n in value.items()]
                elif value:
                    rows.append({"what": said["count"].format(step=name, key=summary["keys"].get(key, key)),
                                 "count": value})
    unconfirmed = ctx.conn.execute(named_query("summary_mail")).scalar_one()
    if unconfirmed:
        rows.append({"what": said["unconfirmed"], "count": unconfirmed})
    return rows or [{"what": said["no_run"], "count": None}]
