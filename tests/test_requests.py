"""The pending-requests contract: rows stored as the front end writes them, files all-or-nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ils import schema
from ils.errors import RequestInvalid
from ils.requests import import_request_file, submit

from conftest import NIGHT


def test_requests_are_stored_as_text_for_the_batch_to_judge(conn_for):
    conn, _ = conn_for()
    hostile = "'; DROP TABLE holds; --"
    with conn.begin():
        [rid] = submit(conn, [{"kind": "hold", "card_number": hostile, "received_at": "2026-13-45",
                               "target": "x" * 10_000, "series_position": 2, "receipt_mail": True}])
    row = conn.execute(select(schema.pending_requests).where(schema.pending_requests.c.id == rid)).one()
    assert row.card_number == hostile and row.received_at == "2026-13-45"
    assert len(row.target) == 10_000
    assert (row.series_position, row.receipt_mail, row.state) == ("2", "yes", "pending")
    assert row.entered_at is not None  # filled by the database


def test_an_unknown_field_is_refused_by_name(conn_for):
    conn, _ = conn_for()
    with pytest.raises(RequestInvalid, match="unknown field.*pickup"):
        submit(conn, [{"kind": "hold", "pickup": "central"}])


def test_a_request_file_with_a_broken_line_stores_nothing(conn_for, tmp_path):
    conn, _ = conn_for()
    path = tmp_path / "day.jsonl"
    path.write_text(
        json.dumps({"kind": "hold", "card_number": "1"}) + "\n"
        + "{not json\n"
        + json.dumps(["a", "list"]) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(RequestInvalid) as caught:
        import_request_file(conn, path, NIGHT)
    message = str(caught.value)
    assert f"{path}:2: not valid JSON" in message and f"{path}:3: a line must be a JSON object" in message
    assert conn.execute(select(schema.pending_requests)).all() == []
    run = conn.execute(select(schema.import_runs)).one()
    assert (run.kind, run.status) == ("requests", "refused")


def test_a_csv_request_file_is_read_too(conn_for, tmp_path):
    conn, _ = conn_for()
    path = tmp_path / "day.csv"
    path.write_text("kind,card_number,target,pickup_branch\nhold,10000001,B0000001,central\n", encoding="utf-8")
    assert len(import_request_file(conn, path, NIGHT)) == 1
    row = conn.execute(select(schema.pending_requests)).one()
    assert (row.kind, row.pickup_branch, row.contact_method) == ("hold", "central", None)
