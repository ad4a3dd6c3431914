"""The catalogue as written: each work's text, its volumes and shelf marks, and the titles and copies files."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator
from typing import NamedTuple

from ils.tools.sample import names as N
from ils.tools.sample.catalogue import CATEGORIES, GENRES, REFERENCE_ONLY, Catalogue, Genre
from ils.tools.sample.circulation import COPY_STATES, NOWHERE, Circulation
from ils.tools.sample.draws import Dice
from ils.tools.sample.formats import barcode, bib_id, iso_day
from ils.tools.sample.spec import SampleSpec
from ils.tools.sample.town import Town


class WorkText(NamedTuple):
    title: str
    author: str
    kana: str  # of the author's family name, for the shelf mark
    publisher: str
    ndc: str


def describe_work(seed: int, cat: Catalogue, work: int) -> WorkText:
    genre = GENRES[cat.genre[work]]
    dice = Dice(seed, work)
    if genre.key == "magazine":
        return _magazine_text(cat, work)
    return WORK_TEXT[genre.key](dice, genre)


def _fill(d: Dice, patterns) -> str:
    return d.pick(patterns).format(
        m=d.pick(N.MODIFIERS), n=d.pick(N.NOUNS), n2=d.pick(N.NOUNS),
        a=d.pick(N.ANIMALS), a2=d.pick(N.ANIMALS), h=d.pick(N.HIRAGANA_NOUNS), h2=d.pick(N.HIRAGANA_NOUNS),
    )


def _person(d: Dice) -> tuple[str, str]:
    family, given = d.pick(N.FAMILY_NAMES), d.pick(N.GIVEN_NAMES)
    return f"{family[0]} {given[0]}", family[1]


def _book_text(patterns, publishers=N.PUBLISHERS):
    def text(d: Dice, genre: Genre) -> WorkText:
        author, kana = _person(d)
        return WorkText(_fill(d, patterns), author, kana, d.pick(publishers), genre.ndc)

    return text


def _mystery_text(d: Dice, genre: Genre) -> WorkText:
    author, kana = d.pick(N.FOREIGN_AUTHORS)
    return WorkText(_fill(d, N.MYSTERY_PATTERNS), author, kana, d.pick(N.PUBLISHERS), genre.ndc)


def _nonfiction_text(d: Dice, genre: Genre) -> WorkText:
    ndc, subjects = d.pick(N.SUBJECTS)
    title = d.pick(N.SUBJECT_PATTERNS).format(s=d.pick(subjects))
    author, kana = _person(d)
    return WorkText(title, author, kana, d.pick(N.PUBLISHERS), ndc)


def _large_text(patterns, label):
    def text(d: Dice, genre: Genre) -> WorkText:
        author, kana = _person(d)
        return WorkText(f"{_fill(d, patterns)}{label}", author, kana, d.pick(N.CHILDREN_PUBLISHERS), genre.ndc)

    return text


def _comic_text(d: Dice, genre: Genre) -> WorkText:
    author, kana = _person(d)
    title = f"{d.pick(N.COMIC_WORDS)}{d.pick(N.COMIC_SUFFIXES)}" if d.below(3) else _fill(d, ("{m}{n}",))
    return WorkText(title, author, kana, d.pick(N.COMIC_PUBLISHERS), genre.ndc)


def _av_text(prefix, subjects):
    def text(d: Dice, genre: Genre) -> WorkText:
        title = f"{prefix} {d.pick(subjects)}" + (f" 第{d.below(9) + 1}集" if d.below(2) else "")
        return WorkText(title, "", "", d.pick(N.AV_PUBLISHERS), genre.ndc)

    return text


def _dictionary_text(d: Dice, genre: Genre) -> WorkText:
    name, ndc = d.pick(N.DICTIONARIES)
    title = f"{d.pick(('', '新版 ', '標準 ', '現代'))}{name} 第{d.below(8) + 2}版"
    return WorkText(title, "", "", d.pick(N.REFERENCE_PUBLISHERS), ndc)


def _reference_set_text(sets):
    def text(d: Dice, genre: Genre) -> WorkText:
        name, ndc = d.pick(sets)
        return WorkText(name, "", "", d.pick(N.REFERENCE_PUBLISHERS), ndc)

    return text


def _magazine_text(cat: Catalogue, work: int) -> WorkText:
    m = bisect.bisect_right(cat.magazine_starts, work) - 1
    subject, form = divmod(cat.magazine_names[m], len(N.MAGAZINE_FORMS))
    word, ndc = N.MAGAZINE_SUBJECTS[subject]
    return WorkText(N.MAGAZINE_FORMS[form].format(s=word), "", "", N.PUBLISHERS[m % len(N.PUBLISHERS)], ndc)


WORK_TEXT = {
    "novel": _book_text(N.NOVEL_PATTERNS),
    "novel_in_parts": _book_text(N.NOVEL_PATTERNS),
    "novel_series": _book_text(N.NOVEL_PATTERNS),
    "mystery": _mystery_text,
    "essay": _book_text(N.ESSAY_PATTERNS),
    "children": _book_text(N.CHILDREN_STORY_PATTERNS, N.CHILDREN_PUBLISHERS),
    "nonfiction": _nonfiction_text,
    "picture_book": _book_text(N.PICTURE_BOOK_PATTERNS, N.CHILDREN_PUBLISHERS),
    "picture_book_large": _large_text(N.PICTURE_BOOK_PATTERNS, "（大型絵本）"),
    "kamishibai": _book_text(N.PICTURE_BOOK_PATTERNS, N.CHILDREN_PUBLISHERS),
    "kamishibai_large": _large_text(N.PICTURE_BOOK_PATTERNS, "（大型紙芝居）"),
    "comic_series": _comic_text,
    "comic": _comic_text,
    "dvd": _av_text("DVD", N.DVD_SUBJECTS),
    "cd": _av_text("CD", N.CD_SUBJECTS),
    "dictionary": _dictionary_text,
    "yearbook": _reference_set_text(N.YEARBOOKS),
    "encyclopedia": _reference_set_text(N.ENCYCLOPEDIAS),
}

# A set cut short by the end of a small catalogue keeps the volumes it has: only 上.
UPPER_LOWER = {1: ("上",), 2: ("上", "下"), 3: ("上", "中", "下")}


def _volume(spec: SampleSpec, genre: Genre, position: int, span: int, work: int) -> tuple[int, str]:
    """The volume number and the label printed on it."""
    if genre.series == "parts":
        return position + 1, UPPER_LOWER[span][position]
    if genre.series == "comic":
        return position + 1, str(position + 1)
    if genre.series == "yearbook":
        year = spec.business_day.year - span + position
        return year, f"{year}年版"
    if genre.series == "magazine":
        year, month = _issue_month(spec, span - 1 - position)
        return 100 + work % 400 + position, f"{year}年{month}月号"
    return position + 1, f"第{position + 1}巻"


def _issue_month(spec: SampleSpec, months_before_newest: int) -> tuple[int, int]:
    # The newest issue on the shelf is next month's: monthlies go on sale before their month.
    index = spec.business_day.year * 12 + spec.business_day.month - months_before_newest
    return divmod(index, 12)[0], divmod(index, 12)[1] + 1


CATALOGUING = 1 << 40  # a second subject space for Dice: when a work was catalogued


def _catalogued_on(spec, genre, position, span, dice_day: int) -> str:
    bd = spec.business_day.toordinal()
    if genre.series == "magazine":
        year, month = _issue_month(spec, span - 1 - position)
        return iso_day(min(bd, dt.date(year, month, 1).toordinal() - 10 + dice_day % 5))
    if genre.series == "yearbook":
        year = spec.business_day.year - span + position
        return dt.date(year, 7, 1 + dice_day % 28).isoformat()
    first = bd - 30 - dice_day % 9000
    return iso_day(min(bd - 1, first + position * 75))


CHILDREN_SHELVES = {"picture_book": "E", "picture_book_large": "大型E", "kamishibai": "K", "kamishibai_large": "大型K"}


def _shelf_mark(genre: Genre, text: WorkText, category: int, volume: str) -> str:
    """The call number on the spine: class/author[/volume]; picture books and kamishibai by their shelf."""
    if genre.material == "magazine":
        return "雑誌"
    if genre.material == "av":
        return f"{genre.key.upper()}/{text.ndc}"
    if category == REFERENCE_ONLY:
        return f"R{text.ndc}"
    shelf = CHILDREN_SHELVES.get(genre.material) or ("J" if genre.key == "children" else "") + text.ndc
    mark = f"{shelf}/{text.kana[:2]}"
    return f"{mark}/{volume}" if genre.series else mark


class _WorkCache:
    """Describes each work once while titles or copies are walked in order."""

    def __init__(self, seed: int, cat: Catalogue):
        self.seed, self.cat = seed, cat
        self.work, self.text = -1, None

    def __call__(self, t: int) -> WorkText:
        work = self.cat.work[t]
        if work != self.work:
            self.work, self.text = work, describe_work(self.seed, self.cat, work)
        return self.text


def title_rows(spec: SampleSpec, cat: Catalogue) -> Iterator[dict]:
    describe = _WorkCache(spec.seed, cat)
    for t in range(cat.title_count):
        genre, work, span = GENRES[cat.genre[t]], cat.work[t], cat.span[t]
        text = describe(t)
        series_id = volume = label = ""
        title = text.title
        if genre.series:
            number, label = _volume(spec, genre, t - work, span, work)
            volume, series_id = str(number), f"{'MAG' if genre.key == 'magazine' else 'SER'}{work + 1:07d}"
            title = f"{title} {label}"
        catalogued = "" if t in cat.uncatalogued else _catalogued_on(
            spec, genre, t - work, span, Dice(spec.seed, CATALOGUING + work).below(1 << 30))
        yield {
            "bib_id": bib_id(t), "title": title, "author": text.author, "publisher": text.publisher,
            "material_type": genre.material, "category": CATEGORIES[cat.category[t]], "ndc": text.ndc,
            "series_id": series_id, "volume": volume, "volume_label": label, "catalogued_on": catalogued,
        }


def copy_rows(spec: SampleSpec, cat: Catalogue, shelf: Circulation, town: Town) -> Iterator[dict]:
    branches = town.branches
    describe = _WorkCache(spec.seed, cat)
    for t in range(cat.title_count):
        genre = GENRES[cat.genre[t]]
        mark = _shelf_mark(genre, describe(t), cat.category[t], str(t - cat.work[t] + 1))
        bib = bib_id(t)
        for c in cat.copies_of(t):
            located = shelf.location[c]
            yield {
                "barcode": barcode(c), "bib_id": bib, "owning_branch": branches[cat.owner[c]].code,
                "location_branch": "" if located == NOWHERE else branches[located].code,
                "shelf_mark": mark, "state": COPY_STATES[shelf.state[c]],
            }
