"""Column parsers for import files: each turns the text of a cell into a value or raises ValueError.

A parser may also carry `column`: the same parse over a whole column of non-blank cells at
once, giving exactly the values the parser gives cell by cell, or raising ValueError if any
cell is bad (the importer then parses those rows cell by cell, which names each problem).
A cell's reason is in the staff's language (ils.infra.i18n); a whole column's is never shown.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Iterable

from ils.exchange.dates import parse_date
from ils.infra.i18n import _
from ils.library.clock import parse_instant

Parser = Callable[[str], object]
ColumnParser = Callable[[list[str]], list]
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}


def text(max_length: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(_("longer than {max_length} characters").format(max_length=max_length))
        if "\n" in value or "\r" in value or "\x00" in value:  # three scans beat one regex call on short cells
            raise ValueError(_("contains a line break or NUL"))
        return value

    def column(values: list[str]) -> list[str]:
        if values and max(map(len, values)) > max_length:
            raise ValueError("too long")
        joined = "".join(values)
        if "\n" in joined or "\r" in joined or "\x00" in joined:
            raise ValueError("a line break or NUL")
        return values

    parse.column = column  # type: ignore[attr-defined]
    return parse


def folder_name(max_length: int) -> Parser:
    """Text that also names a folder (a branch code: reports/<day>/<code>/): no way out of its parent."""
    as_text = text(max_length)

    def parse(value: str) -> str:
        value = as_text(value)
        if value in (".", ".."):
            raise ValueError(_("{value!r} cannot name a folder").format(value=value))
        if "/" in value or "\\" in value:
            raise ValueError(_("{value!r} contains a path separator (/ or \\)").format(value=value))
        control = next((ch for ch in value if unicodedata.category(ch) == "Cc"), None)
        if control is not None:
            raise ValueError(_("{value!r} contains a control character (U+{code})").format(
                value=value, code=f"{ord(control):04X}"))
        return value

    return parse


def one_of(values: Iterable[str], aliases: dict[str, str] | None = None) -> Parser:
    allowed = tuple(values)
    aliases = aliases or {}

    def parse(value: str) -> str:
        value = aliases.get(value, value)
        if value not in allowed:
            raise ValueError(_("{value!r} is not one of {values}").format(value=value, values=", ".join(allowed)))
        return value

    def column(values: list[str]) -> list[str]:
        found = set(values)
        if not found.isdisjoint(aliases):
            values = [aliases.get(value, value) for value in values]
            found = set(values)
        if not found <= allowed_set:
            raise ValueError("not one of the values")
        return values

    allowed_set = set(allowed)
    parse.column = column  # type: ignore[attr-defined]
    return parse


def yes_no(value: str) -> bool:
    lowered = value.lower()
    if lowered in YES:
        return True
    if lowered in NO:
        return False
    raise ValueError(_("{value!r} is not yes or no").format(value=value))


_YES_NO = {**dict.fromkeys(YES, True), **dict.fromkeys(NO, False)}


def _yes_no_column(values: list[str]) -> list[bool]:
    try:
        return [_YES_NO[value.lower()] for value in values]
    except KeyError:
        raise ValueError("not yes or no") from None


yes_no.column = _yes_no_column  # type: ignore[attr-defined]


def date(value: str) -> dt.date:
    """ISO, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD or 和暦 (ils.exchange.dates)."""
    return parse_date(value)


def code(max_length: int) -> Parser:
    """A card number or barcode: full-width digits and letters (１２３４, ＡＢ) read as ASCII (NFKC)
    when that leaves only ASCII letters, digits and hyphens; anything else is kept as written."""
    as_text = text(max_length)

    def parse(value: str) -> str:
        if not value.isascii():
            normal = unicodedata.normalize("NFKC", value)
            if normal.isascii() and normal.replace("-", "").isalnum():
                value = normal
        return as_text(value)

    def column(values: list[str]) -> list[str]:
        if "".join(values).isascii():
            return as_text.column(values)  # type: ignore[attr-defined]
        return [parse(value) for value in values]

    parse.column = column  # type: ignore[attr-defined]
    return parse


def _date_column(values: list[str]) -> list[dt.date]:
    # parse_date reads an ISO-shaped cell (YYYY-MM-DD) with date.fromisoformat: a column of
    # them is one map; any other form, or a bad day, goes cell by cell through parse_date.
    joined, count = "".join(values), len(values)
    if (len(joined) == 10 * count and set(map(len, values)) <= {10}
            and joined[4::10].count("-") == count and joined[7::10].count("-") == count):
        try:
            return list(map(dt.date.fromisoformat, values))
        except ValueError:
            pass
    return [parse_date(value) for value in values]


date.column = _date_column  # type: ignore[attr-defined]


def instant(value: str) -> dt.datetime:
    try:
        parsed = parse_instant(value)
        parsed.astimezone(dt.timezone.utc)  # stored in UTC: 0001-01-01 in Tokyo has no UTC
    except ValueError:
        raise ValueError(_("{value!r} is not an ISO 8601 timestamp").format(value=value)) from None
    except OverflowError:
        raise ValueError(_("{value!r} is out of range").format(value=value)) from None
    return parsed


# Every integer column is a PostgreSQL `integer` (32 bits; SQLite's are 64): a number
# outside these bounds is a problem on its line, not an overflow from the driver.
INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1
_SHOWN_DIGITS = 40


def integer(minimum: int = INTEGER_MIN, maximum: int = INTEGER_MAX) -> Parser:
    """A whole number from `minimum` to `maximum`, both within what every engine stores."""
    minimum, maximum = max(minimum, INTEGER_MIN), min(maximum, INTEGER_MAX)

    def parse(value: str) -> int:
        shown = value if len(value) <= _SHOWN_DIGITS else f"{value[:_SHOWN_DIGITS]}…"
        try:
            number = int(value)
        except ValueError:  # also a number of more than 4300 digits
            raise ValueError(_("{value!r} is not a whole number").format(value=shown)) from None
        if number < minimum:
            raise ValueError(_("{value} is less than {minimum}").format(value=shown, minimum=minimum))
        if number > maximum:
            raise ValueError(_("{value} is more than {maximum}").format(value=shown, maximum=maximum))
        return number

    def column(values: list[str]) -> list[int]:
        numbers = list(map(int, values))
        if numbers and (min(numbers) < minimum or max(numbers) > maximum):
            raise ValueError("out of range")
        return numbers

    parse.column = column  # type: ignore[attr-defined]
    return parse


def checked(parser: Parser, check: Callable[[object], None]) -> Parser:
    """A parser followed by an extra check that raises ValueError."""

    def parse(value: str):
        result = parser(value)
        check(result)
        return result

    return parse
