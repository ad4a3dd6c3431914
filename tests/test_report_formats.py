"""The reports' three forms are the same bytes as before they were made quick: tabulate's text, markupsafe's HTML, the CSV."""

from __future__ import annotations

import datetime as dt
import random

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tabulate import tabulate
from wcwidth import wcswidth

from ils.infra.resources import report_templates_path
from ils.mail.compose import jdate
from ils.reports import report
from ils.reports.formats import HEADER_LINES, LINES_PER_PAGE, Sheet, as_csv, as_html, as_text, clip, html_words
from ils.reports.text_table import text_table
from ils.reports.words import words

pytestmark = pytest.mark.staff_language("ja")  # the reports as a Japanese library prints them
DAY = dt.date(2026, 11, 26)
# Text as a library's data can hold it: Japanese, full-width and half-width, padding
# blanks, characters wcwidth measures as 0 or cannot measure (-1), a virama (whose width
# changes with the blank after it), emoji sequences, and
# what tabulate treats its own way (line breaks, colour codes, its separating-line mark).
PIECES = ["a", "Z", "0", "-", "=", " ", "日本", "図書館", "の", "ｱｲ", "\u3000", "\t", "\x00", "\x7f", "\u200b",
          "\u200d", "\u200c", "e\u0301", "\u0915\u094d", "\u094d", "\ufe0f", "👨\u200d👩", "🇯🇵", "\xa0", "\u2028", "\n", "\r\n", "\x1b[31m", "\x01"]
texts = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)


@settings(max_examples=400)
@given(st.integers(1, 5).flatmap(lambda n: st.tuples(st.lists(texts.filter(bool), min_size=n, max_size=n),
                                                     st.lists(st.lists(texts, min_size=n, max_size=n), min_size=1,
                                                              max_size=6))))
def test_the_text_table_is_tabulates_simple_layout_byte_for_byte(table):
    headers, rows = table
    assert text_table(headers, rows) == tabulate(rows, headers=headers, disable_numparse=True)


# Columns that take the text table's quick ways (ASCII alone; characters whose widths add up, a clip's …),
# half-width ﾞ among them, mixed with what must not: kana's combining voiced mark, a virama, a joiner.
QUICK_PIECES = ["a", "Z", "0", " ", "-", "~", "日本", "図書館", "ｱｲ", "\u3000", "「本」", "ー", "・", "Ａ１", "題名…",
                "か\u3099", "\u3099", "\u0915\u094d", "\u200d", "ﾞ", "\u302a", "\ufe0f"]
quick_texts = st.lists(st.sampled_from(QUICK_PIECES), max_size=5).map("".join)


@settings(max_examples=300)
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(st.lists(quick_texts.filter(bool), min_size=n, max_size=n),
                                                     st.lists(st.lists(quick_texts, min_size=n, max_size=n),
                                                              min_size=1, max_size=6))))
def test_columns_of_plain_or_japanese_text_are_laid_out_as_tabulate_lays_them_out(table):
    headers, rows = table
    assert text_table(headers, rows) == tabulate(rows, headers=headers, disable_numparse=True)


def _adding_up() -> list[str]:
    """Every character _WIDTH_ADDS_UP lets a column be measured once with."""
    from ils.reports.text_table import _WIDTH_ADDS_UP

    return [ch for ch in map(chr, range(0x10000)) if _WIDTH_ADDS_UP.fullmatch(ch)]


def test_a_padded_cell_of_characters_whose_widths_add_up_is_as_wide_as_its_cells_and_blanks():
    # What lets text_table measure such a column once: wcwidth gives each character one or
    # two cells, and the blanks after it (or before the next character) add one each.
    adding_up = _adding_up()
    assert len(adding_up) > 20_000
    for ch in adding_up:
        width = wcswidth(ch)
        assert width in (1, 2), ch
        assert wcswidth(ch + " ") == width + 1 and wcswidth("a" + ch + "  ") == width + 3, ch
        assert wcswidth(ch + "日") == width + 2 and wcswidth(ch + "a") == width + 1, ch
    assert all(wcswidth(chr(code)) == 1 for code in range(0x20, 0x7F))  # ASCII: a cell a character


@settings(max_examples=300)
@given(st.lists(st.sampled_from(_adding_up()), max_size=12).map("".join), st.integers(0, 3))
def test_text_of_characters_whose_widths_add_up_measures_as_the_sum_of_its_characters(text, blanks):
    assert wcswidth(text + " " * blanks) == sum(map(wcswidth, text)) + blanks


def test_a_page_of_japanese_titles_is_laid_out_as_tabulate_lays_it_out():
    headers = ["請求記号", "資料番号", "書名", "受取館", "予約番号"]
    rows = [["913.6/ム", "L1", "とても長い題名の本、あるいは夜明けの…", "中央図書館", "17"],
            ["", "C2", "  ｶﾀｶﾅの本　", "常呂", ""],
            ["", "C3", "", "", ""]]
    assert text_table(headers, rows) == tabulate(rows, headers=headers, disable_numparse=True)


def test_the_text_tables_spacing_is_tabulates():
    import tabulate as tabulate_module

    from ils.reports import text_table as ours

    assert (ours.MIN_PADDING, ours.COLUMN_GAP) == (tabulate_module.MIN_PADDING, tabulate_module._table_formats["simple"].datarow.sep)
    assert ours._tabulate_only(tabulate_module.SEPARATING_LINE)


def _tabulated_pages(sheet: Sheet) -> str:
    """The text form as it was written before: tabulate on every page, a cell at a time."""
    def cell(value):
        return "" if value is None else value.isoformat() if isinstance(value, dt.date) else str(value)

    table = [[clip(cell(row.get(key))) for key, _ in sheet.report.columns] for row in sheet.rows]
    per_page = LINES_PER_PAGE - HEADER_LINES - 2
    chunks = [table[i : i + per_page] for i in range(0, len(table), per_page)] or [[]]
    pages = []
    for number, chunk in enumerate(chunks, start=1):
        title = f"{sheet.heading}    {jdate(sheet.day)}    {words('ja')['sheet']['page'].format(number=number, pages=len(chunks))}"
        body = tabulate(chunk, headers=sheet.headers, disable_numparse=True) if chunk else words("ja")["sheet"]["empty"]
        pages.append(f"{title}\n{'=' * min(wcswidth(title), 100)}\n\n{body}\n")
    return "\f".join(pages)


def _html_a_cell_at_a_time(sheet: Sheet) -> str:
    """The HTML form as it was written before: the template escaping every cell itself."""
    source = (report_templates_path("report.html.j2").read_text(encoding="utf-8")
              .replace("{% autoescape false %}", "").replace("{% endautoescape %}", "")
              .replace("{% for cells in table %}", "{% for row in sheet.rows %}")
              .replace("{% for cell in cells %}<td>{{ cell }}</td>", "{% for key, _ in columns %}<td>{{ row.get(key) | cell }}</td>"))
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["date"] = jdate
    env.filters["cell"] = lambda value: "" if value is None else value.isoformat() if isinstance(value, dt.date) else str(value)
    return env.from_string(source).render(sheet=sheet, columns=sheet.report.columns, **html_words("ja"))


def _holdshelf(rows: int, seed: int) -> Sheet:
    pick = random.Random(seed).choice
    names = ["山田　太郎", "佐藤 花子 ", "ﾔﾏﾀﾞ", "O'Brien & <Sons>", 'say "hi"', "", "NUL\x00in a name", "改行\nあり"]
    titles = ["=HYPERLINK(\"x\")", "とても長い題名の本、あるいは夜明けの図書館で起きたこと 第一巻", "short", "😀 emoji 🇯🇵",
              "-3", "e\u0301tude", "\x1b[31mred\x1b[0m", "tab\there", "हिन्दी क्"]
    return Sheet(report("holdshelf"), "北見市立図書館", "常呂", DAY, [
        {"branch_id": 1, "pickup_deadline": pick([DAY, None, dt.date(2026, 12, 3)]), "card": pick(["1001", 1002, None]),
         "name": pick(names), "title": pick(titles), "barcode": pick(["L1", "-1", 7, 2.5]), "hold": pick([17, None, True])}
        for _ in range(rows)])


def test_long_sheets_of_awkward_text_come_out_as_they_did_a_cell_at_a_time():
    for rows, seed in ((0, 1), (1, 2), (54, 3), (55, 4), (400, 5)):
        sheet = _holdshelf(rows, seed)
        assert as_text(sheet) == _tabulated_pages(sheet)
        assert as_html(sheet) == _html_a_cell_at_a_time(sheet)


def test_html_cells_are_escaped_once():
    sheet = Sheet(report("summary"), "北見市立図書館", "全館", DAY, [{"what": "O'Brien & <Sons> \"2\"", "count": 1}])
    page = as_html(sheet)
    assert "<td>O&#39;Brien &amp; &lt;Sons&gt; &#34;2&#34;</td><td>1</td>" in page


def test_csv_keeps_numbers_as_numbers_and_guards_text_that_looks_like_a_formula():
    sheet = Sheet(report("summary"), "北見市立図書館", "全館", DAY,
                  [{"what": "=1+1", "count": -3}, {"what": "-3", "count": None}, {"what": "ok", "count": 2.5}])
    assert as_csv(sheet, "utf-8").decode("utf-8").split("\r\n") == ["項目,件数", "'=1+1,-3", "'-3,", "ok,2.5", ""]


def test_clip_keeps_the_characters_that_fit_before_the_ellipsis():
    assert clip("とても長い題名の本、あるいは夜明けの図書館で起きたこと 第一巻") == "とても長い題名の本、あるいは夜明けの図…"
    assert clip("abc", 3) == "abc" and clip("abcd", 3) == "ab…" and clip("日本語", 4) == "日…"
    assert clip("a\u0301" * 40) == "a\u0301" * 40  # combining accents take no cells
