"""Queue invariants under random nights: one copy per hold, queue order, series order, the hold limit."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ils.holds.allocation import FreeCopy, Routes, WaitingHold, allocate_title
from ils.infra import schema
from scenario import Library

# The pure allocation ---------------------------------------------------------------

holds_st = st.lists(st.tuples(st.integers(1, 3), st.integers(0, 50)), max_size=8)
copies_st = st.lists(st.tuples(st.integers(1, 3), st.booleans()), max_size=6)


@given(holds_st, copies_st, st.sets(st.integers(1, 3)))
def test_allocation_serves_the_queue_in_order_with_each_copy_once(holds, copies, closed):
    waiting = [WaitingHold(i, pickup, (key, i)) for i, (pickup, key) in enumerate(holds)]
    free = [FreeCopy(100 + i, branch, on_hold_shelf) for i, (branch, on_hold_shelf) in enumerate(copies)]
    result = allocate_title(waiting, free, lambda b: b not in closed, Routes({(1, 2): 1, (2, 3): 1}))
    used = [a.copy_id for a in result]
    assert len(used) == len(set(used))
    served = {a.hold_id for a in result}
    order = sorted(waiting, key=lambda h: h.queue_key)
    pullable = [c for c in free if c.location_branch_id not in closed]
    if len(pullable) == len(free):
        # every copy is usable by every hold: exactly the head of the queue is served
        assert served == {h.id for h in order[: len(free)]}
    for earlier, later in itertools.pairwise(order):
        if later.id in served and earlier.id not in served:
            # an earlier hold may only be passed over when no remaining copy was usable for it
            assert not any(c.location_branch_id not in closed for c in free if c.id not in used)


# Whole nights over a random library ------------------------------------------------

PROFILES = {"kitami": {"holds": {"limit": 3}}, "murakami": {"holds": {"limit": 3}}}


@pytest.fixture(scope="module")
def templates(databases):
    """An initialised database per profile, copied for each example."""
    return {profile: databases.initialised(profile) for profile in PROFILES}


library_st = st.fixed_dictionaries(
    {
        "profile": st.sampled_from(sorted(PROFILES)),
        "copies": st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["a", "b"]),
                                     st.sampled_from(["on_shelf", "on_shelf", "on_loan"])), max_size=8),
        "patrons": st.integers(1, 3),
        "holds": st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5), st.integers(0, 30)), max_size=10),
        "requests": st.lists(
            st.tuples(st.integers(0, 2), st.integers(0, 5), st.integers(0, 600), st.sampled_from(["a", "b"]),
                      st.booleans()),
            min_size=2,
            max_size=16,
        ),
        "cancels": st.lists(st.integers(0, 9), max_size=3),
    }
)


def _build(lib: Library, spec: dict):
    lib.branch("a").branch("b").route("a", "b", 1)
    for n in range(6):
        # titles 0-2 are volumes 1-3 of one series
        lib.title(f"T{n}", series="S" if n < 3 else None, volume=n + 1 if n < 3 else None)
    for title, branch, state in spec["copies"]:
        lib.copy(f"T{title}", branch, state=state)
    for p in range(spec["patrons"]):
        lib.patron(f"P{p}")
    held = set()
    for patron, title, day in spec["holds"]:
        if patron < spec["patrons"] and (patron, title) not in held and len([h for h in held if h[0] == patron]) < 3:
            held.add((patron, title))
            lib.hold(f"P{patron}", f"T{title}", "a", queued_at=f"2026-10-{day + 1:02d} 10:00")
    positions: dict[int, int] = {}
    for patron, title, minute, pickup, as_series in spec["requests"]:
        if patron >= spec["patrons"]:
            continue
        series = None
        if as_series and title < 3:
            positions[patron] = positions.get(patron, 0) + 1
            series = ("g", title + 1)
        received = dt.datetime(2026, 11, 25, 8, 0) + dt.timedelta(minutes=minute)
        lib.request("hold", f"P{patron}", f"T{title}", received=received.strftime("%Y-%m-%d %H:%M"),
                    pickup=pickup, series=series)
    return held


def _active(lib: Library):
    h = schema.holds
    rows = lib.conn.execute(
        select(h.c.id, h.c.patron_id, h.c.title_id, h.c.status, h.c.copy_id, h.c.series_group, h.c.series_position,
               h.c.queue_day, h.c.queue_class, h.c.queued_at)
        .where(h.c.status.in_(schema.ACTIVE_HOLD_STATUSES))
    ).all()
    lib.conn.rollback()
    return rows


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=library_st)
def test_a_random_night_keeps_every_queue_invariant(databases, templates, spec):
    profile = spec["profile"]
    lib = Library(databases.copy(templates[profile]), profile, PROFILES[profile])
    try:
        _build(lib, spec)
        for hold_index in spec["cancels"]:
            lib.request("cancel", "P0", str(hold_index + 1), received="2026-11-25 23:00")
        lib.night()
        _check(lib, spec["profile"])
        lib.night("2026-11-27 03:00")
        _check(lib, spec["profile"])
    finally:
        lib.close()


def _check(lib: Library, profile: str):
    active = _active(lib)
    with_copy = [h for h in active if h.status in schema.HOLDS_WITH_COPY]
    # one copy serves at most one active hold
    assert len({h.copy_id for h in with_copy}) == len(with_copy)
    # a patron never exceeds the limit (3 in these profiles)
    per_patron: dict[int, int] = {}
    for h in active:
        per_patron[h.patron_id] = per_patron.get(h.patron_id, 0) + 1
    assert max(per_patron.values(), default=0) <= 3
    # holds on a title are served in queue order: no waiting hold stands before a served
    # one while a copy of the title is still free on an open shelf
    free = _free_copies_by_title(lib)
    for h in active:
        if h.status == "waiting" and free.get(h.title_id):
            pytest.fail(f"hold {h.id} waits while a copy of its title is free")
    # series order is never violated
    blocking = ("waiting", "series_waiting") if profile == "kitami" else ("waiting", "series_waiting", "allocated", "in_transit", "ready")
    for h in with_copy:
        if h.series_group is None:
            continue
        earlier = [e for e in active if e.patron_id == h.patron_id and e.series_group == h.series_group
                   and e.series_position < h.series_position and e.status in blocking]
        assert not earlier, f"volume {h.series_position} served before an earlier volume passed its gate"


def _free_copies_by_title(lib: Library) -> dict[int, int]:
    c = schema.copies
    rows = lib.conn.execute(
        select(c.c.title_id).where(c.c.state.in_(("on_shelf", "on_hold_shelf")), ~schema.bound_to_active_hold(c.c.id))
    ).scalars().all()
    lib.conn.rollback()
    counts: dict[int, int] = {}
    for title_id in rows:
        counts[title_id] = counts.get(title_id, 0) + 1
    return counts
