"""Staff move a hold in its title's queue (予約順位): the allocation, the rank the patron reads and the history all follow."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from sqlalchemy import select

from ils import cli
from ils.holds.queue_moves import Place, placed_at
from ils.infra import schema
from ils.library.staff import add_account
from scenario import D, at

CARDS = ("1001", "1002", "1003", "1004")


@pytest.fixture
def lib(new_library):
    lib = new_library("kitami")
    lib.branch("central")
    for card in (*CARDS, "1005", "1006", "1007", "1008"):
        lib.patron(card)
    lib.title("B1").title("B2")
    lib.copy("B1", "central", barcode="C1", state="on_loan")
    lib.copy("B2", "central", state="on_loan")
    with lib.conn.begin():
        add_account(lib.conn, "s-chief", "supervisor", now=at("2026-11-01 09:00"))
        add_account(lib.conn, "s-counter", "counter", now=at("2026-11-01 09:00"))
    return lib


@pytest.fixture
def queue(lib) -> dict[str, int]:
    """Four patrons waiting for B1, one a day from November 1st."""
    return {card: lib.hold(card, "B1", "central", queued_at=f"2026-11-0{n} 10:00") for n, card in enumerate(CARDS, 1)}


def ils(runner, lib, *args, staff="s-chief"):
    return runner.invoke(cli.main, [*args, "--db", lib.url, "--now", "2026-11-26T10:00", "--json"],
                         env={"ILS_STAFF": staff, "ILS_BRANCH": "central"})


def move(runner, lib, hold, *where, staff="s-chief", reason="waited since a lost request in October"):
    return ils(runner, lib, "hold", "move", str(hold), *where, "--reason", reason, staff=staff)


def answer(result) -> dict:
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    return row


def order(lib, bib="B1") -> list[int]:
    h, t = schema.holds, schema.titles
    ids = lib.conn.execute(select(h.c.id).join(t, t.c.id == h.c.title_id).where(t.c.bib_id == bib)
                           .order_by(h.c.queue_day, h.c.queue_class, h.c.queued_at, h.c.id)).scalars().all()
    lib.conn.rollback()
    return list(ids)


def rank(runner, lib, card, bib="B1") -> int:
    rows = json.loads(ils(runner, lib, "patron", "holds", card).stdout)
    return next(r["rank"] for r in rows if r["bib_id"] == bib)


def test_the_last_patron_moved_before_the_second_is_second_in_the_rank_and_caught_second(runner, lib, queue):
    done = answer(move(runner, lib, queue["1004"], "--before", str(queue["1002"])))
    assert (done["position_was"], done["position"], done["stepped_back"]) == (4, 2, 0)
    assert order(lib) == [queue[c] for c in ("1001", "1004", "1002", "1003")]
    assert [rank(runner, lib, c) for c in CARDS] == [1, 3, 4, 2]
    hh, a = schema.hold_history, schema.staff_audit
    assert lib.conn.execute(select(hh.c.hold_id, hh.c.from_status, hh.c.to_status, hh.c.actor, hh.c.note)).all() == [
        (queue["1004"], "waiting", "waiting", "s-chief", "waited since a lost request in October")]
    entry = lib.conn.execute(select(a.c.staff_id, a.c.action, a.c.target, a.c.reason)).one()
    lib.conn.rollback()
    assert tuple(entry) == ("s-chief", "hold_queue_move", str(queue["1004"]), "waited since a lost request in October")


def test_a_hold_moved_to_the_head_is_the_one_the_returned_copy_is_caught_for(runner, lib, queue):
    answer(move(runner, lib, queue["1003"], "--to-head"))
    caught = answer(ils(runner, lib, "checkin", "--barcode", "C1"))
    assert caught["hold_id"] == queue["1003"] and caught["action"] == "hold_shelf"
    answer(move(runner, lib, queue["1001"], "--to-end"))
    answer(move(runner, lib, queue["1002"], "--after", str(queue["1004"])))
    assert order(lib) == [queue[c] for c in ("1003", "1004", "1002", "1001")]


def test_holds_received_at_the_same_instant_make_room_and_keep_one_order(runner, lib):
    # An import gave four holds the same receipt time: their ids alone order them.
    same = [lib.hold(card, "B2", "central", queued_at="2026-11-05 10:00", channel="web") for card in
            ("1005", "1006", "1007", "1008")]
    done = answer(move(runner, lib, same[3], "--after", str(same[0])))
    assert done["stepped_back"] == 2
    assert order(lib, "B2") == [same[0], same[3], same[1], same[2]]
    hh = schema.hold_history
    notes = lib.conn.execute(select(hh.c.hold_id, hh.c.note).order_by(hh.c.id)).all()
    lib.conn.rollback()
    assert [n.hold_id for n in notes] == [same[3], same[1], same[2]]
    assert notes[1].note == f"stepped back behind hold {same[3]}, moved by staff: waited since a lost request in October"
    answer(move(runner, lib, same[2], "--before", str(same[0])))
    assert order(lib, "B2") == [same[2], same[0], same[3], same[1]]


def test_a_suspended_or_series_waiting_hold_moves_but_one_with_a_copy_does_not(runner, lib, queue):
    resting = lib.hold("1005", "B1", "central", queued_at="2026-11-10 10:00", status="suspended")
    answer(move(runner, lib, resting, "--to-head"))
    assert order(lib)[0] == resting
    shelf = lib.copy("B1", "central", state="on_hold_shelf")
    ready = lib.hold("1006", "B1", "central", status="ready", copy=shelf, ready_on=D(2026, 11, 25),
                     deadline=D(2026, 12, 2))
    refused = move(runner, lib, ready, "--to-head")
    assert refused.exit_code == 1
    assert f"hold {ready} is ready: only a hold with no copy yet (waiting, 準備中, suspended) can be moved" in refused.stderr
    behind_ready = move(runner, lib, queue["1004"], "--after", str(ready))
    assert behind_ready.exit_code == 1 and f"hold {ready} is ready: move a hold before or after a hold that still waits" in behind_ready.stderr


def test_a_move_that_does_not_apply_is_refused_with_its_reason_and_changes_nothing(runner, lib, queue):
    elsewhere = lib.hold("1005", "B2", "central")
    alone = move(runner, lib, elsewhere, "--to-head")
    assert alone.exit_code == 1 and f"hold {elsewhere} is the only hold of its title that waits" in alone.stderr
    cancelled = lib.hold("1006", "B1", "central", status="cancelled")
    before = order(lib)
    cases = [
        (move(runner, lib, queue["1004"], "--before", str(elsewhere)),
         f"hold {elsewhere} is on another title; a hold moves only within its own title's queue"),
        (move(runner, lib, queue["1004"], "--before", "999"), "no hold 999"),
        (move(runner, lib, queue["1004"], "--before", str(queue["1004"])), "cannot be moved before or after itself"),
        (move(runner, lib, cancelled, "--to-head"), f"hold {cancelled} is already cancelled"),
        (move(runner, lib, queue["1004"], "--to-head", staff="s-counter"),
         "staff 's-counter' (counter) may not hold_queue_move: it needs supervisor"),
        (move(runner, lib, queue["1004"], "--to-head", reason=" "), "give --reason"),
    ]
    for result, message in cases:
        assert result.exit_code == 1 and message in result.stderr, (message, result.output)
    two = move(runner, lib, queue["1004"], "--to-head", "--after", str(queue["1001"]))
    assert two.exit_code == 2 and "give exactly one of --to-head, --to-end, --before HOLD, --after HOLD" in two.stderr
    assert order(lib) == before
    assert lib.conn.execute(select(schema.hold_history.c.id)).all() == []
    lib.conn.rollback()


def test_any_move_among_tied_and_spaced_holds_lands_exactly_where_asked():
    """The pure placing, over every queue of up to five holds with ties in all columns."""
    t0 = dt.datetime(2026, 11, 5, 1, 0, tzinfo=dt.timezone.utc)
    shapes = [(D(2026, 11, 5), 0, t0), (D(2026, 11, 5), 0, t0 + dt.timedelta(microseconds=1)),
              (D(2026, 11, 5), 1, t0), (D(2026, 11, 6), 0, t0)]
    for n in range(1, 6):
        for keys in itertools.product(shapes, repeat=n):
            holds = sorted((Place(i, "waiting", *k) for i, k in enumerate(keys, 1)), key=lambda p: p.key)
            for moving, index in itertools.product(holds, range(n)):
                others = [p for p in holds if p is not moving]
                changed = {p.hold_id: p for p in placed_at(others, moving, index)}
                after = sorted((changed.get(p.hold_id, p) for p in holds), key=lambda p: p.key)
                wanted = [p.hold_id for p in others]
                wanted.insert(index, moving.hold_id)
                assert [p.hold_id for p in after] == wanted, (keys, moving, index)
