"""Notices are recorded once a key, in the order a step gives them, however many it gives (db.insert_rows)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ils.holds.history import Notice, record_notices
from ils.infra import db, schema
from scenario import Library, at

NOW = at("2026-11-26 03:00")


@pytest.mark.parametrize("how_many", [3, db.COPY_FROM * 2], ids=["a few", "a night's worth"])
def test_a_key_already_recorded_or_repeated_is_skipped_and_the_rest_keep_their_order(new_library, how_many):
    lib: Library = new_library("kitami")
    lib.patron("P1")
    patron = lib.ids[("patron", "P1")]
    with lib.conn.begin():
        record_notices(lib.conn, [Notice(patron, "hold_ready", "ready:1")], at=NOW, run_id=1)
    keys = [f"ready:{n}" for n in range(how_many, 0, -1)]  # descending: order is not the keys'
    given = [Notice(patron, "hold_ready", key, details={"n": n}) for n, key in enumerate(keys)]
    given.insert(1, Notice(patron, "hold_ready", keys[0], details={"n": "again"}))  # a repeat within the batch
    with lib.conn.begin():
        record_notices(lib.conn, given, at=NOW, run_id=2)
    e = schema.notice_events
    rows = lib.conn.execute(select(e.c.dedupe_key, e.c.run_id, e.c.payload, e.c.occurred_at).order_by(e.c.id)).all()
    assert [key for key, *_ in rows] == ["ready:1", *keys[:-1]]
    assert [run for _, run, *_ in rows] == [1] + [2] * (how_many - 1)
    assert rows[1].payload == '{"n": 0}' and rows[-1].payload == f'{{"n": {how_many - 2}}}'
    assert {occurred for *_, occurred in rows} == {NOW}



def test_a_key_another_transaction_records_meanwhile_is_skipped_too(new_library, monkeypatch):
    """PostgreSQL looks the keys up, then COPYs the new rows straight in: a key another transaction
    commits in between makes the COPY fail, and the rows go in the staged way, skipping it. (SQLite
    has no COPY: its one INSERT ... ON CONFLICT DO NOTHING is not changed by this hook.)"""
    lib: Library = new_library("kitami")
    lib.patron("P1")
    patron = lib.ids[("patron", "P1")]
    keys = [f"ready:{n}" for n in range(db.COPY_FROM * 2)]
    copy_rows = db.copy_rows

    def another_records_the_first_key(conn, into, *args):
        if into == "notice_events":  # the COPY straight in, after the look-up
            with lib.engine.begin() as other:
                record_notices(other, [Notice(patron, "hold_ready", keys[0])], at=NOW, run_id=1)
        copy_rows(conn, into, *args)

    monkeypatch.setattr(db, "copy_rows", another_records_the_first_key)
    with lib.conn.begin():
        record_notices(lib.conn, [Notice(patron, "hold_ready", key) for key in keys], at=NOW, run_id=2)
    e = schema.notice_events
    rows = lib.conn.execute(select(e.c.dedupe_key, e.c.run_id).order_by(e.c.id)).all()
    if lib.conn.dialect.name == "postgresql":
        assert rows == [(keys[0], 1)] + [(key, 2) for key in keys[1:]]
    else:
        assert rows == [(key, 2) for key in keys]
