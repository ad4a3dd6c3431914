"""The change journal keeps every change a step gives it, in the step's order, however many (db.insert_rows):
on SQLite a night's worth goes through a staging table, and the journal's checks still hold."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ils.exchange.journal import Change, record_changes
from ils.infra import db, schema
from scenario import Library, at

NOW = at("2026-11-26 03:00")


@pytest.mark.parametrize("how_many", [3, db.STAGE_FROM * 2 + 1], ids=["a few", "a night's worth"])
def test_each_change_is_journaled_once_in_the_order_given_batch_after_batch(new_library, how_many, monkeypatch):
    monkeypatch.setattr(db, "CHUNK", 100)  # a staged batch moved in several statements
    lib: Library = new_library("kitami")
    lib.patron("P1")
    patron = lib.ids[("patron", "P1")]
    # Descending values, so the order kept is the order given, not the values'.
    first = [Change("email_change", patron, "email", f"a{n}@example.jp", f"b{n}@example.jp")
             for n in range(how_many, 0, -1)]
    second = [Change("contact_change", patron, "contact_method", "email", "phone") for _ in range(how_many)]
    with lib.conn.begin():
        assert record_changes(lib.conn, first, at=NOW, actor="batch", run_id=1) == how_many
        # The same step's second batch: nothing of the first is written again.
        assert record_changes(lib.conn, second, at=NOW, actor="batch", run_id=1) == how_many
    j = schema.change_journal
    rows = lib.conn.execute(select(j.c.kind, j.c.record, j.c.patron_id, j.c.old_value, j.c.new_value, j.c.at,
                                   j.c.ils_state).order_by(j.c.id)).all()
    assert [tuple(row) for row in rows] == (
        [("email_change", "patron", patron, f"a{n}@example.jp", f"b{n}@example.jp", NOW, "pending")
         for n in range(how_many, 0, -1)]
        + [("contact_change", "patron", patron, "email", "phone", NOW, "pending")] * how_many
    )


@pytest.mark.parametrize("how_many", [3, db.STAGE_FROM * 2], ids=["a few", "a night's worth"])
def test_a_row_the_journal_checks_refuse_fails_the_write_and_writes_nothing(new_library, how_many):
    lib: Library = new_library("kitami")
    lib.patron("P1")
    patron = lib.ids[("patron", "P1")]
    rows = [(NOW, "email_change", "patron", patron, None, None, "email", "a", "b", "batch", 1)] * how_many
    rows[-1] = (NOW, "email_change", "shelf", patron, None, None, "email", "a", "b", "batch", 1)  # no such record
    columns = ("at", "kind", "record", "patron_id", "loan_id", "hold_id", "field", "old_value", "new_value", "actor",
               "run_id")
    # SQLAlchemy's IntegrityError on SQLite; psycopg's own CheckViolation from PostgreSQL's COPY.
    with pytest.raises(Exception, match=r"(?i)check constraint"), lib.conn.begin():
        db.insert_rows(lib.conn, schema.change_journal, columns, rows)
    assert lib.conn.execute(select(schema.change_journal.c.id)).all() == []
