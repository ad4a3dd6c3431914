"""Reports as people print them: A4 text pages with headers, CSV for Japanese Excel, printable HTML."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass

import jinja2
from tabulate import tabulate
from wcwidth import wcswidth

from ils.infra.output import write_csv
from ils.infra.resources import report_templates_path
from ils.mail.compose import jdate
from ils.reports import Report
from ils.reports.words import WORDS

LINES_PER_PAGE = 60  # A4 portrait at 10 points, with margins
HEADER_LINES = 4
MAX_CELL_WIDTH = 40  # display cells; longer titles are clipped with …


@dataclass(frozen=True)
class Sheet:
    """One report for one branch (or the whole system) and one day, ready to format."""

    report: Report
    library: str
    branch: str
    day: dt.date
    rows: list[dict]

    @property
    def heading(self) -> str:
        return f"{self.library}  {self.branch}  {self.report.title}"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def clip(text: str, width: int = MAX_CELL_WIDTH) -> str:
    """Clip to `width` display cells (a full-width character takes two)."""
    if wcswidth(text) <= width:
        return text
    out, used = "", 0
    for ch in text:
        cells = max(wcswidth(ch), 0)
        if used + cells > width - 1:
            break
        out, used = out + ch, used + cells
    return out + "…"


def as_text(sheet: Sheet) -> str:
    """Pages of LINES_PER_PAGE lines, each with the branch, the date and 'page n/N'; form feeds between."""
    headers = [header for _, header in sheet.report.columns]
    table = [[clip(_cell(row.get(key))) for key, _ in sheet.report.columns] for row in sheet.rows]
    per_page = LINES_PER_PAGE - HEADER_LINES - 2
    chunks = [table[i : i + per_page] for i in range(0, len(table), per_page)] or [[]]
    pages = []
    for number, chunk in enumerate(chunks, start=1):
        page = WORDS["sheet"]["page"].format(number=number, pages=len(chunks))
        title = f"{sheet.heading}    {jdate(sheet.day)}    {page}"
        body = tabulate(chunk, headers=headers, disable_numparse=True) if chunk else WORDS["sheet"]["empty"]
        pages.append(f"{title}\n{'=' * min(wcswidth(title), 100)}\n\n{body}\n")
    return "\f".join(pages)


def _csv_value(value):
    # Numbers stay numbers so that Excel can add up a column; everything else as printed.
    return value if isinstance(value, (int, float)) else _cell(value)


def as_csv(sheet: Sheet, encoding: str = "utf-8-sig") -> bytes:
    """CSV that Japanese Excel opens without mojibake (UTF-8 with a BOM, or CP932) and cannot run as formulas."""
    buffer = io.StringIO()
    rows = ([_csv_value(row.get(key)) for key, _ in sheet.report.columns] for row in sheet.rows)
    write_csv(buffer, [header for _, header in sheet.report.columns], rows, line_end="\r\n")
    return buffer.getvalue().encode(encoding, errors="replace")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(report_templates_path())),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["jdate"] = jdate
    env.filters["cell"] = _cell
    return env


def as_html(sheet: Sheet) -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(sheet=sheet, columns=sheet.report.columns)


# Each format: its file extension and how a sheet is written in it.
FORMATS: dict[str, tuple[str, Callable[[Sheet], str | bytes]]] = {
    "text": ("txt", as_text), "csv": ("csv", as_csv), "html": ("html", as_html),
}
