"""No single row stops a night: every front-end column at the edges of its type, on every request kind."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import DataError

from ils.frontend.reasons import REASONS
from ils.frontend.requests import REQUEST_FIELDS
from ils.infra import schema
from scenario import D, Library, at

ENTERED = "2026-11-25 11:00"
RECEIVED = "2026-11-25T10:59:00+09:00"
DONE = {"hold": "accepted", "cancel": "applied", "renew": "applied", "email_change": "applied"}

# Text at the edges: nothing, blanks, sizes, control characters, scripts, numbers, dates.
EDGES = [
    None, "", " ", "\u3000", "\t\r\n", "x" * 10_000, "予" * 10_000, "\x00", "B1\x00", "\x07\x1b[31m\x7f",
    "\u202e1001", "\ufeff", "𠮷野家🍣", "\U0010ffff", str(10**30), "-1", "0", "NaN", "Infinity", "1e309", "1.5",
    "１", "²", "null", "'; DROP TABLE holds; --", "0001-01-01", "9999-12-31T23:59:59.999999", "2026-11-25T23:59:60",
    "2026-W48-3",
]
WITH_NUL = sum("\x00" in (value or "") for value in EDGES)  # PostgreSQL refuses these at insert

# received_at: what the batch makes of each receipt time, for a row entered at 11:00 (library time).
RECEIPT_TIMES = [
    (None, False), ("", False), ("   ", False), ("0001-01-01", False), ("0001-01-01T12:00+09:00", False),
    ("0001-01-01T00:00", False), ("0001-01-01T00:00+14:00", False), ("9999-12-31", False),
    ("9999-12-31T23:59:59.999999-12:00", False), ("2026-11-25", False), ("2026-11-25T23:59:60", False),
    ("2026-W48-3T10:59", False), ("2026-329T10:59", False), ("20261125T105900", False),
    ("2026-02-30T10:00", False), ("2026-11-25T24:00", False), ("２０２６-11-25T10:59", False),
    ("2026-11-25T10:59+23:59", False), ("2026-11-25T10:59+09:00\x00", False), ("2026-11-25T10:59\n+09:00", False),
    ("2026-11-25T10:59:00+0900", False), ("2026-11-25T09:59+09:00", False), ("2026-11-25T11:06+09:00", False),
    ("2026-11-25T10:59+09:00" + " " * 100, True), ("2026-11-25 10:59", True), ("2026-11-25T01:59Z", True),
    ("2026-11-25T15:59+14:00", True), ("2026-11-24T13:59-12:00", True), ("2026-11-25T10:00:00.000001+09:00", True),
    ("2026-11-25T11:04:59+09:00", True),
]


def _library(lib: Library) -> dict:
    """Patron 1001 is the one the odd rows speak for; 1002's row is the valid one of the night."""
    lib.branch("central")
    lib.patron("1001").patron("1002")
    for bib in ("B1", "B2", "B3", "B4", "B5"):
        lib.title(bib)
    lib.copy("B1", "central")
    lib.copy("B2", "central", state="on_loan")
    lib.copy("B3", "central", barcode="C3")
    lib.copy("B4", "central", barcode="C4")
    lib.loan("C3", "1001", due_on=D(2026, 12, 1))
    lib.loan("C4", "1002", due_on=D(2026, 12, 1))
    mine = lib.hold("1001", "B5", "central")
    theirs = lib.hold("1002", "B2", "central")
    return {
        "hold": ({"target": "B1", "pickup_branch": "central"}, {"target": "B3", "pickup_branch": "central"}),
        "cancel": ({"target": str(mine)}, {"target": str(theirs)}),
        "renew": ({"target": "C3"}, {"target": "C4"}),
        "email_change": ({"target": "taro@example.jp"}, {"target": "jiro@example.jp"}),
    }


def _row(kind: str, card: str, fields: dict) -> dict:
    return {"kind": kind, "card_number": card, "channel": "web", "received_at": RECEIVED} | fields


def _insert(lib: Library, row: dict, engine_name: str) -> int | None:
    """As a front end inserts it; None where the database itself refuses the text (NUL on PostgreSQL)."""
    t = schema.pending_requests
    insert = t.insert().values(entered_at=at(ENTERED), **row).returning(t.c.id)
    if engine_name == "postgresql" and any("\x00" in (v or "") for v in row.values()):
        with pytest.raises(DataError):
            with lib.conn.begin():
                lib.conn.execute(insert)
        return None
    with lib.conn.begin():
        return lib.conn.execute(insert).scalar_one()


def _verdicts(lib: Library) -> dict[int, tuple[str, str | None]]:
    r = schema.pending_requests
    found = {row.id: (row.state, row.reason) for row in lib.conn.execute(select(r.c.id, r.c.state, r.c.reason))}
    lib.conn.rollback()
    return found


def _night_judges_every_row(lib: Library) -> dict:
    report = lib.night()
    assert report.run_id is not None
    verdicts = _verdicts(lib)
    for rid, (state, reason) in verdicts.items():
        assert state != "pending", f"row {rid} was left pending"
        assert state != "rejected" or reason in REASONS, f"row {rid}: unknown reason {reason!r}"
    return verdicts


@pytest.mark.parametrize("column", [c for c in REQUEST_FIELDS if c != "kind"])
@pytest.mark.parametrize("kind", sorted(DONE))
def test_a_night_judges_every_edge_value_of_every_column_and_the_valid_row_too(new_library, engine_name, kind, column):
    lib = new_library("kitami")
    odd_fields, valid_fields = _library(lib)[kind]
    odd = [_insert(lib, _row(kind, "1001", odd_fields) | {column: value}, engine_name) for value in EDGES]
    valid = _insert(lib, _row(kind, "1002", valid_fields), engine_name)
    verdicts = _night_judges_every_row(lib)
    assert verdicts[valid] == (DONE[kind], None)
    stored = [rid for rid in odd if rid is not None]
    assert len(stored) == len(EDGES) - (WITH_NUL if engine_name == "postgresql" else 0)
    assert {verdicts[rid][0] for rid in stored} <= {DONE[kind], "rejected"}


@pytest.mark.parametrize("kind", sorted(DONE))
def test_a_receipt_time_is_taken_only_when_it_is_a_time_near_the_rows_entry(new_library, engine_name, kind):
    lib = new_library("kitami")
    odd_fields, valid_fields = _library(lib)[kind]
    rows = [(_insert(lib, _row(kind, "1001", odd_fields) | {"received_at": value}, engine_name), ok)
            for value, ok in RECEIPT_TIMES]
    valid = _insert(lib, _row(kind, "1002", valid_fields), engine_name)
    verdicts = _night_judges_every_row(lib)
    assert verdicts[valid] == (DONE[kind], None)
    refused = [value for (rid, ok), (value, _) in zip(rows, RECEIPT_TIMES, strict=True) if rid and not ok
               and verdicts[rid] != ("rejected", "bad_received_at")]
    assert refused == []
    taken = [verdicts[rid] for rid, ok in rows if rid and ok]
    # The earliest does what the kind does; the same request again is judged on its merits.
    assert (DONE[kind], None) in taken
    assert all(reason != "bad_received_at" for _, reason in taken)


def test_series_positions_at_the_edges_are_refused_as_such(new_library, engine_name):
    lib = new_library("kitami")
    odd_fields, valid_fields = _library(lib)["hold"]
    odd = [(_insert(lib, _row("hold", "1001", odd_fields) | {"series_group": "g", "series_position": value},
                    engine_name), value)
           for value in (str(10**30), "-1", "0", "NaN", "Infinity", "1e3", "1.5", "１", "²", "١", "1000", "", None)]
    valid = _insert(lib, _row("hold", "1002", valid_fields), engine_name)
    verdicts = _night_judges_every_row(lib)
    assert verdicts[valid] == ("accepted", None)
    assert {value: verdicts[rid] for rid, value in odd} == {value: ("rejected", "series_invalid") for _, value in odd}


# Whatever text the front end writes ---------------------------------------------------

# Any character a Python str holds in UTF-8 (a row with NUL is left out on PostgreSQL).
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
TIMES = [value for value, _ in RECEIPT_TIMES]


def _rows_st():
    """Valid rows of each kind, each with a few columns replaced by any text or an edge value."""
    value = st.one_of(ANY_TEXT, st.sampled_from(EDGES), st.sampled_from(TIMES))
    row = st.tuples(st.sampled_from(sorted(DONE)), st.sampled_from(["1001", "1002"]), st.booleans(),
                    st.dictionaries(st.sampled_from(REQUEST_FIELDS), value, max_size=3))
    return st.lists(row, min_size=1, max_size=6)


@pytest.fixture(scope="module")
def edge_template(databases):
    """A kitami library with the patrons, titles, loans and holds above, copied for each example."""
    url = databases.initialised("kitami")
    lib = Library(url, "kitami")
    fields = _library(lib)
    lib.close()
    return url, fields


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=_rows_st())
# the rows that stopped a night before: a date-only year 1, a digit int() cannot read
@example(rows=[("hold", "1001", False, {"received_at": "0001-01-01"})])
@example(rows=[("cancel", "1001", False, {"target": "²"})])
def test_whatever_text_is_in_the_rows_the_night_completes_and_judges_each(databases, edge_template, rows):
    template, fields = edge_template
    lib = Library(databases.copy(template), "kitami")
    try:
        ids = [_insert(lib, _row(kind, card, fields[kind][theirs]) | odd, databases.engine)
               for kind, card, theirs, odd in rows]
        lib.night()
        verdicts = _verdicts(lib)
        for rid in filter(None, ids):
            state, reason = verdicts[rid]
            assert state in ("accepted", "applied", "rejected")
            assert state != "rejected" or reason in REASONS
    finally:
        lib.close()
