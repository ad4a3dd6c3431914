"""The pending-requests contract: rows stored as the front end writes them, files all-or-nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from conftest import NIGHT
from ils.errors import RequestInvalid
from ils.exchange.imports import files_in, import_files
from ils.frontend.requests import import_request_file, submit
from ils.infra import schema
from ils.infra.installation import sample_dir


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


def test_a_nul_character_is_refused_on_every_engine_alike(conn_for):
    conn, _ = conn_for()
    with pytest.raises(RequestInvalid, match="'target' contains a NUL character"):
        submit(conn, [{"kind": "hold", "target": "B1\x00"}])
    conn.rollback()
    assert conn.execute(select(schema.pending_requests)).all() == []


def test_a_file_hands_over_the_front_ends_day_each_row_entered_as_received(conn_for, tmp_path):
    """A spool: rows received within the day before the import are entered then; others at the import."""
    conn, _ = conn_for()
    rows = [
        {"kind": "hold", "channel": "web", "received_at": "2026-11-25T04:30:00+09:00"},
        {"kind": "hold", "channel": "web", "received_at": "2026-11-25T03:00:00+09:00"},  # just within the day
        {"kind": "hold", "channel": "web", "received_at": "2026-11-25T02:59:59+09:00"},  # older: the batch judges
        {"kind": "hold", "channel": "web", "received_at": "0001-01-01"},
        {"kind": "hold", "channel": "web", "received_at": "2026-11-26T03:00:01+09:00"},  # after the import
        {"kind": "hold", "channel": "paper", "received_at": "2026-11-20T09:40"},
    ]
    path = tmp_path / "day.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    import_request_file(conn, path, NIGHT)
    t = schema.pending_requests
    entered = conn.execute(select(t.c.entered_at).order_by(t.c.id)).scalars().all()
    assert [e.isoformat() for e in entered] == [
        "2026-11-24T19:30:00+00:00", "2026-11-24T18:00:00+00:00", *["2026-11-25T18:00:00+00:00"] * 4]


def test_a_day_imported_at_night_keeps_its_receipt_times_and_only_the_bad_date_is_refused(new_library):
    lib = new_library("murakami")
    import_files(lib.conn, files_in(sample_dir()), lib.policy, NIGHT)
    import_request_file(lib.conn, sample_dir() / "requests.jsonl", NIGHT)
    report = lib.night()
    rejected = {}
    for step in report.steps[:4]:
        for reason, n in (step.counts or {}).get("rejected_by_reason", {}).items():
            rejected[reason] = rejected.get(reason, 0) + n
    # the sample's hostile bad dates, and no honest row, are refused for their receipt time
    assert rejected.get("bad_received_at") == _bad_dates(sample_dir() / "requests.jsonl") > 0


def _bad_dates(path) -> int:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return sum(1 for row in rows if str(row.get("received_at", "")).startswith("2026-13-45"))


def test_each_judged_row_keeps_its_verdict_and_hold_and_postgresql_writes_a_steps_verdicts_in_one_update(new_library):
    # A city's accept wrote its verdicts in 21 UPDATEs on PostgreSQL (one per state, reason and chunk
    # of ids, each reading the whole table); there they are one UPDATE from arrays (db.unnested).
    from sqlalchemy import event

    lib = new_library("kitami")
    lib.branch("chuo").patron("7001").title("HELD").title("NEW")
    lib.copy("HELD", "chuo", state="on_loan")
    lib.copy("NEW", "chuo", state="on_loan")
    held = lib.hold("7001", "HELD", "chuo")
    placed = lib.request("hold", "7001", "NEW", pickup="chuo")
    unknown = lib.request("hold", "7001", "NOSUCH", pickup="chuo")
    cancel = lib.request("cancel", "7001", str(held))
    lib.conn.commit()
    sent: list[str] = []
    event.listen(lib.conn, "before_cursor_execute", lambda *args: sent.append(args[2]))
    lib.night(only="accept")
    lib.night(only="cancel")
    r = schema.pending_requests
    rows = {row.id: (row.state, row.reason, row.hold_id) for row in lib.conn.execute(select(r))}
    lib.conn.rollback()
    new_hold = lib.holds_of("7001")["NEW"]["id"]
    assert rows == {placed: ("accepted", None, new_hold), unknown: ("rejected", "unknown_title", None),
                    cancel: ("applied", None, held)}
    updates = [sql for sql in sent if sql.startswith("UPDATE pending_requests")]
    if lib.conn.dialect.name == "postgresql":
        assert len(updates) == 2 and all("unnest(" in sql for sql in updates)  # one per step
