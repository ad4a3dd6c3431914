"""Planning the open loans: which patron has which copy, since when and due when."""

from __future__ import annotations

from ils.tools.sample.circulation import ON_LOAN, free_copy, heavy_reader, wanted_title
from ils.tools.sample.patrons import ACTIVE

LOAN_DAYS = 14


class Lending:
    """Open loans: mostly current, some renewed, some overdue, a few inter-library."""

    def __init__(self, rng, spec, cat, readers, circ):
        self.rng, self.spec, self.cat, self.readers, self.circ = rng, spec, cat, readers, circ
        self.bd = spec.business_day.toordinal()

    def run(self) -> None:
        for _ in range(self.spec.loans):
            c = self._copy()
            if c is not None:
                self._lend(c)

    def _copy(self) -> int | None:
        for _ in range(50):
            t = wanted_title(self.rng, self.cat, 0.5)
            if self.cat.is_lendable(t):
                c = free_copy(self.cat, self.circ, t, self.rng)
                if c is not None:
                    return c
        return None

    def _lend(self, c: int) -> None:
        rng, loans, circ = self.rng, self.circ.loans, self.circ
        x = rng.random()
        kind = "overdue" if x < 0.065 else "renewed" if x < 0.185 else "inter_library" if x < 0.2 else "current"
        patron = rng.randrange(self.readers.count) if kind == "overdue" else self._borrower()
        loaned, due, renewals = self._dates(kind)
        i = len(loans)
        loans.copy.append(c)
        loans.patron.append(patron)
        loans.title.append(self.cat.title_of(c))
        loans.loaned.append(self.bd + loaned)
        loans.due.append(self.bd + due)
        loans.renewals.append(renewals)
        loans.inter_library.append(kind == "inter_library")
        loans.branch.append(self.cat.owner[c] if rng.random() < 0.7 else self.readers.home[patron])
        circ.state[c] = ON_LOAN
        if kind == "overdue":
            circ.overdue_loans.append(i)
        if kind == "inter_library":
            circ.inter_library_loans.append(i)
        if kind == "renewed":
            circ.renewed_loans.append(i)

    def _borrower(self) -> int:
        for _ in range(10):
            p = heavy_reader(self.rng, self.readers)
            if self.readers.status[p] == ACTIVE:
                return p
        return p

    def _dates(self, kind: str) -> tuple[int, int, int]:
        """(loaned, due, renewals), days relative to the business day; renewal runs 14 days from the renewal."""
        rng = self.rng
        if kind == "overdue" and rng.random() < 0.25:
            loaned = -rng.randint(30, 70)
            return loaned, loaned + rng.randint(1, 13) + LOAN_DAYS, 1
        if kind == "overdue":
            loaned = -rng.randint(LOAN_DAYS + 1, 70)
            return loaned, loaned + LOAN_DAYS, 0
        if kind == "renewed":
            loaned = -rng.randint(LOAN_DAYS, 27)
            return loaned, -rng.randint(0, min(13, -loaned - 1)) + LOAN_DAYS, 1
        loaned = -rng.randint(0, LOAN_DAYS)
        return loaned, loaned + LOAN_DAYS + (7 if kind == "inter_library" else 0), 0
