"""Dates as Japanese library systems export them: ISO, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD and 和暦.

Old systems often keep birth dates in the Japanese era (和暦): `R7.4.1`, `令和7年4月1日`,
`H31.4.30`, `S63.12.31`, `令和元年5月1日`. Full-width digits and letters (`２０２６／４／１`,
`Ｒ７．４．１`) are read as their ASCII forms (NFKC). A date outside its era (`H31.5.1`:
平成 ended on 2019-04-30) is refused, not moved into the next era: it is a typo or a
system's bug, and a wrong birth date locks a patron out of the web service.
docs/import-formats.md lists every form with an example. A refusal's reason is in the staff's
language (ils.infra.i18n): it ends up in the import's `file:line: column: reason` lines.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata

from ils.infra.i18n import _


class Era:
    def __init__(self, kanji: str, letter: str, first: dt.date, last: dt.date | None, gannen: int | None = None) -> None:
        # gannen: the Gregorian year of the era's year 1 (元年), when its first readable day is later
        self.kanji, self.letter, self.first, self.last = kanji, letter, first, last
        self.gannen = gannen or first.year

    def check(self, when: dt.date, year: int) -> dt.date:
        """`when`, read as year `year` of this era; ValueError if it is not a day of the era."""
        if when < self.first or (self.last is not None and when > self.last):
            read = f"{self.kanji}{year}年{when.month}月{when.day}日"
            if self.last is None:
                raise ValueError(_("{date} is not a day of {era} ({first} to today)").format(
                    date=read, era=self.kanji, first=self.first.isoformat()))
            raise ValueError(_("{date} is not a day of {era} ({first} to {last})").format(
                date=read, era=self.kanji, first=self.first.isoformat(), last=self.last.isoformat()))
        return when


# The modern eras, each from its first day; 明治 from 明治6年 (1873), when Japan took the
# Gregorian calendar (earlier dates were lunisolar and cannot be read day for day).
ERAS = (
    Era("明治", "M", dt.date(1873, 1, 1), dt.date(1912, 7, 29), gannen=1868),
    Era("大正", "T", dt.date(1912, 7, 30), dt.date(1926, 12, 24)),
    Era("昭和", "S", dt.date(1926, 12, 25), dt.date(1989, 1, 7)),
    Era("平成", "H", dt.date(1989, 1, 8), dt.date(2019, 4, 30)),
    Era("令和", "R", dt.date(2019, 5, 1), None),
)
_BY_NAME = {name: era for era in ERAS for name in (era.kanji, era.letter)}

_SEPARATED = re.compile(r"(\d{4})([/.\-])(\d{1,2})\2(\d{1,2})")
_COMPACT = re.compile(r"\d{8}")
_KANJI_WESTERN = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_ERA = re.compile(r"(明治|大正|昭和|平成|令和|[MTSHR])\s*(元|\d{1,2})\s*(?:年(\d{1,2})月(\d{1,2})日|([/.\-])(\d{1,2})\5(\d{1,2}))")



def parse_date(value: str) -> dt.date:
    """The date `value` names in any of the forms above; ValueError with the reason otherwise."""
    if len(value) == 10 and value[4] == value[7] == "-":  # ISO, the common case, first
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    return _parse(value)


def _parse(value: str) -> dt.date:
    text = unicodedata.normalize("NFKC", value).strip()
    era = None
    if m := _SEPARATED.fullmatch(text):
        parts = (m[1], m[3], m[4])
    elif _COMPACT.fullmatch(text):
        parts = (text[:4], text[4:6], text[6:])
    elif m := _KANJI_WESTERN.fullmatch(text):
        parts = (m[1], m[2], m[3])
    elif m := _ERA.fullmatch(text.upper() if text[:1].isascii() else text):
        era, year = _BY_NAME[m[1]], 1 if m[2] == "元" else int(m[2])
        if year == 0:
            raise ValueError(_("{value!r}: an era has no year 0").format(value=value))
        parts = (str(era.gannen + year - 1), *((m[3], m[4]) if m[3] else (m[6], m[7])))
    else:
        raise ValueError(_("{value!r} is not a date (YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD, YYYY年M月D日 "
                           "or 和暦 like R7.4.1 or 令和7年4月1日)").format(value=value))
    when = _day(value, *map(int, parts))
    return era.check(when, year) if era is not None else when


def _day(value: str, year: int, month: int, day: int) -> dt.date:
    # Checked here rather than left to date(): its reasons are Python's English, and change
    # between versions.
    if year < dt.MINYEAR:
        raise ValueError(_("{value!r} is not a date: year {year} is out of range").format(value=value, year=year))
    if not 1 <= month <= 12:
        raise ValueError(_("{value!r} is not a date: month must be in 1..12").format(value=value))
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise ValueError(_("{value!r} is not a date: day is out of range for month").format(value=value))
    return dt.date(year, month, day)
