"""The text reports' tables: tabulate's "simple" layout, written directly for columns that are all text.

The printed reports hand tabulate text cells only (numbers already printed, its number
parsing off), yet tabulate still guesses each cell's type and looks for colour codes in it
before it lays out the page: most of the night's report time went there. A report knows
its columns are text, left-aligned, so this module lays them out directly, cell for cell
as tabulate would: the same widths measured with wcwidth (a full-width character takes two
cells), the same two spaces between columns, the same dashes under the headers, trailing
blanks cut. A page with anything tabulate treats specially (a line break, a terminal
colour code, its separating-line marker) goes to tabulate itself, so the bytes never differ;
tests/test_report_text_table.py holds the two side by side.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import chain, repeat

from wcwidth import wcswidth

# tabulate's "simple" format: two spaces between columns, a column at least two wider
# than its header (tabulate.MIN_PADDING).
COLUMN_GAP = "  "
MIN_PADDING = 2
# What tabulate lays out its own way: line breaks (multi-line cells), ESC (colour codes and
# links, which take no width) and its separating-line mark (tabulate.SEPARATING_LINE).
# Looked for one at a time (`in`, a memchr): a regular expression's character class tested
# every character of the page against the four (4% of the text reports' instructions).
TABULATE_ONLY = ("\r", "\n", "\x1b", "\x01")
# Characters each as wide as wcwidth says whatever follows them, blanks included: ASCII's
# printable ones, the ellipsis a clipped cell ends with (ils/reports/formats.py's clip), CJK
# punctuation, kana, the unified ideographs, full- and half-width forms,
# none of them combining, joining or zero-width. A column of such text padded is measured by
# adding its blanks. Not in it: what makes the blank after a character count differently (a
# virama, a joiner, a combining mark such as kana's U+3099, a variation selector), which
# tabulate's second measuring of the padded cell has to see.
_WIDTH_ADDS_UP = re.compile(r"[\x20-\x7e\u2026\u3000-\u3029\u3030-\u303f\u3041-\u3096\u309b-\u30ff"
                            r"\u4e00-\u9fff\uff01-\uff9f]*")


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """`tabulate(rows, headers=headers, disable_numparse=True)`, byte for byte, for rows of text cells."""
    if not rows or _tabulate_only("\t".join(chain(headers, chain.from_iterable(rows)))):
        from tabulate import tabulate  # seldom needed: the night does not load it for nothing

        return tabulate(rows, headers=headers, disable_numparse=True)
    columns = [_left_aligned(header, column) for header, column in zip(headers, zip(*rows, strict=True), strict=True)]
    widths = [width for width, _ in columns]
    lines = [
        COLUMN_GAP.join(header + " " * max(0, width - wcswidth(header)) for header, width in zip(headers, widths, strict=True)),
        COLUMN_GAP.join("-" * width for width in widths),
        *map(COLUMN_GAP.join, zip(*(cells for _, cells in columns), strict=True)),
    ]
    return "\n".join(map(str.rstrip, lines))


def _tabulate_only(text: str) -> bool:
    return any(mark in text for mark in TABULATE_ONLY)


def _left_aligned(header: str, column: Sequence[str]) -> tuple[int, list[str]]:
    """A column's width and its cells padded to it, as tabulate pads a left-aligned text column."""
    cells = list(map(str.strip, column))  # tabulate strips cells, not headers
    least = wcswidth(header) + MIN_PADDING
    text = "".join(cells)
    if text.isascii() and text.isprintable():  # a character a cell: measured by its length
        width = max(max(map(len, cells)), least)
        return width, list(map(str.ljust, cells, repeat(width)))
    measured = list(map(wcswidth, cells))
    width = max(max(measured), least)
    padded = [cell + " " * (width - cells_wide) for cell, cells_wide in zip(cells, measured, strict=True)]
    if _WIDTH_ADDS_UP.fullmatch(text):
        return width, padded
    # The column's printed width is measured again on the padded cells, as tabulate does:
    # it is `width` unless wcwidth cannot measure a cell (-1: a control character).
    return max(least, max(map(wcswidth, padded))), padded
