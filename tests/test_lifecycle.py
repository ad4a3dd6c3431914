"""A hold's life: every allowed transition goes through the one function and leaves its history; nothing else moves a hold."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import bindparam, event, func, select, text
from sqlalchemy.exc import IntegrityError

from ils.errors import Conflict
from ils.holds import lifecycle
from ils.holds.lifecycle import TRANSITIONS, Event, HoldStatus, TransitionRefused, default_contact
from ils.holds.lifecycle.store import Move, insert_holds, move_holds, new_hold_row
from ils.infra import schema
from ils.library.policy import Labels, load_policy
from scenario import at

NOW = at("2026-11-26 10:00")
PROFILES = ("kitami", "kitakyushu", "mito", "kitsuki", "murakami")
DOCS = Path(__file__).resolve().parent.parent / "docs" / "holds.md"


@pytest.fixture
def lib(new_library):
    lib = new_library("murakami")
    lib.branch("chuo").branch("kita").patron("5001")
    return lib


def _history(lib, hold_id) -> list[tuple]:
    hh = schema.hold_history
    rows = lib.conn.execute(
        select(hh.c.from_status, hh.c.to_status, hh.c.note, hh.c.actor).where(hh.c.hold_id == hold_id).order_by(hh.c.id)
    ).all()
    lib.conn.rollback()
    return [tuple(r) for r in rows]


def _status(lib, hold_id) -> str:
    value = lib.conn.execute(select(schema.holds.c.status).where(schema.holds.c.id == hold_id)).scalar_one()
    lib.conn.rollback()
    return value


def _new_row(lib, bib: str, status: str | None = None) -> dict:
    return new_hold_row(
        lib.policy, patron_id=lib._id("patron", "5001"), title_id=lib._id("title", bib),
        pickup_branch_id=lib._id("branch", "chuo"), contact_method="email", channel="counter",
        received_at=NOW, created_at=NOW, placed_by="s042", status=status,
    )


def test_every_allowed_transition_moves_a_hold_through_the_one_function_and_writes_its_history(lib):
    for n, rule in enumerate(TRANSITIONS):
        bib = f"T{n}"
        lib.title(bib)
        if rule.was is None:
            notes = None if rule.event == Event.IMPORT else [f"{rule.event} test"]
            with lib.conn.begin():
                [hold_id] = insert_holds(lib.conn, rule.event, [_new_row(lib, bib, rule.now)], notes, at=NOW,
                                         run_id=None, actor="s042")
        else:
            hold_id = lib.hold("5001", bib, "chuo", status=rule.was)
            with lib.conn.begin():
                move_holds(lib.conn, rule.event, [Move(hold_id, rule.was, rule.now, f"{rule.event} test")],
                           at=NOW, run_id=None, actor="s042", conflict="changed meanwhile")
        assert _status(lib, hold_id) == rule.now, rule
        # An imported hold's past is the ILS's: the night writes no history for it.
        expected = [] if rule.event == Event.IMPORT else [(rule.was, rule.now, f"{rule.event} test", "s042")]
        assert _history(lib, hold_id) == expected, rule


def test_many_new_holds_get_ids_in_their_order_and_a_history_row_each_on_both_engines(lib):
    for bib in ("M1", "M2", "M3"):
        lib.title(bib)
    lib.hold("5001", "M1", "chuo", status="waiting")  # ids to follow, not to start from
    rows = [_new_row(lib, bib) for bib in ("M3", "M1", "M2")]
    with lib.conn.begin():
        ids = insert_holds(lib.conn, Event.PLACE, rows, ["third", "first", "second"], at=NOW, run_id=None, actor="batch")
    h = schema.holds
    stored = lib.conn.execute(select(h.c.id, h.c.title_id).where(h.c.id.in_(ids)).order_by(h.c.id)).all()
    lib.conn.rollback()
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [tuple(r) for r in stored] == [(i, row["title_id"]) for i, row in zip(ids, rows, strict=True)]
    assert [_history(lib, i) for i in ids] == [[(None, "waiting", note, "batch")] for note in ("third", "first", "second")]


def test_new_holds_are_written_a_chunk_at_a_time_in_their_order(lib):
    # On SQLite each INSERT of holds keeps a copy of every page it changes in memory till it
    # ends: a chunk's worth, however many holds the night accepts.
    from ils.infra import db
    bibs = ("N1", "N2", "N3", "N4", "N5")
    for bib in bibs:
        lib.title(bib)
    rows = [_new_row(lib, bib) for bib in reversed(bibs)]
    written: list[int] = []

    def count(conn, cursor, statement, *args):
        if statement.startswith("INSERT INTO holds"):
            written.append(cursor.rowcount)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(db, "CHUNK", 2)
        event.listen(lib.conn, "after_cursor_execute", count)
        with lib.conn.begin():
            ids = insert_holds(lib.conn, Event.PLACE, rows, None, at=NOW, run_id=None, actor="batch")
        event.remove(lib.conn, "after_cursor_execute", count)
    h = schema.holds
    stored = lib.conn.execute(select(h.c.title_id).where(h.c.id.in_(ids)).order_by(h.c.id)).scalars().all()
    lib.conn.rollback()
    assert stored == [row["title_id"] for row in rows]
    if lib.conn.dialect.name == "sqlite":
        assert written == [2, 2, 1]


def test_moves_without_values_of_their_own_are_made_in_sets_and_each_leaves_its_history(lib):
    for bib in ("S1", "S2", "S3"):
        lib.title(bib)
    waiting = [lib.hold("5001", "S1", "chuo", status="waiting"), lib.hold("5001", "S2", "chuo", status="waiting")]
    ready = lib.hold("5001", "S3", "chuo", status="ready")
    moves = [Move(waiting[0], "waiting", "cancelled", "a"), Move(ready, "ready", "cancelled", "b"),
             Move(waiting[1], "ready", "cancelled", "stale")]  # this one changed meanwhile: not moved
    with lib.conn.begin():
        count = move_holds(lib.conn, Event.CANCEL_BY_STAFF, moves, values={"close_reason": "staff"}, at=NOW,
                           run_id=None, actor="s042")
    assert count == 2
    assert [_status(lib, i) for i in (*waiting, ready)] == ["cancelled", "waiting", "cancelled"]


def test_a_batch_of_moves_is_staged_in_one_update_with_each_row_its_own_values_and_history_in_move_order(lib):
    from ils.holds.lifecycle import store
    for bib in ("P1", "P2", "P3"):
        lib.title(bib).copy(bib, "chuo", barcode=f"c-{bib}")
    holds = [lib.hold("5001", bib, "chuo", status=status) for bib, status in
             (("P1", "waiting"), ("P2", "cancelled"), ("P3", "waiting"))]
    copies = [lib._id("copy", f"c-{bib}") for bib in ("P1", "P2", "P3")]
    moves = [Move(holds[2], "waiting", "allocated", "third", {"copy": copies[2]}),
             Move(holds[0], "waiting", "allocated", "first", {"copy": copies[0]}),
             Move(holds[1], "waiting", "allocated", "stale", {"copy": copies[1]})]  # cancelled meanwhile: not moved
    h = schema.holds
    assert len(moves) < store.STAGED_FROM  # a batch step's thousands of moves, made small here
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "STAGED_FROM", 1)
        with lib.conn.begin():
            count = move_holds(lib.conn, Event.ALLOCATE, moves, values={"copy_id": bindparam("copy"),
                               "allocated_at": NOW}, at=NOW, run_id=7, actor="batch")
        stored = lib.conn.execute(select(h.c.id, h.c.status, h.c.copy_id, h.c.allocated_at)
                                  .where(h.c.id.in_(holds)).order_by(h.c.id)).all()
        hh = schema.hold_history
        history = lib.conn.execute(select(hh.c.hold_id, hh.c.note, hh.c.run_id, hh.c.at)
                                   .where(hh.c.hold_id.in_(holds)).order_by(hh.c.id)).all()
        lib.conn.rollback()
        with pytest.raises(Conflict, match="meanwhile"), lib.conn.begin():
            move_holds(lib.conn, Event.CANCEL_BY_STAFF, [Move(holds[1], "ready", "cancelled")], at=NOW, run_id=None,
                       actor="s042", conflict="changed meanwhile")
    assert count == 2
    assert [tuple(r) for r in stored] == [(holds[0], "allocated", copies[0], NOW), (holds[1], "cancelled", None, None),
                                          (holds[2], "allocated", copies[2], NOW)]
    assert [tuple(r) for r in history] == [(holds[2], "third", 7, NOW), (holds[0], "first", 7, NOW),
                                           (holds[1], "stale", 7, NOW)]
    assert _status(lib, holds[1]) == "cancelled" and len(_history(lib, holds[1])) == 1


def test_a_staged_update_that_breaks_a_constraint_halfway_leaves_every_hold_as_it_was(lib):
    # On SQLite the staged UPDATE is OR FAIL, so that it keeps no statement journal (a copy of
    # every page it changes, in memory: the night's peak): a row it changed before the broken
    # one stays changed until the transaction's rollback, which must undo it with the rest.
    from ils.holds.lifecycle import store
    lib.title("E1").title("E2")
    holds = [lib.hold("5001", bib, "chuo", status="ready") for bib in ("E1", "E2")]
    moves = [Move(holds[0], "ready", "expired", params={"how": "email"}),
             Move(holds[1], "ready", "expired", params={"how": "pigeon"})]  # not a contact method: CHECK fails
    sent: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "STAGED_FROM", 1)
        event.listen(lib.conn, "before_cursor_execute", lambda *args: sent.append(args[2]))
        with pytest.raises(IntegrityError), lib.conn.begin():
            move_holds(lib.conn, Event.EXPIRE, moves, values={"contact_method": bindparam("how")},
                       at=NOW, run_id=7, actor="batch")
    assert [_status(lib, hold_id) for hold_id in holds] == ["ready", "ready"]
    assert _history(lib, holds[0]) == [] and _history(lib, holds[1]) == []
    update = next(sql for sql in sent if sql.startswith("UPDATE") and "lc_moves" in sql)
    assert update.startswith("UPDATE OR FAIL holds") == (lib.conn.dialect.name == "sqlite")


@pytest.mark.parametrize("staged_from", [1, 64], ids=["staged", "few"])
def test_a_volume_whose_gate_opens_and_that_gets_a_copy_keeps_both_history_rows_and_its_row_is_written_once(
    lib, staged_from
):
    from ils.holds.lifecycle import store
    for bib in ("G1", "G2"):
        lib.title(bib).copy(bib, "chuo", barcode=f"c-{bib}")
    opened, other = (lib.hold("5001", bib, "chuo", status="series_waiting") for bib in ("G1", "G2"))
    copy = lib._id("copy", "c-G1")
    h = schema.holds
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "STAGED_FROM", staged_from)
        with lib.conn.begin():
            gate = [Move(opened, "series_waiting", "waiting", "series gate"),
                    Move(other, "series_waiting", "waiting", "series gate")]
            gated = move_holds(lib.conn, Event.SERIES_GATE, gate, at=NOW, run_id=7, actor="batch",
                               row_moved_on={opened})
            between = lib.conn.execute(select(h.c.status).where(h.c.id == opened)).scalar_one()
            allocated = move_holds(
                lib.conn, Event.ALLOCATE, [Move(opened, "waiting", "allocated", "copy", {"copy": copy},
                                                stored="series_waiting")],
                values={"copy_id": bindparam("copy"), "allocated_at": NOW}, at=NOW, run_id=7, actor="batch")
    assert (gated, between, allocated) == (1, "series_waiting", 1)
    assert _status(lib, opened) == "allocated" and _status(lib, other) == "waiting"
    assert _history(lib, opened) == [("series_waiting", "waiting", "series gate", "batch"),
                                     ("waiting", "allocated", "copy", "batch")]


def test_a_transition_the_table_does_not_allow_is_refused_and_changes_nothing(lib):
    lib.title("B1").title("B2").title("B3")
    waiting = lib.hold("5001", "B1", "chuo", status="waiting")
    ready = lib.hold("5001", "B2", "chuo", status="ready")
    # One refused move in a batch refuses the batch: the allowed one is not written either.
    with pytest.raises(TransitionRefused) as refused, lib.conn.begin():
        move_holds(lib.conn, Event.EXPIRE, [Move(ready, "ready", "expired"), Move(waiting, "waiting", "expired")],
                   at=NOW, run_id=None, actor="batch")
    assert (refused.value.code, refused.value.hold_id, refused.value.was, refused.value.now) == (
        "transition_refused", waiting, "waiting", "expired")
    assert (_status(lib, waiting), _status(lib, ready)) == ("waiting", "ready")
    assert _history(lib, waiting) == _history(lib, ready) == []
    # A closed hold stays closed; a new hold is not born ready.
    with pytest.raises(TransitionRefused), lib.conn.begin():
        move_holds(lib.conn, Event.CHECK_OUT, [Move(ready, "expired", "fulfilled")], at=NOW, run_id=None, actor="x")
    with pytest.raises(TransitionRefused), lib.conn.begin():
        insert_holds(lib.conn, Event.PLACE, [_new_row(lib, "B3", "ready")], ["x"], at=NOW, run_id=None, actor="x")
    count = lib.conn.execute(select(schema.holds.c.id).where(schema.holds.c.title_id == lib._id("title", "B3"))).all()
    lib.conn.rollback()
    assert count == []


def test_a_hold_changed_meanwhile_is_a_conflict_for_the_counter(lib):
    lib.title("B1")
    hold_id = lib.hold("5001", "B1", "chuo", status="ready")
    with pytest.raises(Conflict, match="try again"), lib.conn.begin():
        move_holds(lib.conn, Event.CANCEL_BY_STAFF, [Move(hold_id, "waiting", "cancelled")], at=NOW, run_id=None,
                   actor="s042", conflict="hold changed meanwhile; try again")
    assert _status(lib, hold_id) == "ready" and _history(lib, hold_id) == []


def test_a_new_hold_waits_unless_it_is_a_later_volume_of_an_ordered_series(lib):
    first, later = (
        new_hold_row(lib.policy, patron_id=1, title_id=1, pickup_branch_id=1, contact_method="email", channel="web",
                     received_at=NOW, created_at=NOW, placed_by="batch", series_group="S", series_position=position)
        for position in (1, 2)
    )
    assert (first["status"], later["status"]) == ("waiting", "series_waiting")
    mito = load_policy("mito")  # no series order: volumes are independent holds
    assert lifecycle.initial_status(mito.series.ordered, "S", 2) == "waiting"
    assert set(first) == set(lifecycle.store.HOLD_ROW_COLUMNS)


def test_the_queue_order_is_the_same_in_sql_and_in_python(lib):
    lib.title("B1")
    h = schema.holds
    for queued, channel in (("2026-11-25 09:00", "web"), ("2026-11-25 10:00", "counter"), ("2026-11-24 18:00", "web"),
                            ("2026-11-25 09:00", "web")):
        lib.hold("5001", "B1", "chuo", queued_at=queued, channel=channel)
    rows = lib.conn.execute(select(h).order_by(*lifecycle.queue_order(h))).all()
    ahead = h.alias("ahead")
    ahead_count = select(func.count()).where(ahead.c.title_id == h.c.title_id,
                                             lifecycle.ahead_in_queue(ahead, h)).scalar_subquery()
    ranks = lib.conn.execute(select(h.c.id, ahead_count)).all()
    lib.conn.rollback()
    assert rows == sorted(rows, key=lifecycle.queue_key)
    # Murakami: the counter's hold of the 25th goes before that day's web requests (seed 004).
    assert [r.channel for r in rows] == ["web", "counter", "web", "web"]
    position = {r.id: i for i, r in enumerate(rows)}
    assert {hold_id: n for hold_id, n in ranks} == position


def test_the_default_contact_method_of_a_new_hold_and_of_an_imported_one():
    class Patron:
        def __init__(self, method, email=None, phone=None):
            self.contact_method, self.email, self.phone = method, email, phone

    kitsuki = load_policy("kitsuki").holds.contact_methods  # email only (seed 003)
    by_phone = Patron("phone", email="p@example.jp", phone="0977-00-0000")
    assert default_contact("email", by_phone, kitsuki) == "email"
    assert default_contact(None, by_phone, kitsuki) == "email"
    assert default_contact(None, Patron("email"), load_policy("murakami").holds.contact_methods) != "email"
    # The ILS's own hold keeps the patron's method, offered on the web or not.
    assert default_contact(None, by_phone, None) == "phone"


def test_every_status_has_a_label_in_every_profile():
    for status in HoldStatus:
        assert lifecycle.label(status, Labels()), status
        for profile in PROFILES:
            assert lifecycle.label(status, load_policy(profile).labels)
    assert lifecycle.label("series_waiting", load_policy("kitami").labels) == "準備中"


def test_the_schema_takes_its_status_lists_from_the_lifecycle():
    assert schema.HOLD_STATUSES == tuple(HoldStatus) == lifecycle.HOLD_STATUSES
    assert schema.ACTIVE_HOLD_STATUSES == lifecycle.ACTIVE
    assert schema.HOLDS_WITH_COPY == lifecycle.WITH_COPY
    assert set(lifecycle.ACTIVE) | set(lifecycle.CLOSED) == set(HoldStatus)


def test_the_guard_catches_every_kind_of_status_write_from_outside_the_lifecycle(
        lib, holds_move_only_through_their_lifecycle):
    """Code compiled as if it were batch/s99_rogue.py writes holds.status three ways; the suite's guard sees each."""
    caught = holds_move_only_through_their_lifecycle
    lib.title("B1")
    hold_id = lib.hold("5001", "B1", "chuo")
    rogue = Path(__file__).resolve().parent.parent / "batch" / "s99_rogue.py"
    source = (
        "def rogue(conn, h, hold_id, row, text):\n"
        "    conn.execute(h.update().where(h.c.id == hold_id).values(status='cancelled'))\n"
        "    conn.execute(text(\"UPDATE holds SET closed_at = NULL, status = 'waiting' WHERE id = :i\"), {'i': hold_id})\n"
        "    conn.execute(h.insert(), [row])\n"
        "    conn.execute(h.update().where(h.c.id == hold_id).values(placed_by='nobody'))\n"
    )
    namespace: dict = {}
    exec(compile(source, str(rogue), "exec"), namespace)
    with lib.conn.begin():
        namespace["rogue"](lib.conn, schema.holds, hold_id, _new_row(lib, "B1"), text)
    assert [where for where, _ in caught] == ["batch/s99_rogue.py"] * 3
    assert [re.match(r"\w+", sql).group() for _, sql in caught] == ["UPDATE", "UPDATE", "INSERT"]
    caught.clear()  # seen: the suite's guard must not fail this test for them


def _transition_table() -> str:
    lines = ["| event | from | to | why |", "|---|---|---|---|"]
    lines += [f"| {r.event} | {r.was or '(new)'} | {r.now} | {r.why} |" for r in TRANSITIONS]
    return "\n".join(lines)


def _status_table() -> str:
    labels = Labels()
    lines = ["| status | label (default; each profile's [labels] may say it its own way) | active |", "|---|---|---|"]
    lines += [f"| {s} | {lifecycle.label(s, labels)} | {'yes' if s in lifecycle.ACTIVE else 'no'} |"
              for s in HoldStatus]
    return "\n".join(lines)


def test_docs_show_the_statuses_and_the_transition_table_as_the_module_has_them():
    docs = DOCS.read_text(encoding="utf-8")
    for table in (_status_table(), _transition_table()):
        assert table in docs, f"docs/holds.md is out of date; the table should read:\n{table}"


def _three_waiting_holds_and_their_allocation(lib):
    """Holds of B1, B2, B3, their copies (one each), and allocate(i): hold i's move to allocated, as
    batch i (staged when STAGED_FROM is 1)."""
    for bib in ("B1", "B2", "B3"):
        lib.title(bib).copy(bib, "chuo", barcode=f"c-{bib}")
    holds = [lib.hold("5001", bib, "chuo", status="waiting") for bib in ("B1", "B2", "B3")]
    copies = [lib._id("copy", f"c-{bib}") for bib in ("B1", "B2", "B3")]

    def allocate(i):
        moves = [Move(holds[i], "waiting", "allocated", f"batch {i}", {"copy": copies[i]})]
        return move_holds(lib.conn, Event.ALLOCATE, moves,
                          values={"copy_id": bindparam("copy"), "allocated_at": NOW}, at=NOW, run_id=7, actor="batch")

    return holds, copies, allocate


@contextlib.contextmanager
def _every_batch_staged(lib) -> Iterator[list[str]]:
    """Moves staged however few they are (STAGED_FROM 1); yields the statements sent meanwhile."""
    from ils.holds.lifecycle import store
    sent: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "STAGED_FROM", 1)
        event.listen(lib.conn, "before_cursor_execute", lambda *args: sent.append(args[2]))
        yield sent


def test_staged_batches_one_after_another_in_one_transaction_each_write_only_their_own_moves(lib):
    # SQLite's staging table is kept for the connection and emptied after each batch: a CREATE and a
    # DROP per batch cost more than the batch's rows. PostgreSQL's batches are arrays (no table).
    holds, copies, allocate = _three_waiting_holds_and_their_allocation(lib)
    with _every_batch_staged(lib) as sent:
        with lib.conn.begin():
            counts = [allocate(0), allocate(1)]
        with lib.conn.begin():  # a later transaction stages again
            counts.append(allocate(2))
    assert counts == [1, 1, 1]
    assert [_history(lib, hold_id) for hold_id in holds] == [[("waiting", "allocated", f"batch {i}", "batch")] for i in range(3)]
    assert [_status(lib, hold_id) for hold_id in holds] == ["allocated"] * 3
    assert not [sql for sql in sent if sql.strip().startswith("DROP TABLE")]


def test_a_batch_staged_in_a_transaction_that_was_undone_leaves_nothing_for_the_next_one(lib):
    # SQLite's staging table outlives a batch: what an undone transaction staged (and the table
    # itself, if that transaction made it) goes with it, and the next batch stages afresh.
    from ils.holds.lifecycle import store
    if lib.conn.dialect.name != "sqlite":
        pytest.skip("PostgreSQL stages a batch as arrays bound to its statements: no table outlives it")
    holds, copies, allocate = _three_waiting_holds_and_their_allocation(lib)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "STAGED_FROM", 1)
        for later in (1, 2):  # the first time the undone transaction made the table, the second time not
            transaction = lib.conn.begin()
            staged = store._staging_table((("copy_id", "copy"),))
            store._stage(lib.conn, staged)
            lib.conn.execute(staged.insert().values(seq=0, hold_id=holds[0], was="waiting", now="allocated",
                                                    expected="waiting", v_copy=copies[0]))
            transaction.rollback()
            with lib.conn.begin():
                assert allocate(later) == 1
    assert _history(lib, holds[0]) == []
    assert _status(lib, holds[0]) == "waiting"
    assert [_history(lib, hold_id) for hold_id in holds[1:]] == [[("waiting", "allocated", f"batch {i}", "batch")]
                                                                for i in (1, 2)]


def test_the_staging_table_names_no_postgresql_option():
    # Given a postgresql_ option, even SQLite's table loads that dialect (0.025 s of each night).
    from ils.holds.lifecycle import store
    assert store._staging_table((("copy_id", "copy"),)).kwargs == {}


def test_a_staged_batch_on_postgresql_is_its_update_and_its_history_with_the_moves_bound_as_arrays(lib):
    # No temporary table to create, COPY into and empty for each batch (three statements more per
    # batch; the city's allocate sends 22), and no fresh table the planner knows nothing of.
    if lib.conn.dialect.name != "postgresql":
        pytest.skip("SQLite stages the moves in a temporary table (the tests above)")
    holds, copies, allocate = _three_waiting_holds_and_their_allocation(lib)
    with _every_batch_staged(lib) as sent, lib.conn.begin():
        counts = [allocate(0), allocate(1)]
    written = [" ".join(sql.split()[:3]) for sql in sent if sql.startswith(("UPDATE", "INSERT", "CREATE", "TRUNCATE"))]
    assert counts == [1, 1]
    assert written == ["UPDATE holds SET", "INSERT INTO hold_history"] * 2
    assert all("unnest(" in sql for sql in sent if sql.startswith(("UPDATE holds", "INSERT INTO hold_history")))
    assert [_history(lib, hold_id) for hold_id in holds[:2]] == [[("waiting", "allocated", f"batch {i}", "batch")]
                                                                for i in (0, 1)]
    assert [_status(lib, hold_id) for hold_id in holds] == ["allocated", "allocated", "waiting"]
