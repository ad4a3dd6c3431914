"""Circulation on the business day: copy states, open loans and active holds, and the loans and holds files."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

from ils.holds import lifecycle
from ils.tools.sample import compact
from ils.tools.sample.catalogue import GENRES, NORMAL, Catalogue
from ils.tools.sample.draws import cumulative
from ils.tools.sample.formats import barcode, bib_id, card_number, instant, iso_day, series_group_id
from ils.tools.sample.patrons import CONTACTS, Readers
from ils.tools.sample.spec import SampleSpec
from ils.tools.sample.town import Town

COPY_STATES = ("on_shelf", "on_loan", "in_transit", "on_hold_shelf", "missing", "long_overdue", "withdrawn",
               "on_shelf")  # the last: on the shelf and on a pull list for an allocated hold
ON_SHELF, ON_LOAN, IN_TRANSIT, ON_HOLD_SHELF, MISSING, LONG_OVERDUE, WITHDRAWN, PULLED = range(8)
NOWHERE = 255  # location_branch blank: the copy is at its owning branch (or on the van)
HOLD_STATUSES = lifecycle.ACTIVE  # the generator's indexes below follow this order
WAITING, SERIES_WAITING, ALLOCATED, HOLD_IN_TRANSIT, READY = range(5)
CHANNELS = ("web", "mobile", "opac", "paper", "counter")
CHANNEL_WEIGHTS = cumulative((42, 15, 8, 5, 30))
PICKUP_DAYS = 7


@dataclass
class Loans:
    """Open loans, one entry per loan in each column."""

    copy: array = compact.column("I")
    patron: array = compact.column("I")
    title: array = compact.column("I")
    loaned: array = compact.column("i")  # ordinal days
    due: array = compact.column("i")
    renewals: bytearray = compact.column()
    inter_library: bytearray = compact.column()
    branch: bytearray = compact.column()

    def __len__(self) -> int:
        return len(self.copy)


@dataclass
class Holds:
    """Active holds, one entry per hold in each column."""

    patron: array = compact.column("I")
    title: array = compact.column("I")
    pickup: bytearray = compact.column()
    status: bytearray = compact.column()  # index into HOLD_STATUSES
    queued: array = compact.column("i")  # seconds from the business day's midnight (negative: before it)
    channel: bytearray = compact.column()
    contact: bytearray = compact.column()  # index into CONTACTS
    group: array = compact.column("I")  # 0: not series-ordered
    position: bytearray = compact.column()
    copy: array = compact.column("i")  # -1: no copy bound
    ready_on: array = compact.column("i")  # ordinal day, 0 unless ready

    def __len__(self) -> int:
        return len(self.patron)


@dataclass
class Circulation:
    """Copy states and locations, open loans and active holds, planned together so they agree."""

    state: bytearray  # per copy: index into COPY_STATES
    location: bytearray  # per copy: branch index, NOWHERE when at its owning branch
    title_held: bytearray  # per title: 1 if someone holds it
    loans: Loans = field(default_factory=Loans)
    holds: Holds = field(default_factory=Holds)
    only_copy_long_overdue: array = compact.column("I")
    full_patrons: array = compact.column("I")  # at the hold limit
    overdue_loans: array = compact.column("I")
    renewed_loans: array = compact.column("I")  # renewed once and not overdue
    inter_library_loans: array = compact.column("I")
    series_groups: int = 0


def lose_copies(rng, cat: Catalogue, circ: Circulation) -> None:
    """Some copies are missing, withdrawn or never came back."""
    copies = cat.copy_count
    for state, share in ((MISSING, 0.005), (WITHDRAWN, 0.004), (LONG_OVERDUE, 0.003)):
        for _ in range(int(copies * share)):
            c = rng.randrange(copies)
            if cat.is_lendable(cat.title_of(c)):
                circ.state[c] = state
    _lose_only_copies(rng, cat, circ)


def _lose_only_copies(rng, cat: Catalogue, circ: Circulation) -> None:
    """Books whose one copy never came back (seed 002: no spare copy and long overdue: no holds)."""
    wanted, tries = max(3, cat.title_count // 1000), 0
    while len(circ.only_copy_long_overdue) < wanted and tries < 1000 * wanted:
        tries += 1
        t = rng.randrange(cat.title_count)
        copies_of = cat.copies_of(t)
        single = len(copies_of) == 1 and cat.span[t] == 1 and cat.category[t] == NORMAL
        if single and GENRES[cat.genre[t]].material == "book" and circ.state[copies_of[0]] == ON_SHELF:
            circ.state[copies_of[0]] = LONG_OVERDUE
            circ.only_copy_long_overdue.append(t)


def free_copy(cat: Catalogue, circ: Circulation, t: int, rng) -> int | None:
    """An on-shelf copy of t not bound to anything, starting the search at a random copy."""
    copies = cat.copies_of(t)
    offset = rng.randrange(len(copies)) if len(copies) > 1 else 0
    for k in range(len(copies)):
        c = copies[(offset + k) % len(copies)]
        if circ.state[c] == ON_SHELF:
            return c
    return None


def wanted_title(rng, cat: Catalogue, bestseller_share: float) -> int:
    """Mostly the bestsellers (the first most of all), otherwise any copy's title."""
    if cat.bestsellers and rng.random() < bestseller_share:
        return cat.bestsellers[int(len(cat.bestsellers) * rng.random() ** 2)]
    return cat.title_of(rng.randrange(cat.copy_count))


def heavy_reader(rng, readers: Readers) -> int:
    return int(readers.count * rng.random() ** 1.5)


def loan_rows(circ: Circulation, town: Town) -> Iterator[dict]:
    loans, branches = circ.loans, town.branches
    for i in range(len(loans)):
        yield {
            "barcode": barcode(loans.copy[i]), "card": card_number(loans.patron[i]),
            "loaned_on": iso_day(loans.loaned[i]), "due_on": iso_day(loans.due[i]), "renewals": str(loans.renewals[i]),
            "inter_library": "yes" if loans.inter_library[i] else "no", "branch": branches[loans.branch[i]].code,
        }


def hold_rows(spec: SampleSpec, circ: Circulation, town: Town) -> Iterator[dict]:
    holds, branches = circ.holds, town.branches
    for i in range(len(holds)):
        ready = holds.ready_on[i]
        group = holds.group[i]
        yield {
            "card": card_number(holds.patron[i]), "bib_id": bib_id(holds.title[i]),
            "pickup": branches[holds.pickup[i]].code,
            "status": HOLD_STATUSES[holds.status[i]], "queued_at": instant(spec, holds.queued[i]),
            "channel": CHANNELS[holds.channel[i]], "contact_method": CONTACTS[holds.contact[i]],
            "series_group": series_group_id(group) if group else "",
            "series_position": str(holds.position[i]) if group else "",
            "barcode": barcode(holds.copy[i]) if holds.copy[i] >= 0 else "",
            "ready_on": iso_day(ready) if ready else "",
            "pickup_deadline": iso_day(ready + PICKUP_DAYS) if ready else "",
        }
