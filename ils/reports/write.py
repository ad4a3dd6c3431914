"""Making the sheets, and writing every report of every branch for a day into a dated folder."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from ils.errors import IlsError
from ils.infra import schema
from ils.infra.context import Context
from ils.infra.files import private_dir, write_private
from ils.infra.i18n import _
from ils.infra.sections import section_settings
from ils.reports import REPORTS
from ils.reports import report as branch_report
from ils.reports.formats import FORMATS, Sheet, as_csv
from ils.reports.lists import pulled_counts
from ils.reports.words import words

FILE_WRITERS = 8  # files written (and synced to disk) at once
T = TypeVar("T")


class ReportSettings(BaseModel):
    """ils.toml [reports]: where the night's reports go, in which formats."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    directory: str = "reports"
    formats: tuple[Literal["text", "csv", "html"], ...] = ("text", "csv", "html")
    csv_encoding: Literal["utf-8-sig", "cp932"] = "utf-8-sig"
    # 予約多数資料: list a title whose active holds exceed this many per loanable copy (docs/reports.md).
    holds_per_copy_threshold: float = Field(default=5, ge=0)
    # Each branch's morning PDF beside its lists (ils/reports/pdf.py): a few seconds for a
    # city, so a library that prints it asks for it.
    morning_pdf: bool = False


def report_settings(raw: dict) -> ReportSettings:
    return section_settings(ReportSettings, raw, "reports")


def branches(ctx: Context) -> list:
    b = schema.branches
    return list(ctx.conn.execute(select(b.c.id, b.c.code, b.c.name).order_by(b.c.sort_order, b.c.code)))


def make_sheet(ctx: Context, name: str, branch_code: str | None, day: dt.date) -> Sheet:
    """One report for one branch (or, for the summary, the whole system when branch_code is None)."""
    report = _report(name)
    if branch_code is None:
        if not report.system_wide:
            raise IlsError(_("the {name} report is made per branch: give --branch").format(name=name))
        # the "branch" of the whole system's summary
        return Sheet(report, ctx.policy.library.name, words()["sheet"]["system"], day, report.rows(ctx, None, day))
    found = next((b for b in branches(ctx) if b.code == branch_code), None)
    if found is None:
        raise IlsError(_("no branch with code {branch_code!r}").format(branch_code=branch_code))
    return Sheet(report, ctx.policy.library.name, found.name, day, report.rows(ctx, [found.id], day))


def sheets_for_all(ctx: Context, name: str, day: dt.date, **given) -> list[tuple[str, Sheet]]:
    """The report for every branch, from one query: (branch code, sheet) pairs.

    `given`: what the report's rows are made from besides the day, when already read
    (the branch summary's `pulled` counts).
    """
    report = _report(name)
    every = branches(ctx)
    dealt: dict[int, list[dict]] = {b.id: [] for b in every}
    for row in report.rows(ctx, list(dealt), day, **given):
        dealt[row["branch_id"]].append(row)
    return [(b.code, Sheet(report, ctx.policy.library.name, b.name, day, dealt[b.id])) for b in every]


def day_folder(settings: ReportSettings, base: Path, day: dt.date) -> Path:
    """<directory>/<day>/, made private if it is not there yet."""
    return private_dir(private_dir(Path(base) / settings.directory).resolve() / day.isoformat())


def _report(name: str):
    """The report `name` in the words of the staff's language, asked for as it is made."""
    if name not in REPORTS:
        raise IlsError(_("no report {name!r}; reports are {reports}").format(name=name, reports=', '.join(REPORTS)))
    return branch_report(name)


def encoded(sheet: Sheet, fmt: str, csv_encoding: str = "utf-8-sig") -> bytes:
    if fmt == "csv":
        return as_csv(sheet, csv_encoding)
    written = FORMATS[fmt][1](sheet)
    return written if isinstance(written, bytes) else written.encode("utf-8")


def _folder_name(code: str) -> str:
    """A branch code as a folder name inside the day's folder, whatever the code.

    Import refuses codes that cannot be a folder name (docs/import-formats.md); this
    second guard is for a database filled before that rule or by hand, so that no code
    ever writes outside the day's folder. It also spares Windows staff names their
    file shares cannot show (a:b, "a b").
    """
    name = re.sub(r"[\\/:*?\"<>|\s\x00-\x1f\x7f]", "_", code)
    return name if name.strip(".") else f"_{name}"


def _system_sheets(ctx: Context, day: dt.date) -> list[tuple[str | None, Sheet]]:
    return [(None, make_sheet(ctx, "summary", None, day))]


def _night_queries(ctx: Context, day: dt.date) -> list[Callable[[], Sequence[tuple[str | None, Sheet]]]]:
    """Each report's sheets for every branch, in the order of REPORTS, then the system's summary.

    The branch summary counts the pull lists' rows as the pull list read them (the calls
    run one after the other, the pull list first) instead of reading the allocated holds
    and their copies a second time: a quarter of a second of the city's reports.
    """
    read: dict[str, Counter[int]] = {}

    def pull() -> list[tuple[str, Sheet]]:
        sheets = sheets_for_all(ctx, "pull", day)
        read["pulled"] = pulled_counts([row for _branch, sheet in sheets for row in sheet.rows])
        return sheets

    def summary() -> list[tuple[str, Sheet]]:
        return sheets_for_all(ctx, "summary", day, pulled=read.get("pulled"))  # None: not read yet, counted there

    made = {"pull": pull, "summary": summary}
    return [*(made.get(name) or partial(sheets_for_all, ctx, name, day) for name in REPORTS),
            partial(_system_sheets, ctx, day)]


def _in_turn(reader: Executor, calls: list[Callable[[], T]]) -> Iterator[T]:
    """The calls' results in order, `reader` working through all of them while the caller works on each.

    All of them, not one ahead: one ahead, the queries sat idle while the pull list (the
    biggest to format) was formatted after the transit list's quick query, and the branch
    summary's counts (a scan of every hold) were queried last, with nothing left to format
    beside them. The reports not yet formatted may wait in memory at once; one handed over is
    let go of here (its future leaves the queue), so it is freed once formatted instead of
    staying beside the rest till the last: the city's reports step peaked ~20 MB above where
    it began, ~9 MB now (night peak 274 -> 257 MB, with the staged moves' OR FAIL).
    """
    running = deque(reader.submit(call) for call in calls)
    while running:
        yield running.popleft().result()


def write_all(ctx: Context, day: dt.date, settings: ReportSettings, base: Path) -> int:
    """Every report of every branch, and the system's night summary, under <directory>/<day>/.

    Folders and files are private to the owner (and the [files] group): see docs/reports.md.
    """
    folder = day_folder(settings, base, day)
    # The queries run one after the other on the step's connection, in a thread of their
    # own: the database works on the next reports (SQLite and psycopg let go of Python's
    # lock while they do) while this thread formats the last one. The connection is never
    # used by both at once: this thread leaves it alone until the queries are done.
    # Each file is made durable (fsync) before it replaces the old one. A few writers at
    # once let the file system commit them together: one after the other, the city's 591
    # files waited for 591 commits of the disk's journal.
    queries = _night_queries(ctx, day)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reports-query") as reader, \
            ThreadPoolExecutor(max_workers=FILE_WRITERS, thread_name_prefix="reports-write") as writers:
        pending: list[Future] = []
        made: set[Path] = {folder}
        for name, sheets in zip([*REPORTS, "summary"], _in_turn(reader, queries), strict=True):
            for code, sheet in sheets:
                where = folder if code is None else folder / _folder_name(code)
                if where not in made:  # a branch's folder, made once for its seven reports
                    made.add(private_dir(where))
                for fmt in settings.formats:
                    data = encoded(sheet, fmt, settings.csv_encoding)
                    pending.append(writers.submit(write_private, where / f"{name}.{FORMATS[fmt][0]}", data))
        for done in pending:
            done.result()  # a file that could not be written fails the step, as before
    return len(pending)
