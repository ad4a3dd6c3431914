"""db.one_of, db.one_of_indexed and their _bound forms find what IN finds, on both engines (an array parameter on PostgreSQL)."""

from __future__ import annotations

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
