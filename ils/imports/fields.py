"""Column parsers for import files: each turns the text of a cell into a value or raises ValueError."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable

from ils.clock import parse_instant

Parser = Callable[[str], object]
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}


_BREAKS = re.compile(r"[\r\n\x00]")


def text(max_length: int) -> Parser:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(f"longer than {max_length} characters")
        if _BREAKS.search(value):
            raise ValueError("contains a line break or NUL")
        return value

    return parse


def one_of(values: Iterable[str], aliases: dict[str, str] | None = None) -> Parser:
    allowed = tuple(values)
    aliases = aliases or {}

    def parse(value: str) -> str:
        value = aliases.get(value, value)
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    return parse


def yes_no(value: str) -> bool:
    lowered = value.lower()
    if lowered in YES:
        return True
    if lowered in NO:
        return False
    raise ValueError(f"{value!r} is not yes or no")


def date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def instant(value: str) -> dt.datetime:
    try:
        return parse_instant(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp") from None


def integer(minimum: int | None = None) -> Parser:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
        if minimum is not None and number < minimum:
            raise ValueError(f"{number} is less than {minimum}")
        return number

    return parse


def checked(parser: Parser, check: Callable[[object], None]) -> Parser:
    """A parser followed by an extra check that raises ValueError."""

    def parse(value: str):
        result = parser(value)
        check(result)
        return result

    return parse
