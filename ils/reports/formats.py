"""Reports as people print them: A4 text pages with headers, CSV for Japanese Excel, printable HTML."""

from __future__ import annotations

import datetime as dt
import io
import string
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from itertools import accumulate, repeat

import jinja2
from markupsafe import Markup, escape
from wcwidth import wcswidth

from ils.infra import i18n
from ils.infra.output import write_csv_columns
from ils.infra.resources import report_templates_path
from ils.library.clock import staff_date
from ils.mail.compose import Environment
from ils.reports import Report
from ils.reports.text_table import text_table
from ils.reports.words import words

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

    @property
    def headers(self) -> list[str]:
        return [header for _, header in self.report.columns]

    @cached_property
    def values(self) -> list[list]:
        """Column by column (not row by row): each of the report's columns, its values as the query gave them."""
        return [list(map(dict.get, self.rows, repeat(key))) for key, _ in self.report.columns]

    @cached_property
    def printed(self) -> list[list[str]]:
        """Column by column: the values as printed, worked out once for all the formats."""
        return [_printed(column) for column in self.values]


def printed_date(day: dt.date) -> str:
    """The report's date as staff read it, in their language (ils.library.clock.staff_date)."""
    return staff_date(day, i18n.language())


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _printed(column: list) -> list[str]:
    # A column holds one kind of value, or text and numbers; looked at once, not cell by cell.
    kinds = set(map(type, column))
    if kinds <= {str}:
        return column
    return list(map(str if kinds <= {str, int} else _cell, column))


class _CharacterCells(dict):
    """Each character's display cells as clip counts them (wcwidth's, never below 0), worked out once."""

    def __missing__(self, character: str) -> int:
        self[character] = cells = max(wcswidth(character), 0)
        return cells


_CHARACTER_CELLS = _CharacterCells()


def clip(text: str, width: int = MAX_CELL_WIDTH) -> str:
    """Clip to `width` display cells (a full-width character takes two)."""
    if wcswidth(text) <= width:
        return text
    # Each character's cells, added up: the text keeps the characters that fit before the "…".
    used = list(accumulate(map(_CHARACTER_CELLS.__getitem__, text)))
    return text[: bisect_right(used, width - 1)] + "…"


def _clipped(column: list[str]) -> list[str]:
    # No character takes more than two cells: a column of short texts needs no measuring.
    if max(map(len, column), default=0) * 2 <= MAX_CELL_WIDTH:
        return column
    widths = list(map(wcswidth, column))
    if max(widths) <= MAX_CELL_WIDTH:
        return column
    return [clip(text) if width > MAX_CELL_WIDTH else text for text, width in zip(column, widths, strict=True)]


def as_text(sheet: Sheet) -> str:
    """Pages of LINES_PER_PAGE lines, each with the branch, the date and 'page n/N'; form feeds between."""
    table = list(zip(*map(_clipped, sheet.printed), strict=True))
    per_page = LINES_PER_PAGE - HEADER_LINES - 2
    chunks = [table[i : i + per_page] for i in range(0, len(table), per_page)] or [[]]
    pages, said, day = [], words()["sheet"], printed_date(sheet.day)
    for number, chunk in enumerate(chunks, start=1):
        page = said["page"].format(number=number, pages=len(chunks))
        title = f"{sheet.heading}    {day}    {page}"
        body = text_table(sheet.headers, chunk) if chunk else said["empty"]
        pages.append(f"{title}\n{'=' * min(wcswidth(title), 100)}\n\n{body}\n")
    return "\f".join(pages)


def _csv_column(values: list, printed: list[str]) -> list:
    # Numbers stay numbers so that Excel can add up a column; everything else as printed.
    # The column's kinds of value are looked at once, not cell by cell (as in _printed).
    kinds = [issubclass(kind, (int, float)) for kind in set(map(type, values))]
    if not any(kinds):
        return printed
    if all(kinds):
        return values
    return [value if isinstance(value, (int, float)) else text for value, text in zip(values, printed, strict=True)]


def as_csv(sheet: Sheet, encoding: str = "utf-8-sig") -> bytes:
    """CSV that Japanese Excel opens without mojibake (UTF-8 with a BOM, or CP932) and cannot run as formulas."""
    buffer = io.StringIO()
    write_csv_columns(buffer, sheet.headers, list(map(_csv_column, sheet.values, sheet.printed)), line_end="\r\n")
    return buffer.getvalue().encode(encoding, errors="replace")


def _escaped(column: list[str]) -> list[str]:
    """The column's cells escaped for HTML (markupsafe's escape), in one pass over the whole column."""
    joined = "\0".join(column)
    escaped = escape(joined)
    if len(escaped) == len(joined):  # escaping only lengthens: no cell had anything to escape
        return column
    if not column or joined.count("\0") != len(column) - 1:  # a cell holding NUL itself: one by one
        return [str(escape(text)) for text in column]
    return str(escaped).split("\0")


@cache
def _html_template() -> jinja2.Template:
    # One environment and one compiled template a process (it was one a sheet), read once:
    # the night does not look at the file's date again for every sheet.
    env = Environment(loader=jinja2.FileSystemLoader(str(report_templates_path())), autoescape=True,
                      undefined=jinja2.StrictUndefined, auto_reload=False)
    env.filters["date"] = printed_date
    env.filters["cell"] = _cell
    return env.get_template("report.html.j2")


def _css_string(text: str) -> str:
    return '"' + "".join(ch if ch.isalnum() or ch in " /-.:()" else f"\\{ord(ch):x} " for ch in text) + '"'


def page_counter(page: str) -> Markup:
    """A page line (`[sheet] page`, "{number}/{pages} ページ") as CSS `content`, the browser counting the pages:
    counter(page) "/" counter(pages) " ページ"."""
    parts = []
    for text, field, _spec, _conversion in string.Formatter().parse(page):
        if text:
            parts.append(_css_string(text))
        if field:
            parts.append({"number": "counter(page)", "pages": "counter(pages)"}[field])
    return Markup(" ".join(parts))


def html_words(language: str | None = None) -> dict:
    """What report.html.j2 is given besides the sheet: the language and its words."""
    language = language or i18n.language()
    said = words(language)
    return {"language": language, "words": said["sheet"], "page_counter": page_counter(said["sheet"]["page"])}


def as_html(sheet: Sheet) -> str:
    """The sheet as printable HTML (templates_reports/report.html.j2); its table's cells come escaped.

    The template prints the cells without escaping them again: markupsafe's escape, a cell at
    a time, took most of a night's HTML time; a column at a time it is one call.
    """
    table = list(zip(*map(_escaped, sheet.printed), strict=True))
    return _html_template().render(sheet=sheet, columns=sheet.report.columns, table=table, **html_words())


# Each format: its file extension and how a sheet is written in it.
FORMATS: dict[str, tuple[str, Callable[[Sheet], str | bytes]]] = {
    "text": ("txt", as_text), "csv": ("csv", as_csv), "html": ("html", as_html),
}
