"""db.one_of, db.one_of_indexed and their _bound forms find what IN finds, on both engines (an array parameter on PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ils.infra import db, schema
from scenario import Library


def test_one_of_finds_the_rows_in_found_by_numbers_or_by_text_and_none_for_an_empty_list(new_library):
    lib: Library = new_library("kitami")
    for card in ("C1", "C2", "C3"):
        lib.patron(card)
    p, conn = schema.patrons, lib.conn
    ids = [lib.ids[("patron", card)] for card in ("C1", "C3")]

    def cards(where, params=None) -> list[str]:
        return list(conn.execute(select(p.c.card_number).where(where).order_by(p.c.card_number), params or {}).scalars())

    assert cards(db.one_of(conn, p.c.id, ids)) == ["C1", "C3"]
    assert cards(db.one_of(conn, p.c.card_number, ["C2", "C9"])) == ["C2"]
    assert cards(db.one_of(conn, p.c.id, [])) == []
    assert cards(db.one_of_bound(conn.dialect, p.c.id, "ids"), {"ids": ids[1:]}) == ["C3"]
    assert cards(db.one_of_indexed(conn, p.c.id, ids)) == ["C1", "C3"]
    assert cards(db.one_of_indexed(conn, p.c.card_number, ["C2", "C9", "C2"])) == ["C2"]
    assert cards(db.one_of_indexed(conn, p.c.id, [])) == []
    assert cards(db.one_of_indexed_bound(conn.dialect, p.c.id, "ids"), {"ids": ids[:1]}) == ["C1"]


def test_unnested_rows_are_a_table_to_join_with_each_value_of_its_columns_type(new_library):
    # PostgreSQL binds a batch's rows as one array per column (no temporary table); SQLite has no unnest.
    import datetime as dt

    from sqlalchemy import Date, Integer, String

    lib: Library = new_library("kitami")
    if lib.conn.dialect.name != "postgresql":
        pytest.skip("SQLite has no arrays: its batches go through a temporary table")
    for card in ("C1", "C2", "C3"):
        lib.patron(card)
    p, conn = schema.patrons, lib.conn
    columns = [("n", Integer()), ("card", String()), ("day", Date())]
    rows = db.unnested("given", columns)
    found = select(rows.c.n, p.c.id, rows.c.day).join(p, p.c.card_number == rows.c.card).order_by(rows.c.n)
    days = [dt.date(2026, 11, 26), None, dt.date(2026, 12, 1)]
    given = [(2, "C3", days[0]), (0, "C9", days[1]), (1, "C1", days[2])]
    lib.patron('a "quoted" \\ card,{x}')  # any text reads back as it was
    params = db.unnested_rows("given", [name for name, _ in columns], given)
    assert params == {"given_n": '{"2","0","1"}', "given_card": '{"C3","C9","C1"}',
                      "given_day": '{"2026-11-26",NULL,"2026-12-01"}'}
    ids = lib.ids
    assert [tuple(r) for r in conn.execute(found, params)] == [(1, ids[("patron", "C1")], days[2]),
                                                              (2, ids[("patron", "C3")], days[0])]
    assert conn.execute(select(rows.c.n), db.unnested_rows("given", ["n", "card", "day"], [])).all() == []
    odd = db.unnested_rows("given", ["n", "card", "day"], [(0, 'a "quoted" \\ card,{x}', None)])
    assert conn.execute(select(p.c.card_number).join(rows, p.c.card_number == rows.c.card), odd).scalars().all() == [
        'a "quoted" \\ card,{x}']
