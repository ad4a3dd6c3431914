"""The morning PDF: one branch's lists for one day, in the order staff work them, on A4 in Japanese.

reportlab sets the text in the PDF's standard Japanese CID fonts (HeiseiMin-W3,
HeiseiKakuGo-W5): the PDF names the font and the viewer supplies the glyphs from a
Japanese font of its own, so no font file ships with the program (docs/reports.md says
what a viewer needs, and what it costs).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from functools import cache

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from ils.library.clock import WEEKDAYS_JA
from ils.mail.compose import jdate
from ils.reports.formats import Sheet
from ils.reports.words import WORDS

MINCHO, GOTHIC = "HeiseiMin-W3", "HeiseiKakuGo-W5"  # Adobe-Japan1: named in the file, not embedded
MARGIN, HEAD, FOOT = 12 * mm, 24 * mm, 14 * mm
SIZE, ROW, PAD = 8.5, 5 * mm, 1.2 * mm  # the rows' type size, height and inner margin
BASELINE = 1.5 * mm  # from the bottom of a row to its text
ROWS_PER_PAGE = int((A4[1] - HEAD - FOOT) / ROW) - 1  # one row is the column headers
# The share of the line each column gets, by its key; a column not named gets 1.
WIDTHS = {"title": 4.2, "slip": 6, "author": 2.2, "next": 3.2, "problem": 4.6, "email": 2.6, "name": 2,
          "shelf_mark": 1.8, "location": 1.4, "pickup": 1.9, "to": 1.9, "barcode": 1.6, "card": 1.4,
          "hold": 1.3, "expired_hold": 1.3,
          "phone": 1.7, "pickup_deadline": 1.5, "ready_on": 1.5, "notice": 1.5}
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# The fonts' encoding (UniJIS-UCS2-H) has the Basic Multilingual Plane only: a character
# beyond it (𠮷, an emoji) would come out as boxes and garble the characters after it, so
# it is printed as 〓, the mark Japanese systems print for a character they cannot.
BEYOND_UCS2 = re.compile("[\U00010000-\U0010FFFF]")
GETA = "〓"


@cache
def _fonts() -> None:
    # Registering a CID font reads reportlab's own metrics for it, once a process.
    pdfmetrics.registerFont(UnicodeCIDFont(MINCHO))
    pdfmetrics.registerFont(UnicodeCIDFont(GOTHIC))


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
    return BEYOND_UCS2.sub(GETA, UNPRINTABLE.sub(" ", str(value)))


def fit(text: str, width: float, font: str = MINCHO, size: float = SIZE) -> str:
    """The text clipped with … to `width` points, as the text report clips at 40 columns."""
    if len(text) * size <= width:  # no character is wider than the font's size: nothing to measure
        return text
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    low, high = 0, len(text)  # the longest prefix that fits with the …
    while low < high:
        middle = (low + high + 1) // 2
        if pdfmetrics.stringWidth(text[:middle] + "…", font, size) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…"


@dataclasses.dataclass(frozen=True)
class _Page:
    sheet: Sheet
    rows: list[dict]
    number: int  # of the list's pages
    pages: int


def _pages(sheets: list[Sheet]) -> list[_Page]:
    """Each list on pages of its own (it goes to the staff who work it), ROWS_PER_PAGE rows a page."""
    paged = []
    for sheet in sheets:
        chunks = [sheet.rows[i : i + ROWS_PER_PAGE] for i in range(0, len(sheet.rows), ROWS_PER_PAGE)] or [[]]
        paged += [_Page(sheet, chunk, n, len(chunks)) for n, chunk in enumerate(chunks, start=1)]
    return paged


def _columns(sheet: Sheet) -> list[tuple[str, str, float, float]]:
    """(key, header, left edge, width) of each column, the line shared by the columns' WIDTHS."""
    width = A4[0] - 2 * MARGIN
    shares = [WIDTHS.get(key, 1.0) for key, _ in sheet.report.columns]
    lefts = [MARGIN + width * sum(shares[:i]) / sum(shares) for i in range(len(shares) + 1)]
    return [(key, header, lefts[i], lefts[i + 1] - lefts[i]) for i, (key, header) in enumerate(sheet.report.columns)]


def _heading(canvas: Canvas, page: _Page, sheet_number: int, sheets: int) -> float:
    """The heading every page carries: library and branch, the list, the date, page n/m; returns where the table starts."""
    words, sheet = WORDS["morning"], page.sheet
    width, height = A4
    top = height - 12 * mm
    canvas.setFont(GOTHIC, 9)
    canvas.drawString(MARGIN, top, _text(f"{sheet.library}  {sheet.branch}"))
    canvas.drawRightString(width - MARGIN, top,
                           f"{jdate(sheet.day)}   {words['page'].format(number=page.number, pages=page.pages)}")
    canvas.setFont(GOTHIC, 14)
    canvas.drawString(MARGIN, top - 7 * mm, sheet.report.title)
    canvas.setFont(GOTHIC, 9)
    canvas.drawRightString(width - MARGIN, top - 7 * mm, words["count"].format(count=len(sheet.rows)))
    canvas.setLineWidth(0.8)
    canvas.line(MARGIN, top - 9.5 * mm, width - MARGIN, top - 9.5 * mm)
    canvas.setFont(MINCHO, 8)
    canvas.drawCentredString(width / 2, 8 * mm, f"{words['title']}  {words['sheet'].format(number=sheet_number, pages=sheets)}")
    return height - HEAD


def _table(canvas: Canvas, page: _Page, top: float) -> None:
    """The column headers, then the rows, one line each, clipped to their columns."""
    columns = _columns(page.sheet)
    right = A4[0] - MARGIN
    if not page.rows:
        canvas.setFont(MINCHO, SIZE)
        canvas.drawString(MARGIN, top - ROW, WORDS["sheet"]["empty"])
        return
    canvas.setFillGray(0.88)
    canvas.rect(MARGIN, top - ROW, right - MARGIN, ROW, stroke=0, fill=1)
    canvas.setFillGray(0)
    canvas.setLineWidth(0.4)
    canvas.setStrokeGray(0.5)
    canvas.grid([left for _, _, left, _ in columns] + [right],
                [top - ROW * i for i in range(len(page.rows) + 2)])
    text = canvas.beginText()
    text.setFont(GOTHIC, SIZE)
    for _, header, left, width in columns:
        text.setTextOrigin(left + PAD, top - ROW + BASELINE)
        text.textOut(fit(header, width - 2 * PAD, GOTHIC))
    text.setFont(MINCHO, SIZE)
    for number, row in enumerate(page.rows, start=2):
        for key, _, left, width in columns:
            value = _text(row.get(key))
            if value:
                text.setTextOrigin(left + PAD, top - ROW * number + BASELINE)
                text.textOut(fit(value, width - 2 * PAD))
    canvas.drawText(text)


def morning_pdf(sheets: list[Sheet]) -> bytes:
    """One branch's lists as one PDF: each list on pages of its own, every page headed."""
    _fonts()
    first = sheets[0]
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)  # the same lists make the same bytes
    canvas.setTitle(f"{first.branch} {WORDS['morning']['title']} {jdate(first.day)}")
    canvas.setAuthor(first.library)
    canvas.setCreator("ils")
    pages = _pages([_for_paper(s) for s in sheets])
    for number, page in enumerate(pages, start=1):
        _table(canvas, page, _heading(canvas, page, number, len(pages)))
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
