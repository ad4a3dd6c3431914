"""What to generate: the seed, the business day, how much of everything, and the presets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from ils.tools.sample import names as N

DEFAULT_SEED = 20261125
BUSINESS_DAY = dt.date(2026, 11, 25)


@dataclass(frozen=True)
class SampleSpec:
    """What to generate: the seed, the business day and how much of everything."""

    seed: int = DEFAULT_SEED
    business_day: dt.date = BUSINESS_DAY
    titles: int = 3_000
    copies_per_title: float = 2.5
    patrons: int = 400
    loans: int = 700
    holds: int = 500
    requests: int = 300
    branches: int = 9
    stations: int = 5

    def __post_init__(self):
        if self.titles < 100 or self.patrons < 50:
            raise ValueError("a sample needs at least 100 titles and 50 patrons")
        if min(self.loans, self.holds, self.requests) < 20:
            raise ValueError("a sample needs at least 20 loans, holds and requests")
        if self.branches not in (9, 18, 60) or not 1 <= self.stations <= len(N.STATION_NAMES):
            raise ValueError("branches must be 9, 18 or 60, stations 1 to 30")

    @classmethod
    def preset(cls, name: str) -> SampleSpec:
        """A preset by name; `quarter-city`, `half-prefecture`... are that preset scaled (and a
        quarter of `half-city` is an eighth of the city: the benchmark's growth of a scaled preset)."""
        *fractions, base = name.split("-")
        if base not in PRESETS or not set(fractions) <= set(FRACTIONS):
            raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESET_NAMES)}")
        spec = cls(**PRESETS[base])
        for fraction in fractions:
            spec = spec.scaled(FRACTIONS[fraction])
        return spec

    def with_seed(self, seed: int) -> SampleSpec:
        return replace(self, seed=seed)

    def scaled(self, fraction: float) -> SampleSpec:
        """The same library system with `fraction` of its titles, patrons, loans, holds and
        requests (the branches and stations stay): the benchmark's growth sizes."""
        return replace(self, **{size: round(getattr(self, size) * fraction) for size in SCALED})


PRESETS = {
    "sample": {},
    "city": dict(titles=800_000, patrons=300_000, loans=400_000, holds=200_000, requests=20_000,
                 branches=18, stations=10),
    "prefecture": dict(titles=8_000_000, patrons=3_000_000, loans=4_000_000, holds=2_000_000,
                       requests=200_000, branches=60, stations=30),
}
# What `scaled` multiplies, and the fractions the benchmark's growth runs at, by name.
SCALED = ("titles", "patrons", "loans", "holds", "requests")
FRACTIONS = {"quarter": 0.25, "half": 0.5}
PRESET_NAMES = [*PRESETS, *(f"{fraction}-{size}" for size in ("city", "prefecture") for fraction in FRACTIONS)]
