"""The town: branches, stations and their calendars, and the van routes between them."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from ils.tools.sample import names as N
from ils.tools.sample.draws import cumulative, random_stream
from ils.tools.sample.spec import SampleSpec

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Branch:
    code: str
    name: str
    kind: str
    parent: str = ""
    x: float = 0.0
    y: float = 0.0
    closed_weekdays: str = "mon"
    national_holidays: str = ""
    closed_weekday_on_holiday: str = ""
    year_end_closure: str = ""
    pickup: bool = True
    stock: float = 1.0  # share of the collection it owns (stations own none)

    @property
    def holds_stock(self) -> bool:
        return self.kind != "station"


# Per-branch calendars of the sample; blanks take the library profile's default.
SAMPLE_CALENDARS = {
    "central": dict(closed_weekday_on_holiday="next_weekday", year_end_closure="12-29/01-03", stock=3.0),
    "minami": dict(closed_weekdays="tue"),
    "ekimae": dict(closed_weekdays="-", national_holidays="open", year_end_closure="12-31/01-01", stock=0.4),
    "ryokuchi": dict(closed_weekdays="mon,thu", national_holidays="closed", pickup=False, stock=0.3),
    "minato": dict(closed_weekdays="sun,mon", national_holidays="closed", stock=0.35),
    "yamate": dict(closed_weekdays="mon,tue", stock=0.35),
}


class Town(NamedTuple):
    branches: tuple[Branch, ...]
    holding: tuple[int, ...]  # branches that own copies
    libraries: tuple[int, ...]
    pickups: tuple[int, ...]  # branches that own copies and serve as 受取館
    stations: tuple[int, ...]
    stock: list[float]  # cumulative weights over `holding`

    def index(self, code: str) -> int:
        return next(i for i, b in enumerate(self.branches) if b.code == code)


def plan_town(spec: SampleSpec) -> Town:
    rng = random_stream(spec, "town")
    branches = [_sample_branch(*row) for row in N.SAMPLE_BRANCHES]
    if spec.branches >= 18:
        branches += [_city_branch(rng, i, *row) for i, row in enumerate(N.CITY_BRANCHES)]
    if spec.branches >= 60:
        branches += [_town_library(rng, i) for i in range(42)]
    branches += [_station(i, spec.stations) for i in range(spec.stations)]
    assert len({b.code for b in branches}) == len(branches), "branch codes must be unique"
    holding = tuple(i for i, b in enumerate(branches) if b.holds_stock)
    return Town(
        branches=tuple(branches),
        holding=holding,
        libraries=tuple(i for i in holding if branches[i].kind == "library"),
        pickups=tuple(i for i in holding if branches[i].pickup),
        stations=tuple(i for i, b in enumerate(branches) if b.kind == "station"),
        stock=cumulative(branches[i].stock for i in holding),
    )


def _sample_branch(code, name, kind, parent, x, y) -> Branch:
    settings = dict(stock=1.2 if kind == "library" else 0.35) | SAMPLE_CALENDARS.get(code, {})
    return Branch(code, name, kind, parent or "", x, y, **settings)


def _city_branch(rng, i, code, name, kind) -> Branch:
    angle, radius = rng.uniform(0, 2 * math.pi), rng.uniform(9, 18)
    room = kind == "room"
    return Branch(code, name, kind, "central" if room else "", radius * math.cos(angle), radius * math.sin(angle),
                  closed_weekdays="mon,tue" if room else "mon", stock=0.35 if room else 1.2)


def _town_library(rng, i) -> Branch:
    """A library of another town of the prefecture, 20-70 km from central."""
    prefix = N.TOWN_PREFIXES[i % len(N.TOWN_PREFIXES)]
    suffix = N.TOWN_SUFFIXES[i // len(N.TOWN_PREFIXES) % len(N.TOWN_SUFFIXES)]
    angle, radius = rng.uniform(0, 2 * math.pi), rng.uniform(20, 70)
    return Branch(f"{prefix[1]}{suffix[1]}", f"{prefix[0]}{suffix[0]}町立図書館", "library", "",
                  radius * math.cos(angle), radius * math.sin(angle),
                  closed_weekdays=("mon", "tue")[i % 2], stock=1.0)


def _station(i: int, count: int) -> Branch:
    visit_day = i % 5  # each stop is visited on one weekday, Monday to Friday
    closed = ",".join(d for k, d in enumerate(WEEKDAYS) if k != visit_day)
    angle = 2 * math.pi * i / count
    name = N.STATION_NAMES[i]
    return Branch(f"BM-{name}", f"移動図書館 {name}ステーション", "station", "central",
                  12 * math.cos(angle), 12 * math.sin(angle), closed_weekdays=closed,
                  national_holidays="closed", stock=0.0)


def branch_rows(town: Town) -> Iterator[dict]:
    for order, b in enumerate(town.branches, start=1):
        yield {
            "code": b.code, "name": b.name, "kind": b.kind, "parent": b.parent,
            "pickup": "yes" if b.pickup else "no", "closed_weekdays": b.closed_weekdays,
            "national_holidays": b.national_holidays, "closed_weekday_on_holiday": b.closed_weekday_on_holiday,
            "year_end_closure": b.year_end_closure, "phone": f"0299-00-{order:04d}", "sort_order": str(order),
        }


def calendar_rows(spec: SampleSpec, town: Town) -> Iterator[dict]:
    rng = random_stream(spec, "calendar")
    days = []
    for position, i in enumerate(town.holding):
        days += _inventory_closure(rng, spec, town.branches[i], position)
    days += _special_openings(spec, town)
    days += _bookmobile_days(spec, town)
    yield from sorted(days, key=lambda row: (town.index(row["branch"]), row["date"]))


def _inventory_closure(rng, spec, branch: Branch, position: int) -> list[dict]:
    """蔵書点検: a few closed days per branch in the months around the business day."""
    if position == 1:
        start = spec.business_day + dt.timedelta(days=1)  # right after the night: deadlines must skip it
    else:
        start = spec.business_day + dt.timedelta(days=rng.randint(-50, 80))
    length = rng.randint(3, 5) if branch.kind == "library" else rng.randint(2, 3)
    return [_calendar_day(branch.code, start + dt.timedelta(days=k), "closed", "蔵書点検") for k in range(length)]


def _special_openings(spec, town) -> list[dict]:
    year = spec.business_day.year
    out = [_calendar_day(town.branches[0].code, dt.date(year, 12, 28), "open", "年末特別開館")]
    if len(town.libraries) > 1:
        out.append(_calendar_day(town.branches[town.libraries[-1]].code, dt.date(year, 12, 29), "open", "年末特別開館"))
    return out


def _bookmobile_days(spec, town) -> list[dict]:
    """The first stop misses next week's visit for a vehicle check and is served the day after."""
    stop = town.branches[town.stations[0]]
    visit = WEEKDAYS.index(next(d for d in WEEKDAYS if d not in stop.closed_weekdays.split(",")))
    day = spec.business_day + dt.timedelta(days=(visit - spec.business_day.weekday()) % 7 or 7)
    return [
        _calendar_day(stop.code, day, "closed", "車両点検"),
        _calendar_day(stop.code, day + dt.timedelta(days=1), "open", "振替運行"),
    ]


def _calendar_day(code: str, day: dt.date, state: str, note: str) -> dict:
    return {"branch": code, "date": day.isoformat(), "state": state, "note": note}


def route_rows(town: Town) -> Iterator[dict]:
    """Van costs: neighbours 1, across the city 2-3, other towns more; stations via central."""
    b = town.branches
    costs = {}
    for n, i in enumerate(town.holding):
        for j in town.holding[n + 1:]:
            costs[i, j] = _van_cost(math.dist((b[i].x, b[i].y), (b[j].x, b[j].y)))
    for (i, j), cost in costs.items():
        yield {"from": b[i].code, "to": b[j].code, "cost": str(cost)}
    for s in town.stations:
        for j in range(len(b)):
            if j == s or (b[j].kind == "station" and j < s):
                continue
            yield {"from": b[s].code, "to": b[j].code, "cost": str(_station_cost(costs, s, j, b))}


def _van_cost(km: float) -> int:
    return 1 + (km > 8) + (km > 14) + (km > 30)


def _station_cost(costs, s, j, b) -> int:
    if b[j].kind == "station":
        return 2
    if j == 0:
        return 1
    return costs[0, j] + 1
