"""The morning PDF: one branch's lists for one day, in the order staff work them, on A4 in the staff's language.

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

from ils.infra import i18n
from ils.library.clock import staff_date
from ils.reports.formats import Sheet, printed_date
from ils.reports.words import words

MINCHO, GOTHIC = "HeiseiMin-W3", "HeiseiKakuGo-W5"  # Adobe-Japan1: named in the file, not embedded
# In English, a text of ASCII alone is set in the PDF's standard Latin fonts, which every
# viewer has: a viewer's Japanese font set the CID fonts' Latin unevenly spaced ("Shelfm ark").
# Text with Japanese in it stays in the CID fonts, and a Japanese PDF is set as it was.
LATIN = {MINCHO: "Helvetica", GOTHIC: "Helvetica-Bold"}
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
    return list(words()["morning"]["lists"])


def _for_paper(sheet: Sheet) -> Sheet:
    """The sheet with the columns the morning PDF prints (the pull list's has the author and the shelf)."""
    columns = words()["morning"].get("columns", {}).get(sheet.report.name)
    if not columns:
        return sheet
    return dataclasses.replace(sheet, report=dataclasses.replace(sheet.report, columns=tuple(columns.items())))


def _text(value, language: str = "ja") -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return staff_date(value, language, year=False)  # a cell: 12月3日(木), Thu 3 Dec
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


def _font(font: str, text: str, language: str) -> str:
    """The font `text` is set in: `font`, or in English its LATIN counterpart for ASCII text."""
    return LATIN[font] if language == "en" and text.isascii() else font


def _draw(canvas: Canvas, draw, x: float, y: float, text: str, font: str, size: float, language: str) -> None:
    """canvas.drawString (or its right or centred kin) of `text`, set in `font` as the canvas has it."""
    latin = _font(font, text, language)
    if latin != font:
        canvas.setFont(latin, size)
    draw(x, y, text)
    if latin != font:
        canvas.setFont(font, size)


def _heading(canvas: Canvas, page: _Page, sheet_number: int, sheets: int) -> float:
    """The heading every page carries: library and branch, the list, the date, page n/m; returns where the table starts."""
    said, sheet, language = words()["morning"], page.sheet, i18n.language()
    width, height = A4
    top = height - 12 * mm
    canvas.setFont(GOTHIC, 9)
    _draw(canvas, canvas.drawString, MARGIN, top, _text(f"{sheet.library}  {sheet.branch}"), GOTHIC, 9, language)
    _draw(canvas, canvas.drawRightString, width - MARGIN, top,
          f"{printed_date(sheet.day)}   {said['page'].format(number=page.number, pages=page.pages)}", GOTHIC, 9, language)
    canvas.setFont(GOTHIC, 14)
    _draw(canvas, canvas.drawString, MARGIN, top - 7 * mm, sheet.report.title, GOTHIC, 14, language)
    canvas.setFont(GOTHIC, 9)
    _draw(canvas, canvas.drawRightString, width - MARGIN, top - 7 * mm, said["count"].format(count=len(sheet.rows)),
          GOTHIC, 9, language)
    canvas.setLineWidth(0.8)
    canvas.line(MARGIN, top - 9.5 * mm, width - MARGIN, top - 9.5 * mm)
    canvas.setFont(MINCHO, 8)
    _draw(canvas, canvas.drawCentredString, width / 2, 8 * mm,
          f"{said['title']}  {said['sheet'].format(number=sheet_number, pages=sheets)}", MINCHO, 8, language)
    return height - HEAD


def _table(canvas: Canvas, page: _Page, top: float) -> None:
    """The column headers, then the rows, one line each, clipped to their columns."""
    columns = _columns(page.sheet)
    right = A4[0] - MARGIN
    language = i18n.language()
    if not page.rows:
        canvas.setFont(MINCHO, SIZE)
        _draw(canvas, canvas.drawString, MARGIN, top - ROW, words()["sheet"]["empty"], MINCHO, SIZE, language)
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
    current = GOTHIC
    for _, header, left, width in columns:
        font = _font(GOTHIC, header, language)
        if font != current:
            text.setFont(font, SIZE)
            current = font
        text.setTextOrigin(left + PAD, top - ROW + BASELINE)
        text.textOut(fit(header, width - 2 * PAD, font))
    text.setFont(MINCHO, SIZE)
    current = MINCHO
    for number, row in enumerate(page.rows, start=2):
        for key, _, left, width in columns:
            value = _text(row.get(key), language)
            if value:
                font = _font(MINCHO, value, language)
                if font != current:  # only in English: a Japanese PDF's rows are all in MINCHO
                    text.setFont(font, SIZE)
                    current = font
                text.setTextOrigin(left + PAD, top - ROW * number + BASELINE)
                text.textOut(fit(value, width - 2 * PAD, font))
    canvas.drawText(text)


def morning_pdf(sheets: list[Sheet]) -> bytes:
    """One branch's lists as one PDF: each list on pages of its own, every page headed."""
    _fonts()
    first = sheets[0]
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)  # the same lists make the same bytes
    canvas.setTitle(f"{first.branch} {words()['morning']['title']} {printed_date(first.day)}")
    canvas.setAuthor(first.library)
    canvas.setCreator("ils")
    pages = _pages([_for_paper(s) for s in sheets])
    for number, page in enumerate(pages, start=1):
        _table(canvas, page, _heading(canvas, page, number, len(pages)))
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
