"""The one renderer: every command that prints records prints them here, as a table, JSON or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TextIO

from ils.infra import i18n
from ils.infra.i18n import column
from ils.library.clock import LIBRARY_TZ, staff_date

FORMATS = ("table", "json", "csv")
# A spreadsheet reads a cell that starts with one of these as a formula (OWASP, "CSV
# injection"): `=HYPERLINK(...)` in an imported title would become a live link.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A text column's cells each after a NUL: a formula start after a NUL. The pattern begins
# with that NUL, a literal the regex engine scans for at C speed; begun with (?:^|\0) it
# was tried at every character (the night's CSV reports: 45 ms against 10).
_FORMULA_CELL = re.compile("\0[=+\\-@\t\r]")
_NUMBERS = {int, float, Decimal, type(None)}


def _for_people(value):
    """A cell of a table on the terminal in Japanese: dates as staff read them (2026年12月3日(木),
    10:15; ils.library.clock.staff_date). In English, and in --json and --csv, cells are _plain:
    the ISO form, which programs read and English-reading staff copy into other systems."""
    if isinstance(value, dt.datetime):
        local = value.astimezone(LIBRARY_TZ)
        return f"{staff_date(local.date(), 'ja')} {local:%H:%M}"
    if isinstance(value, dt.date):
        return staff_date(value, "ja")
    return value


def _plain(value):
    if isinstance(value, dt.datetime):
        # instants are stored in UTC; people read them in the library's time zone
        return value.astimezone(LIBRARY_TZ).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def spreadsheet_text(value):
    """A CSV cell Excel and LibreOffice show as text: text that could start a formula gets a leading '.

    Numbers stay numbers: `-3` written from an int cannot be a formula, and a spreadsheet
    should still add up the column (docs/reports.md). Any other value is written as its text.
    """
    if value is None or isinstance(value, (int, float, Decimal)):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def spreadsheet_column(values: Sequence) -> Sequence:
    """spreadsheet_text for each cell of a column, looked at as a whole (a report's column holds one kind of value).

    A column of numbers, or of text that nothing starts like a formula, is written as it is:
    one search over the whole column instead of a call per cell (a night's reports have 300k).
    """
    kinds = set(map(type, values))
    if kinds <= _NUMBERS:
        return values
    if kinds <= {str} and not _FORMULA_CELL.search("\0" + "\0".join(values)):
        return values
    return list(map(spreadsheet_text, values))


def write_csv_columns(stream: TextIO, header: Sequence[str], columns: Sequence[Sequence], line_end: str = "\n") -> None:
    """write_csv for a table given column by column (the reports): the same bytes, made safe a column at a time."""
    writer = csv.writer(stream, lineterminator=line_end)
    writer.writerow([spreadsheet_text(cell) for cell in header])
    safe = list(map(spreadsheet_column, columns))
    texts = _unquoted(safe)
    if texts is None:
        writer.writerows(zip(*safe, strict=True))
    elif lines := list(map(",".join, zip(*texts, strict=True))):
        stream.write(line_end.join(lines) + line_end)


# What makes the csv module quote a cell (its delimiter, its quote, a line end), and NUL, which
# it may refuse: a table without them is written joined by commas, the bytes the writer writes.
_QUOTED = ('"', "\r", "\n", "\0")


def _csv_text(value) -> str:
    """A cell as the csv module writes it: nothing for None, a float's repr, any other value's str."""
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def _unquoted(columns: list[Sequence]) -> list[Sequence[str]] | None:
    """The columns' cells as the csv module writes them, if no cell needs quoting; else None.

    The module looks at every character of every cell, twice, each time searching its line
    end for it; a column is looked at here as one text, each of a few characters searched for
    at C speed (the city night's 197 CSV sheets: 0.99 G instructions, 0.63 G). A row of one
    empty cell is written quoted ("") by the module, so a one-column table with an empty cell
    is left to it.
    """
    if not columns:
        return None
    texts = []
    for cells in columns:
        try:
            joined = ",".join(cells)  # a column of text, as most are: no cell looked at in Python
        except TypeError:  # numbers, None: their text first
            cells = list(map(_csv_text, cells))
            joined = ",".join(cells)
        if joined.count(",") != len(cells) - 1 or any(mark in joined for mark in _QUOTED):
            return None
        texts.append(cells)
    if len(texts) == 1 and not all(texts[0]):
        return None
    return texts


def write_csv(stream: TextIO, header: Sequence[str], rows: Iterable[Sequence], line_end: str = "\n") -> None:
    """The one CSV writer (reports and every --csv): a header, then the rows, every cell made spreadsheet-safe."""
    writer = csv.writer(stream, lineterminator=line_end)
    writer.writerow([spreadsheet_text(cell) for cell in header])
    writer.writerows([spreadsheet_text(cell) for cell in row] for row in rows)


def render(
    rows: Sequence[dict],
    fmt: str = "table",
    columns: Sequence[str] | None = None,
    stream: TextIO | None = None,
) -> None:
    stream = stream or sys.stdout
    columns = list(columns or (rows[0].keys() if rows else []))
    # The staff's language is looked up once per table, not once per cell.
    cell = _for_people if fmt == "table" and i18n.language() == "ja" else _plain
    records = [{c: cell(row.get(c)) for c in columns} for row in rows]
    if fmt == "json":
        stream.write(json.dumps(records, ensure_ascii=False, indent=2) + "\n")
    elif fmt == "csv":
        write_csv(stream, columns, ([record[c] for c in columns] for record in records))
    elif fmt == "table":
        if records:
            from tabulate import tabulate  # only a table needs it: a quiet batch run does not load it

            # tabulate measures East Asian wide characters with wcwidth, so Japanese
            # titles line up.
            headers = {c: column(c) for c in columns}  # for people: in the staff's language
            stream.write(tabulate(records, headers=headers, disable_numparse=True) + "\n")
    else:
        raise ValueError(f"unknown format {fmt!r}")
