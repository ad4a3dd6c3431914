"""Planning the active holds: who waits for which title, which copies are bound, and the hold limit."""

from __future__ import annotations

from ils.tools.sample.catalogue import CONTEST, COUNTER_ONLY_MATERIALS, CURRENT_ISSUE, GENRES, REFERENCE_ONLY
from ils.tools.sample.circulation import (
    ALLOCATED,
    CHANNEL_WEIGHTS,
    CHANNELS,
    HOLD_IN_TRANSIT,
    IN_TRANSIT,
    ON_HOLD_SHELF,
    PULLED,
    READY,
    SERIES_WAITING,
    WAITING,
    free_copy,
    heavy_reader,
    wanted_title,
)
from ils.tools.sample.draws import weighted
from ils.tools.sample.patrons import ACTIVE, BY_EMAIL, BY_PHONE, NO_CONTACT, USUAL_CONTACT

HOLD_LIMIT = 20  # Kitami's limit, the highest of the five profiles


class HoldPlanner:
    """Active holds: queues on the bestsellers, copies bound to some, series-ordered groups."""

    def __init__(self, rng, spec, town, cat, readers, circ):
        self.rng, self.spec, self.town, self.cat, self.readers, self.circ = rng, spec, town, cat, readers, circ
        self.held: set[int] = set()  # patron * titles + title: membership only, never iterated
        self.count = bytearray(readers.count)
        self.bd = spec.business_day.toordinal()

    def run(self) -> None:
        self._fill_to_limit()
        for _ in range(20):  # at least one series-ordered group, however small the sample
            if self._series_group(self.spec.holds - len(self.circ.holds)):
                break
        holds, target, misses = self.circ.holds, self.spec.holds, 0
        while len(holds) < target and misses < 10 * target:
            room = target - len(holds)
            placed = self._series_group(room) if room > 1 and self.rng.random() < 0.05 else self._single()
            misses += not placed

    def _fill_to_limit(self) -> None:
        """A few patrons at Kitami's 20 and Mito's 15, so the limit rules have someone to refuse."""
        full = min(max(2, self.readers.count // 400), self.spec.holds // 70)
        active = [p for p in self.rng.sample(range(self.readers.count), 4 * full) if self.readers.status[p] == ACTIVE]
        for k, p in enumerate(active[: 2 * full]):
            limit = HOLD_LIMIT if k < full else 15
            while self.count[p] < limit:
                self._single(patron=p)
            if limit == HOLD_LIMIT:
                self.circ.full_patrons.append(p)

    def _patron(self) -> int | None:
        for _ in range(20):
            p = heavy_reader(self.rng, self.readers)
            if self.readers.status[p] == ACTIVE and self.count[p] < HOLD_LIMIT - 1:
                return p
        return None

    def _title(self, p: int, bound: bool) -> int | None:
        """For a waiting hold preferably a title whose copies are all out (earlier nights allocated
        the rest); for a hold with a copy, one with a copy on the shelf."""
        fallback = None
        for _ in range(20):
            t = wanted_title(self.rng, self.cat, 0.1 if bound else 0.7)
            if not self._holdable(t) or p * self.cat.title_count + t in self.held:
                continue
            if (free_copy(self.cat, self.circ, t, self.rng) is not None) == bound:
                return t
            fallback = t if fallback is None else fallback
        return fallback

    def _holdable(self, t: int) -> bool:
        return self.cat.category[t] != REFERENCE_ONLY and t not in self.cat.uncatalogued

    def _single(self, patron: int | None = None) -> bool:
        p = self._patron() if patron is None else patron
        status = self._wished_status()
        t = None if p is None else self._title(p, bound=status != WAITING)
        if t is None:
            return False
        channel = self._channel(t)
        self._add(p, t, status, self._queued(channel), channel, self._pickup(p), self._contact(p))
        return True

    def _series_group(self, room: int) -> bool:
        """順番予約: the first volume may be served; the later ones wait for it (準備中)."""
        rng, cat = self.rng, self.cat
        p = self._patron()
        if p is None or not cat.series:
            return False
        work = cat.series[rng.randrange(len(cat.series))]
        span = cat.span[work]
        n = min(span, rng.randint(2, 4), room, HOLD_LIMIT - self.count[p])
        first = work if rng.random() < 0.8 or span == n else work + rng.randint(1, span - n)
        titles = [first + k for k in range(n)]
        if n < 2 or any(p * cat.title_count + t in self.held for t in titles):
            return False
        self.circ.series_groups += 1
        group, channel = self.circ.series_groups, self._channel(first)
        queued, pickup, contact = self._queued(channel), self._pickup(p), self._contact(p)
        for position, t in enumerate(titles, start=1):
            status = self._wished_status() if position == 1 else SERIES_WAITING
            self._add(p, t, status, queued, channel, pickup, contact, group, position)
        return True

    def _wished_status(self) -> int:
        x = self.rng.random()
        return READY if x < 0.12 else HOLD_IN_TRANSIT if x < 0.18 else ALLOCATED if x < 0.24 else WAITING

    def _add(self, p, t, status, queued, channel, pickup, contact, group=0, position=0) -> None:
        holds, circ = self.circ.holds, self.circ
        copy = -1
        if status in (ALLOCATED, HOLD_IN_TRANSIT, READY):
            copy, status = self._bind_copy(t, status, pickup)
        if copy >= 0 and status == READY:
            days_queued = -(queued // 86400)  # at least 1: queued before the business day
            holds.ready_on.append(self.bd - self.rng.randint(0, min(10, days_queued - 1)))
        else:
            holds.ready_on.append(0)
        for column, value in ((holds.patron, p), (holds.title, t), (holds.pickup, pickup), (holds.status, status),
                              (holds.queued, queued), (holds.channel, channel), (holds.contact, contact),
                              (holds.group, group), (holds.position, position), (holds.copy, copy)):
            column.append(value)
        self.held.add(p * self.cat.title_count + t)
        self.count[p] += 1
        circ.title_held[t] = 1

    def _bind_copy(self, t: int, status: int, pickup: int) -> tuple[int, int]:
        c = free_copy(self.cat, self.circ, t, self.rng)
        if c is None:
            return -1, WAITING
        if status == HOLD_IN_TRANSIT and self.cat.owner[c] == pickup:
            status = ALLOCATED  # the copy is already where it will be picked up
        state = {ALLOCATED: PULLED, HOLD_IN_TRANSIT: IN_TRANSIT, READY: ON_HOLD_SHELF}[status]
        self.circ.state[c] = state
        if status == READY:
            self.circ.location[c] = pickup
        return c, status

    def _channel(self, t: int) -> int:
        cat = self.cat
        if cat.category[t] in (CONTEST, CURRENT_ISSUE) or GENRES[cat.genre[t]].material in COUNTER_ONLY_MATERIALS:
            return CHANNELS.index("counter")  # web holds refused: placed at the counter (seed 000)
        return weighted(self.rng, CHANNEL_WEIGHTS)

    def _queued(self, channel: int) -> int:
        rng = self.rng
        day = -rng.randint(1, 120)
        if CHANNELS[channel] in ("web", "mobile"):
            second = rng.randint(4 * 3600, 24 * 3600 - 1)
        else:
            second = rng.randint(9 * 3600 + 1800, 19 * 3600)
        return day * 86400 + second

    def _pickup(self, p: int) -> int:
        rng, town = self.rng, self.town
        x = rng.random()
        if x < 0.97 or not town.stations:
            home = self.readers.home[p]
            if x < 0.8 and town.branches[home].pickup:
                return home
            return town.pickups[rng.randrange(len(town.pickups))]
        return town.stations[rng.randrange(len(town.stations))]

    def _contact(self, p: int) -> int:
        rng, r = self.rng, self.readers
        if rng.random() < 0.5:
            return USUAL_CONTACT
        return rng.choice([NO_CONTACT] + [BY_EMAIL] * bool(r.email[p]) + [BY_PHONE] * bool(r.phone[p]))
