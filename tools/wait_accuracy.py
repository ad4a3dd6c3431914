"""How good the expected wait (ご用意の目安) is: a few months of the sample city, simulated through the product itself, estimates against what happened.

    python -m ils.tools.wait_accuracy --days 120 --snapshots 30,45,60 --seed 1 [--db URL]

The sample city (data/sample/, as `ils demo` builds it) lives `--days` days: every night
the batch's expire and allocate steps; every day at the counter the pulls confirmed, the
van's copies received, loans returned (most around their due date, some early, some late),
ready holds collected (within the pickup week, a few never), a few waiting holds
cancelled, and new holds placed on the titles people want. All of it goes through the
counter's and the batch's own functions, so the history the estimate reads (loans,
holds, hold_history) is the product's own. On each snapshot day every waiting hold's
expected wait is recorded (ils.holds.wait), with two naive baselines: rank × the loan
period, and ⌈rank / copies⌉ × the loan period. At the end each estimate is compared with
the day the hold really became ready (its first hold_history row to `ready` after the
snapshot); holds cancelled meanwhile are left out, and holds still waiting at the end are
counted as censored. It prints the median and 90th-percentile absolute error in days and
the number of holds, for the estimate and the baselines. Results: docs/holds.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import statistics
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import and_, func, select

from ils.batch.runner import run_batch
from ils.circulation.copies import check_in, check_out, confirm_pull, receive_transit
from ils.errors import IlsError
from ils.holds import lifecycle
from ils.holds.counter import cancel_hold, place_holds
from ils.holds.wait import title_waits
from ils.infra import db, schema
from ils.infra.context import open_context
from ils.infra.installation import DEMO_NIGHT, build_demo
from ils.library.clock import LIBRARY_TZ
from ils.library.staff import add_account

STAFF = "wait-accuracy"
NEW_HOLDS_A_DAY = 8
CANCEL_A_DAY = 0.004  # the chance a waiting hold is cancelled on a given day
NO_SHOW = 0.07  # ready holds never collected


@dataclass
class Estimate:
    hold_id: int
    title_id: int
    on: dt.date  # the snapshot day
    at: dt.datetime
    days: float | None
    rank: int  # the patron's rank: 1 + the active holds ahead
    copies: int


@dataclass
class Accuracy:
    """Absolute errors in days of the estimate and the baselines, over the holds that became ready."""

    errors: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    censored: int = 0  # still waiting at the end
    left: int = 0  # cancelled or otherwise gone before a copy
    no_estimate: int = 0  # the estimate said 未定 (no loanable copy)

    def figures(self, name: str) -> tuple[int, float, float]:
        found = sorted(self.errors[name])
        if not found:
            return 0, math.nan, math.nan
        p90 = found[min(len(found) - 1, math.ceil(0.9 * len(found)) - 1)]
        return len(found), statistics.median(found), p90


class City:
    """The sample city's days, driven through the counter's and the batch's functions."""

    def __init__(self, ctx, seed: int):
        self.ctx, self.rng = ctx, random.Random(f"wait-accuracy:{seed}")
        self.returns: dict[int, dt.date] = {}  # loan id -> the day its borrower brings it back
        self.pickups: dict[int, dt.date | None] = {}  # ready hold id -> the day it is collected (None: never)

    def at(self, day: dt.date, hour: int) -> None:
        self.ctx.now = dt.datetime.combine(day, dt.time(hour), tzinfo=LIBRARY_TZ)
        self.ctx.run_id = None

    def night(self, day: dt.date) -> None:
        self.at(day, 3)
        for step in ("expire", "allocate"):
            run_batch(self.ctx, now_given=True, only=step)
        self.ctx.run_id = None

    def counter(self, day: dt.date) -> None:
        self.at(day, 10)
        conn, c, h, lo, p = self.ctx.conn, schema.copies, schema.holds, schema.loans, schema.patrons
        for barcode, branch in conn.execute(select(c.c.barcode, c.c.location_branch_id).join(h, h.c.copy_id == c.c.id)
                                            .where(h.c.status == "allocated").order_by(c.c.id)).all():
            self._try(confirm_pull, barcode, branch)
        travelling = select(c.c.barcode, func.coalesce(h.c.pickup_branch_id, c.c.owning_branch_id)).outerjoin(
            h, and_(h.c.copy_id == c.c.id, h.c.status.in_(lifecycle.WITH_COPY))).where(c.c.state == "in_transit")
        for barcode, branch in conn.execute(travelling.order_by(c.c.id)).all():
            self._try(receive_transit, barcode, branch)
        self.at(day, 11)
        open_loans = conn.execute(select(lo.c.id, lo.c.loaned_on, lo.c.due_on, c.c.barcode,
                                         func.coalesce(lo.c.branch_id, c.c.owning_branch_id))
                                  .join(c, c.c.id == lo.c.copy_id).where(lo.c.returned_at.is_(None))
                                  .order_by(lo.c.id)).all()
        for loan_id, loaned_on, due_on, barcode, branch in open_loans:
            back = self.returns.setdefault(loan_id, self._return_day(loaned_on, due_on, day))
            if back <= day:
                self._try(check_in, barcode, branch)
        self.at(day, 15)
        ready = conn.execute(select(h.c.id, h.c.ready_on, p.c.card_number, c.c.barcode, h.c.pickup_branch_id)
                             .join(p, p.c.id == h.c.patron_id).join(c, c.c.id == h.c.copy_id)
                             .where(h.c.status == "ready").order_by(h.c.id)).all()
        for hold_id, ready_on, card, barcode, branch in ready:
            when = self.pickups.setdefault(hold_id, self._pickup_day(ready_on or day))
            if when is not None and when <= day:
                self._try(check_out, card, barcode, branch)
        self.at(day, 16)
        self._cancel_some()
        self._new_holds()

    def _try(self, action, *args) -> None:
        try:
            action(self.ctx, *args, staff=STAFF)
        except IlsError:
            pass  # what staff at a real counter would set aside: a copy moved meanwhile, a blocked card

    def _return_day(self, loaned_on: dt.date, due_on: dt.date, today: dt.date) -> dt.date:
        x = self.rng.random()
        if x < 0.25:  # early
            back = loaned_on + dt.timedelta(days=self.rng.randint(3, max(3, (due_on - loaned_on).days - 3)))
        elif x < 0.85:  # in the last days before the due date
            back = due_on - dt.timedelta(days=self.rng.randint(0, 2))
        else:  # late
            back = due_on + dt.timedelta(days=self.rng.randint(1, 12))
        return max(back, today)

    def _pickup_day(self, ready_on: dt.date) -> dt.date | None:
        if self.rng.random() < NO_SHOW:
            return None
        return ready_on + dt.timedelta(days=min(self.rng.randint(0, 6), self.rng.randint(0, 6)))

    def _cancel_some(self) -> None:
        h = schema.holds
        waiting = self.ctx.conn.execute(select(h.c.id).where(h.c.status == "waiting").order_by(h.c.id)).scalars().all()
        for hold_id in waiting:
            if self.rng.random() < CANCEL_A_DAY:
                self._try(cancel_hold, hold_id)

    def _new_holds(self) -> None:
        conn, h, t, c, lo, p, b = (self.ctx.conn, schema.holds, schema.titles, schema.copies, schema.loans,
                                   schema.patrons, schema.branches)
        wanted = conn.execute(select(t.c.bib_id).join(h, h.c.title_id == t.c.id)
                              .where(h.c.status.in_(lifecycle.ACTIVE)).order_by(h.c.id)).scalars().all()
        lent = conn.execute(select(t.c.bib_id).join(c, c.c.title_id == t.c.id).join(lo, lo.c.copy_id == c.c.id)
                            .where(lo.c.returned_at.is_(None)).order_by(lo.c.id)).scalars().all()
        patrons = conn.execute(select(p.c.card_number, b.c.code).join(b, b.c.id == p.c.home_branch_id)
                               .where(p.c.status == "active", b.c.pickup_allowed).order_by(p.c.id)).all()
        for _ in range(NEW_HOLDS_A_DAY):
            pool = wanted if wanted and self.rng.random() < 0.7 else lent
            if not pool or not patrons:
                return
            card, pickup = self.rng.choice(patrons)
            try:
                place_holds(self.ctx, card, [self.rng.choice(pool)], pickup, staff=STAFF)
            except IlsError:
                pass  # over the limit, overdue, already held or lent: the counter says no

    def estimate(self, day: dt.date) -> list[Estimate]:
        """Every waiting hold's expected wait as the patron's page would show it at noon."""
        self.at(day, 12)
        h = schema.holds
        rows = self.ctx.conn.execute(select(h.c.id, h.c.title_id, h.c.status)
                                     .where(h.c.status.in_(lifecycle.ACTIVE))
                                     .order_by(h.c.title_id, *lifecycle.queue_order(h))).all()
        waits = title_waits(self.ctx.conn, self.ctx.policy, self.ctx.now, {r.title_id for r in rows})
        found, rank, title = [], 0, None
        for row in rows:
            rank = rank + 1 if row.title_id == title else 1
            title = row.title_id
            if row.status == "waiting":
                wait = waits[row.title_id]
                found.append(Estimate(row.id, row.title_id, day, self.ctx.now, wait.holds.get(row.id), rank, wait.copies))
        return found


def became_ready(conn, estimates: list[Estimate]) -> dict[int, list[tuple[dt.datetime, str]]]:
    """Each estimated hold's moves: (when, to status), in order."""
    hh = schema.hold_history
    moves: dict[int, list] = defaultdict(list)
    for chunk in db.chunks(sorted({e.hold_id for e in estimates})):
        query = (select(hh.c.hold_id, hh.c.at, hh.c.to_status).where(hh.c.hold_id.in_(chunk))
                 .order_by(hh.c.hold_id, hh.c.at, hh.c.id))
        for hold_id, at, to_status in conn.execute(query):
            moves[hold_id].append((at, to_status))
    return moves


def judge(estimates: list[Estimate], moves, loan_days: int) -> Accuracy:
    accuracy = Accuracy()
    for e in estimates:
        after = [(at, status) for at, status in moves.get(e.hold_id, []) if at > e.at]
        ready = next((at for at, status in after if status == "ready"), None)
        if ready is None:
            gone = any(status in lifecycle.CLOSED for _, status in after)
            if gone:
                accuracy.left += 1
            else:
                accuracy.censored += 1
            continue
        actual = (ready.astimezone(LIBRARY_TZ).date() - e.on).days
        if e.days is None:
            accuracy.no_estimate += 1
            continue
        accuracy.errors["estimate"].append(abs(e.days - actual))
        accuracy.errors["rank × loan period"].append(abs(e.rank * loan_days - actual))
        if e.copies:
            accuracy.errors["⌈rank / copies⌉ × loan period"].append(abs(math.ceil(e.rank / e.copies) * loan_days - actual))
    return accuracy


def simulate(url: str, *, days: int, snapshots: list[int], seed: int, profile: str = "kitami",
             reports: Path | None = None) -> Accuracy:
    """Build the sample city at `url` (replacing an earlier demo there), live `days` days, judge the estimates."""
    build_demo(url, profile)
    with tempfile.TemporaryDirectory() as scratch, open_context(url, None, DEMO_NIGHT) as ctx:
        ctx.settings = replace(ctx.settings, reports={"directory": str(reports or scratch)},
                               mail={"transport": "files", "directory": str(Path(scratch) / "mail")})
        run_batch(ctx, now_given=True)  # the sample's own night: its requests accepted, the first allocation
        with ctx.conn.begin():  # the simulated counter works under an account of its own (ils staff add)
            add_account(ctx.conn, STAFF, "supervisor", now=DEMO_NIGHT, name="the simulated counter")
        city = City(ctx, seed)
        first = DEMO_NIGHT.date()
        estimates: list[Estimate] = []
        for n in range(days):
            day = first + dt.timedelta(days=n)
            if n:
                city.night(day)
            city.counter(day)
            if n in snapshots:
                estimates += city.estimate(day)
        return judge(estimates, became_ready(ctx.conn, estimates), ctx.policy.loans.days)


def report(accuracy: Accuracy, out=sys.stdout) -> None:
    print(f"{'':34} {'holds':>6} {'median':>7} {'p90':>7}  (absolute error, days)", file=out)
    for name in ("estimate", "rank × loan period", "⌈rank / copies⌉ × loan period"):
        n, median, p90 = accuracy.figures(name)
        print(f"{name:34} {n:6d} {median:7.1f} {p90:7.1f}", file=out)
    print(f"left out: {accuracy.censored} still waiting at the end, {accuracy.left} cancelled, "
          f"{accuracy.no_estimate} with no estimate (未定)", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--snapshots", default="30,45,60", help="days (counted from the first) to estimate on")
    parser.add_argument("--seed", type=int, action="append", help="one run per seed (repeatable); default 1")
    parser.add_argument("--profile", default="kitami")
    parser.add_argument("--db", help="a database URL to build the city in (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    snapshots = [int(s) for s in args.snapshots.split(",") if s.strip()]
    if not snapshots or max(snapshots) >= args.days or min(snapshots) < 0:
        parser.error("--snapshots must be days between 0 and --days")
    total = Accuracy()
    for seed in args.seed or [1]:
        with tempfile.TemporaryDirectory() as scratch:
            url = args.db or f"sqlite:///{Path(scratch) / 'city.db'}"
            found = simulate(url, days=args.days, snapshots=snapshots, seed=seed, profile=args.profile)
        print(f"seed {seed}:")
        report(found)
        for name, errors in found.errors.items():
            total.errors[name] += errors
        total.censored, total.left = total.censored + found.censored, total.left + found.left
        total.no_estimate += found.no_estimate
    if len(args.seed or [1]) > 1:
        print(f"all {len(args.seed)} runs:")
        report(total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
