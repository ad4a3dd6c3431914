"""Library-wide lists for acquisitions, on demand: 予約多数資料 (titles with many holds per loanable copy) with a new hold's expected wait."""

from __future__ import annotations

import datetime as dt

from ils.holds.wait import title_waits, wait_words
from ils.infra import i18n
from ils.infra.context import Context
from ils.infra.sqlfiles import named_query
from ils.reports import worded
from ils.reports.formats import Sheet
from ils.reports.words import words

NAME = "holds_per_copy"


def titles_over(ctx: Context, threshold: float) -> list[dict]:
    """The titles whose active holds exceed `threshold` per loanable copy (sql/holds_per_copy.sql)."""
    result = ctx.conn.execute(named_query(NAME), {"threshold": threshold})
    columns = tuple(result.keys())
    return [dict(zip(columns, row, strict=True)) for row in result]


def holds_per_copy(ctx: Context, threshold: float) -> list[dict]:
    """予約多数資料: each title over the threshold with its holds, copies, holds per copy and
    the expected wait of a hold placed now (ils/holds/wait.py), worked out for all of them at once."""
    rows = titles_over(ctx, threshold)
    waits = title_waits(ctx.conn, ctx.policy, ctx.now, [row["title_id"] for row in rows])
    language = i18n.language()  # the wait in the staff's words (data/words/<language>.toml)
    listed = []
    for row in rows:
        days = waits[row["title_id"]].new_hold
        listed.append({**row, "ratio": round(row["holds"] / row["copies"], 1) if row["copies"] else None,
                       "wait_days": None if days is None else max(1, round(days)), "wait": wait_words(days, language)})
    return listed


# Not in ils.reports.REPORTS: those are made per branch and written by the night; this one
# is the whole library's and made when acquisitions ask for it (docs/reports.md).
LIBRARY_REPORTS = {NAME: holds_per_copy}


def library_sheet(ctx: Context, name: str, day: dt.date, threshold: float) -> Sheet:
    """The library-wide report `name` as a sheet, for the same text, CSV and HTML as the branch reports."""
    report = worded(name, LIBRARY_REPORTS[name], system_wide=True)
    return Sheet(report, ctx.policy.library.name, words()["sheet"]["system"], day, report.rows(ctx, threshold))
