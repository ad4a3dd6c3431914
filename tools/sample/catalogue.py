"""The catalogue's shape: genres, works and volumes, categories, and how many copies each branch owns."""

from __future__ import annotations

import bisect
import math
from array import array
from dataclasses import dataclass, field

from ils.tools.sample import compact
from ils.tools.sample import names as N
from ils.tools.sample.draws import cumulative, random_stream, weighted
from ils.tools.sample.spec import SampleSpec
from ils.tools.sample.town import Town


@dataclass(frozen=True)
class Genre:
    key: str
    material: str
    weight: float  # share of works; a series counts once
    series: str = ""  # parts (上下), numbered, comic, yearbook, encyclopedia, magazine
    category: str = "normal"
    copies: str = "lending"  # lending (may be a bestseller), few, single
    ndc: str = ""


GENRES = (
    Genre("novel", "book", 20, ndc="913.6"),
    Genre("novel_in_parts", "book", 2.5, series="parts", ndc="913.6"),
    Genre("novel_series", "book", 0.8, series="numbered", ndc="913.6"),
    Genre("mystery", "book", 4, ndc="933.7"),
    Genre("essay", "book", 4, ndc="914.6"),
    Genre("children", "book", 6, ndc="913"),
    Genre("nonfiction", "book", 26),
    Genre("picture_book", "picture_book", 8, copies="few", ndc="726.6"),
    Genre("picture_book_large", "picture_book_large", 0.6, copies="single", ndc="726.6"),
    Genre("kamishibai", "kamishibai", 1.5, copies="single", ndc="779.8"),
    Genre("kamishibai_large", "kamishibai_large", 0.3, copies="single", ndc="779.8"),
    Genre("comic_series", "comic", 0.6, series="comic", copies="few", ndc="726.1"),
    Genre("comic", "comic", 1.0, copies="few", ndc="726.1"),
    Genre("dvd", "av", 1.5, copies="few", ndc="778"),
    Genre("cd", "av", 1.2, copies="few", ndc="764"),
    Genre("dictionary", "book", 0.8, category="reference_only", copies="few"),
    Genre("yearbook", "book", 0.1, series="yearbook", category="reference_only", copies="single"),
    Genre("encyclopedia", "book", 0.05, series="encyclopedia", category="reference_only", copies="single"),
    Genre("magazine", "magazine", 0, series="magazine", copies="few"),
)
GENRE_INDEX = {g.key: i for i, g in enumerate(GENRES)}
WORK_WEIGHTS = cumulative(g.weight for g in GENRES)
CATEGORIES = ("normal", "reference_only", "contest", "current_issue")
CATEGORY_INDEX = {c: i for i, c in enumerate(CATEGORIES)}
NORMAL, REFERENCE_ONLY, CONTEST, CURRENT_ISSUE = range(4)
COUNTER_ONLY_MATERIALS = frozenset({"picture_book_large", "kamishibai_large", "comic", "av"})
BESTSELLER_SHARE = 0.012
SERIES_FOR_HOLDS = frozenset({"parts", "numbered", "comic"})
SERIES_SPANS = {"numbered": (3, 10), "comic": (3, 20), "yearbook": (4, 10), "encyclopedia": (8, 20)}


@dataclass
class Catalogue:
    """Per title: genre, category, first title of its work, size of the work; per copy: its owner."""

    genre: array = compact.column("B")  # index into GENRES
    category: array = compact.column("B")  # index into CATEGORIES
    work: array = compact.column("I")  # the work's first title
    span: array = compact.column("B")  # how many volumes (issues) the work has
    first_copy: array = field(default_factory=lambda: array("I", [0]))  # per title, and one past the last
    owner: bytearray = compact.column()  # branch index per copy
    bestsellers: array = compact.column("I")  # titles with many copies, most wanted first
    series: array = compact.column("I")  # first titles of lending series, for series-ordered holds
    flavours: dict[str, array] = field(default_factory=lambda: {
        k: array("I") for k in ("reference_only", "contest", "current_issue", "counter_only")})
    uncatalogued: frozenset[int] = frozenset()
    magazine_starts: array = compact.column("I")
    magazine_names: array = compact.column("H")  # index into subjects x forms

    @property
    def title_count(self) -> int:
        return len(self.genre)

    @property
    def copy_count(self) -> int:
        return len(self.owner)

    def title_of(self, copy: int) -> int:
        return bisect.bisect_right(self.first_copy, copy) - 1

    def copies_of(self, title: int) -> range:
        return range(self.first_copy[title], self.first_copy[title + 1])

    def is_lendable(self, title: int) -> bool:
        return self.category[title] in (NORMAL, CONTEST) and title not in self.uncatalogued


def _extra_copy_mean(average: float) -> float:
    """Mean of the exponential whose floor, plus one, gives a lending title's copies.

    About 69% of titles are lending books; the other titles (picture books, comics, AV,
    reference, magazines) and the bestsellers add about 0.5 to the average. Solve for the
    lending books' average, then for the exponential whose floor has that mean less one.
    """
    lending = max(1.05, (average - 0.5) / 0.69)
    return 1 / math.log(1 + 1 / (lending - 1))


class CatalogueBuilder:
    """Lays the catalogue out work by work; magazines come last, one run of issues each."""

    def __init__(self, spec: SampleSpec, town: Town):
        self.spec, self.town = spec, town
        self.rng = random_stream(spec, "catalogue")
        self.cat = Catalogue()
        self.contest_left = min(40, max(6, spec.titles // 500))
        self.extra_copies = _extra_copy_mean(spec.copies_per_title)

    def build(self) -> Catalogue:
        magazines = self._magazine_spans()
        end = self.spec.titles - sum(magazines)
        while self.cat.title_count < end:
            self._add_work(end)
        self._add_magazines(magazines)
        return self.cat

    def _magazine_spans(self) -> list[int]:
        count = max(3, min(len(N.MAGAZINE_SUBJECTS) * len(N.MAGAZINE_FORMS), self.spec.titles // 400))
        return [self.rng.randint(12, 24) for _ in range(count)]

    def _add_work(self, end: int) -> None:
        rng, cat = self.rng, self.cat
        g = weighted(rng, WORK_WEIGHTS)
        genre = GENRES[g]
        start = cat.title_count
        span = max(1, min(self._series_span(genre), end - start))
        bestseller = genre.copies == "lending" and rng.random() < BESTSELLER_SHARE
        category = self._category(genre)
        for volume in range(span):
            self._add_title(g, category, start, span, self._copy_count(genre, bestseller))
            if bestseller:
                cat.bestsellers.append(start + volume)
        if genre.series in SERIES_FOR_HOLDS and span > 1 and category == NORMAL:
            cat.series.append(start)

    def _series_span(self, genre: Genre) -> int:
        """How many volumes: 上下 or 上中下, 3-10 numbered volumes, up to 20 comics, years of a yearbook."""
        if not genre.series:
            return 1
        if genre.series == "parts":
            return 2 + (self.rng.random() < 0.4)
        low, high = SERIES_SPANS[genre.series]
        return self.rng.randint(low, high)

    def _category(self, genre: Genre) -> int:
        """The genre's category; a handful of children's books are this year's 課題図書."""
        if genre.key == "children" and self.contest_left and self.rng.random() < 0.25:
            self.contest_left -= 1
            return CONTEST
        return CATEGORY_INDEX[genre.category]

    def _copy_count(self, genre: Genre, bestseller: bool) -> int:
        rng = self.rng
        if bestseller:
            return rng.randint(6, 12) * (1 + (len(self.town.holding) > 9))
        if genre.copies == "lending":
            return 1 + min(9, int(rng.expovariate(1 / self.extra_copies)))
        if genre.copies == "few":
            return 1 + (rng.random() < 0.3)
        return 1

    def _add_title(self, g: int, category: int, work: int, span: int, copies: int) -> None:
        cat = self.cat
        t = cat.title_count
        cat.genre.append(g)
        cat.category.append(category)
        cat.work.append(work)
        cat.span.append(span)
        material = GENRES[g].material
        if category != NORMAL:
            cat.flavours[CATEGORIES[category]].append(t)
        elif material in COUNTER_ONLY_MATERIALS:
            cat.flavours["counter_only"].append(t)
        self._add_copies(GENRES[g], copies)

    def _add_copies(self, genre: Genre, copies: int) -> None:
        cat, town, rng = self.cat, self.town, self.rng
        for k in range(copies):
            if genre.copies == "lending" and copies >= 6 and k < len(town.libraries):
                owner = town.libraries[k]  # a popular title: one for every library first
            elif genre.key == "magazine" and k == 0:
                owner = 0  # every magazine at central, a second copy of some at a library
            elif genre.copies == "single" or genre.key == "magazine":
                owner = town.libraries[rng.randrange(len(town.libraries))]
            else:
                owner = town.holding[weighted(rng, town.stock)]
            cat.owner.append(owner)
        cat.first_copy.append(len(cat.owner))

    def _add_magazines(self, spans: list[int]) -> None:
        cat, rng = self.cat, self.rng
        names = rng.sample(range(len(N.MAGAZINE_SUBJECTS) * len(N.MAGAZINE_FORMS)), len(spans))
        uncatalogued = set()
        g = GENRE_INDEX["magazine"]
        for m, span in enumerate(spans):
            start = cat.title_count
            cat.magazine_starts.append(start)
            cat.magazine_names.append(names[m])
            for issue in range(span):
                newest = issue == span - 1
                self._add_title(g, CURRENT_ISSUE if newest else NORMAL, start, span,
                                1 + (newest and rng.random() < 0.3))
            if m % 50 == 0:
                uncatalogued.add(cat.title_count - 1)  # arrived, not yet registered (seed 001)
        cat.uncatalogued = frozenset(uncatalogued)
