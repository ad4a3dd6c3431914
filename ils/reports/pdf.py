"""The morning PDF: one branch's lists for one day, in the order staff work them, on A4 in Japanese.

reportlab sets the text in the PDF's standard Japanese CID fonts (HeiseiMin-W3,
HeiseiKakuGo-W5): the PDF names the font and the viewer supplies the glyphs, so no font
file ships with the program and the install stays pure Python (docs/reports.md says
what a viewer needs).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from collections.abc import Iterable
from functools import cache
from itertools import groupby
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ils.errors import IlsError
from ils.infra.context import Context
from ils.infra.files import private_dir, write_private
from ils.mail.compose import WEEKDAYS_JA, jdate
from ils.reports.formats import Sheet
from ils.reports.words import WORDS
from ils.reports.write import _folder_name, make_sheet, sheets_for_all

MINCHO, GOTHIC = "HeiseiMin-W3", "HeiseiKakuGo-W5"  # Adobe-Japan1, built into every Japanese-capable viewer
FILE_NAME = "morning.pdf"
MARGIN, HEAD, FOOT = 12 * mm, 24 * mm, 14 * mm
# The share of the line each column gets, by its key; a column not named gets 1.
WIDTHS = {"title": 4.2, "slip": 6, "author": 2.2, "next": 3.2, "problem": 3.6, "email": 3, "name": 2,
          "shelf_mark": 1.8, "location": 1.4, "pickup": 1.9, "to": 1.9, "barcode": 1.6, "card": 1.4,
          "hold": 1.3, "expired_hold": 1.3,
          "phone": 1.7, "pickup_deadline": 1.5, "ready_on": 1.5, "notice": 1.5}
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@cache
def _fonts() -> None:
    # Registering a CID font reads reportlab's own metrics for it, once a process.
    pdfmetrics.registerFont(UnicodeCIDFont(MINCHO))
    pdfmetrics.registerFont(UnicodeCIDFont(GOTHIC))


def _styles() -> tuple[ParagraphStyle, ParagraphStyle]:
    cell = ParagraphStyle("cell", fontName=MINCHO, fontSize=8.5, leading=10.5, wordWrap="CJK")
    return cell, ParagraphStyle("head", parent=cell, fontName=GOTHIC)


def morning_lists() -> list[str]:
    return list(WORDS["morning"]["lists"])


def _for_paper(sheet: Sheet) -> Sheet:
    """The sheet with the columns the morning PDF prints (the pull list's has the author and the shelf)."""
    columns = WORDS["morning"].get("columns", {}).get(sheet.report.name)
    if not columns:
        return sheet
    return dataclasses.replace(sheet, report=dataclasses.replace(sheet.report, columns=tuple(columns.items())))


def _short_date(day: dt.date) -> str:
    return f"{day.month}月{day.day}日({WEEKDAYS_JA[day.weekday()]})"


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return _short_date(value)
    # Paragraph reads a little markup: the value is text, whatever it holds.
    return UNPRINTABLE.sub(" ", str(value)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _ListBegins(Flowable):
    """Drawn first on a list's first page: tells the canvas which list the pages now belong to."""

    def __init__(self, number: int, title: str):
        super().__init__()
        self.number, self.title = number, title

    def wrap(self, *args):
        return 0, 0

    def draw(self):
        self.canv.morning_list = (self.number, self.title)


def _table(sheet: Sheet, width: float) -> Table:
    cell, head = _styles()
    keys = [key for key, _ in sheet.report.columns]
    shares = [WIDTHS.get(key, 1.0) for key in keys]
    widths = [width * share / sum(shares) for share in shares]
    data = [[Paragraph(_text(header), head) for _, header in sheet.report.columns]]
    data += [[Paragraph(_text(row.get(key)), cell) for key in keys] for row in sheet.rows]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table


def _story(sheets: list[Sheet], width: float) -> list[Flowable]:
    words = WORDS["morning"]
    cell, _ = _styles()
    story: list[Flowable] = []
    for number, sheet in enumerate(sheets):
        if story:
            story.append(PageBreak())  # each list on pages of its own: it goes to the staff who work it
        story += [_ListBegins(number, sheet.report.title),
                  Paragraph(words["count"].format(count=len(sheet.rows)), cell), Spacer(0, 2 * mm)]
        story.append(_table(sheet, width) if sheet.rows else Paragraph(WORDS["sheet"]["empty"], cell))
    return story


def _canvas_maker(library: str, branch: str, day: dt.date):
    """A canvas that keeps its pages until the end, then heads each with its list's page n/m."""

    class MorningCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.pages: list[dict] = []
            self.morning_list = (0, "")

        def showPage(self):
            self.pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            lists = [state["morning_list"] for state in self.pages]
            counts = {key: len(list(group)) for key, group in groupby(lists)}
            seen: dict[tuple, int] = {}
            for number, state in enumerate(self.pages, start=1):
                self.__dict__.update(state)
                key = state["morning_list"]
                seen[key] = seen.get(key, 0) + 1
                self._heading(key[1], seen[key], counts[key], number, len(self.pages))
                Canvas.showPage(self)
            Canvas.save(self)

        def _heading(self, title: str, page: int, pages: int, sheet: int, sheets: int) -> None:
            words = WORDS["morning"]
            width, height = A4
            top = height - 12 * mm
            self.setFont(GOTHIC, 9)
            self.drawString(MARGIN, top, f"{library}  {branch}")
            self.drawRightString(width - MARGIN, top,
                                 f"{jdate(day)}   {words['page'].format(number=page, pages=pages)}")
            self.setFont(GOTHIC, 14)
            self.drawString(MARGIN, top - 7 * mm, title)
            self.setLineWidth(0.8)
            self.line(MARGIN, top - 9.5 * mm, width - MARGIN, top - 9.5 * mm)
            self.setFont(MINCHO, 8)
            self.drawCentredString(width / 2, 8 * mm,
                                   f"{words['title']}  {words['sheet'].format(number=sheet, pages=sheets)}")

    return MorningCanvas


def morning_pdf(sheets: list[Sheet]) -> bytes:
    """One branch's lists as one PDF: each list on pages of its own, every page headed."""
    _fonts()
    first = sheets[0]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=HEAD,
                            bottomMargin=FOOT, invariant=True,  # the same lists make the same bytes
                            title=f"{first.branch} {WORDS['morning']['title']} {jdate(first.day)}",
                            author=first.library, creator="ils")
    doc.build(_story([_for_paper(s) for s in sheets], doc.width),
              canvasmaker=_canvas_maker(first.library, first.branch, first.day))
    return buffer.getvalue()


def branch_morning(ctx: Context, branch_code: str | None, day: dt.date) -> bytes:
    """The morning PDF of one branch (`ils report morning --branch CODE`)."""
    if branch_code is None:
        raise IlsError("the morning PDF is made per branch: give --branch")
    return morning_pdf([make_sheet(ctx, name, branch_code, day) for name in morning_lists()])


def _every_branch(ctx: Context, day: dt.date) -> Iterable[tuple[str, list[Sheet]]]:
    # One query a list for all the branches, as the night's other reports do.
    per_list = [sheets_for_all(ctx, name, day) for name in morning_lists()]
    for code_and_sheets in zip(*per_list, strict=True):
        yield code_and_sheets[0][0], [sheet for _, sheet in code_and_sheets]


def write_mornings(ctx: Context, day_folder: Path, day: dt.date) -> int:
    """Every branch's morning PDF, as <day folder>/<branch>/morning.pdf; how many were written."""
    written = 0
    for code, sheets in _every_branch(ctx, day):
        write_private(private_dir(day_folder / _folder_name(code)) / FILE_NAME, morning_pdf(sheets))
        written += 1
    return written
