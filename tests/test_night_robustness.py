"""Bad and hostile pending rows are rejected with a reason; the rest of the night goes on."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ils.infra import schema
from scenario import two_title_library


@pytest.fixture
def lib(new_library):
    return two_title_library(new_library)


HOSTILE = [
    ({"kind": "hold", "card_number": "'; DROP TABLE holds; --", "target": "B1", "pickup_branch": "central",
      "channel": "web", "received_at": "2026-11-25T10:00:00+09:00"}, "unknown_card"),
    ({"kind": "hold", "card_number": "1001", "target": "B1' OR '1'='1", "pickup_branch": "central",
      "channel": "web", "received_at": "2026-11-25T10:00:00+09:00"}, "unknown_title"),
    ({"kind": "hold", "card_number": "1001", "target": "x" * 10_000, "pickup_branch": "central",
      "channel": "web", "received_at": "2026-11-25T10:00:00+09:00"}, "unknown_title"),
    ({"kind": "hold", "card_number": "1" * 10_000, "target": "B1", "pickup_branch": "central",
      "channel": "web", "received_at": "2026-11-25T10:00:00+09:00"}, "unknown_card"),
    ({"kind": "hold", "card_number": "1001", "target": "B1", "pickup_branch": "central",
      "channel": "web", "received_at": "2026-13-45"}, "bad_received_at"),
    ({"kind": "hold", "card_number": "1001", "target": "B1", "pickup_branch": "central",
      "channel": "web", "received_at": "9" * 10_000}, "bad_received_at"),
    ({"kind": "hold", "card_number": "1001", "target": "B1", "pickup_branch": "central",
      "channel": "web", "received_at": "0001-01-01"}, "bad_received_at"),  # once: OverflowError, night stopped
    ({"kind": "hold", "card_number": "1001", "target": "B1", "pickup_branch": "central",
      "channel": "web", "received_at": "0001-01-01T12:00+09:00"}, "bad_received_at"),  # once: head of the queue
    ({"kind": "hold", "card_number": "1001", "target": "B1", "pickup_branch": "central",
      "channel": "paper", "received_at": "9999-12-31"}, "bad_received_at"),
    ({"kind": "hold", "card_number": "1001", "target": "B1", "pickup_branch": "central",
      "channel": "fax", "received_at": "2026-11-25T10:00:00+09:00"}, "malformed"),
    ({"kind": "hold", "card_number": None, "target": None, "received_at": None}, "malformed"),
    ({"kind": "hold", "card_number": "1001", "target": "B1", "pickup_branch": "central", "channel": "web",
      "received_at": "2026-11-25T10:00:00+09:00", "series_group": "g", "series_position": "-1"}, "series_invalid"),
    ({"kind": "hold", "card_number": "1001", "target": "B1", "pickup_branch": "central", "channel": "web",
      "received_at": "2026-11-25T10:00:00+09:00", "contact_method": "ﾒｰﾙ"}, "contact_not_offered"),
    ({"kind": "teleport", "card_number": "1001"}, "unknown_kind"),
    ({"kind": None}, "unknown_kind"),
    ({"kind": "cancel", "card_number": "1001", "target": "../../etc/passwd", "received_at": "2026-11-25T10:00"}, "malformed"),
    ({"kind": "cancel", "card_number": "1001", "target": "99999999", "received_at": "2026-11-25T10:00"}, "unknown_hold"),
    ({"kind": "renew", "card_number": "1001", "target": "", "received_at": "2026-11-25T10:00"}, "malformed"),
    ({"kind": "renew", "card_number": "1001", "target": "0000", "received_at": "2026-11-25T10:00"}, "unknown_loan"),
    ({"kind": "cancel", "card_number": "1001", "target": "²", "received_at": "2026-11-25T10:00"}, "malformed"),
    ({"kind": "cancel", "card_number": "1001", "target": "1", "received_at": "0001-01-01"}, "bad_received_at"),
    ({"kind": "renew", "card_number": "1001", "target": "0000", "received_at": "9999-12-31T23:59"}, "bad_received_at"),
    ({"kind": "email_change", "card_number": "1001", "target": "a@example.jp", "received_at": "2026-W48-3"},
     "bad_received_at"),
    ({"kind": "email_change", "card_number": "1001", "target": "a..b@example.jp", "received_at": "2026-11-25T10:00"},
     "email_undeliverable"),
    ({"kind": "email_change", "card_number": "1001", "target": "taro.@example.jp", "received_at": "2026-11-25T10:00"},
     "email_undeliverable"),
    ({"kind": "email_change", "card_number": "1001", "target": "not an address\r\nBcc: x@evil", "received_at": "2026-11-25T10:00"},
     "email_invalid"),
]


def test_every_hostile_row_is_rejected_with_its_reason_and_the_good_one_still_accepted(lib):
    ids = [(lib.raw_request(**row), reason) for row, reason in HOSTILE]
    good = lib.request("hold", "1002", "B1", pickup="central")
    report = lib.night()
    assert [lib.verdict(rid) for rid, _ in ids] == [("rejected", reason) for _, reason in ids]
    assert lib.verdict(good) == ("accepted", None)
    assert lib.status("1002", "B1") == "allocated"
    accept = report.steps[0].counts
    assert accept["rejected_by_reason"]["unknown_kind"] == 2
    # the tables the SQL-in-a-field rows name are intact
    assert lib.conn.execute(select(func.count()).select_from(schema.holds)).scalar() == 1


def test_text_in_a_wrong_encoding_is_rejected_not_fatal(lib, engine_name):
    if engine_name == "postgresql":
        # PostgreSQL refuses bytes that are not UTF-8 before they reach the table.
        from sqlalchemy.exc import DataError

        with pytest.raises(DataError):
            with lib.conn.begin():
                lib.conn.exec_driver_sql(
                    "INSERT INTO pending_requests (kind, pickup_branch) VALUES ('hold', convert_from('\\x9286899b'::bytea, 'UTF8'))"
                )
        return
    # A front end writing Shift_JIS bytes straight into SQLite's TEXT columns.
    with lib.conn.begin():
        lib.conn.exec_driver_sql(
            "INSERT INTO pending_requests (kind, card_number, target, pickup_branch, channel, received_at, entered_at) "
            "VALUES ('hold', '1001', 'B1', CAST(X'9286899B907D8F9195D9' AS TEXT), 'web', '2026-11-25T10:00', '2026-11-25 01:00:00')"
        )
        rid = lib.conn.exec_driver_sql("SELECT max(id) FROM pending_requests").scalar()
    lib.night()
    assert lib.verdict(rid) == ("rejected", "unknown_pickup")


def test_the_api_refuses_text_that_is_not_unicode(lib):
    from ils.errors import RequestInvalid

    with pytest.raises(RequestInvalid, match="'pickup_branch' is not valid Unicode"):
        lib.raw_request(kind="hold", card_number="1001", pickup_branch="中央\udcff図書館")


def test_the_same_submission_twice_is_accepted_once(lib):
    first = lib.request("hold", "1001", "B2", pickup="central", client_ref="W1")
    again = lib.request("hold", "1001", "B2", pickup="central", client_ref="W1", received="2026-11-25 10:00:01")
    lib.night()
    assert lib.verdict(first) == ("accepted", None)
    assert lib.verdict(again) == ("rejected", "duplicate")


def test_a_cancelled_allocated_hold_frees_its_copy_for_the_next_hold_the_same_night(lib):
    pulled = lib.hold("1001", "B1", "central", status="allocated", copy="1000000001")
    lib.hold("1002", "B1", "central", queued_at="2026-11-03 10:00")
    lib.request("cancel", "1001", str(pulled))
    lib.night()
    assert lib.status("1001", "B1") == "cancelled"
    assert lib.holds_of("1002")["B1"]["barcode"] == "1000000001"
    assert lib.status("1002", "B1") == "allocated"


def test_rows_entered_after_the_nights_now_wait_for_the_next_run(lib):
    late = lib.request("hold", "1001", "B2", pickup="central", received="2026-11-26 03:30", entered="2026-11-26 03:30")
    lib.night("2026-11-26 03:00")
    assert lib.verdict(late) == ("pending", None)
    lib.night("2026-11-27 03:00")
    assert lib.verdict(late) == ("accepted", None)


def test_requests_are_refused_while_the_batch_holds_the_lock(lib):
    import datetime as dt

    from ils.errors import BatchRunning
    from ils.infra import lock

    with lib.conn.begin():
        lock.acquire(lib.conn, dt.datetime.now(tz=dt.timezone.utc))
    with pytest.raises(BatchRunning, match="not accepted while the nightly batch runs"):
        lib.request("hold", "1001", "B2", pickup="central")


def test_a_failed_run_is_resumed_then_tonight_runs_too(lib, monkeypatch):
    from ils.batch import runner
    from ils.batch.runner import run_until_current
    from ils.errors import BatchFailed
    from ils.infra.context import Context
    from scenario import at

    lib.request("hold", "1001", "B2", pickup="central")
    real_allocate = runner.STEPS["allocate"].run

    def broken(ctx):
        raise RuntimeError("disk full")

    monkeypatch.setattr(runner.STEPS["allocate"], "run", broken)
    with pytest.raises(BatchFailed, match=r"failed in step allocate \(its changes were undone, earlier steps are kept\): RuntimeError: disk full.*run `ils batch run` again to resume"):
        lib.night("2026-11-26 03:00")
    monkeypatch.setattr(runner.STEPS["allocate"], "run", real_allocate)
    tomorrow = lib.request("hold", "1002", "B2", pickup="central", received="2026-11-26 12:00")
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-27 03:00"))
    reports = run_until_current(ctx, now_given=False)
    assert [(r.resumed, r.as_of) for r in reports] == [(True, at("2026-11-26 03:00")), (False, at("2026-11-27 03:00"))]
    # every step before allocate was done by the crashed run; allocate and the steps after it are redone
    assert [s.skipped for s in reports[0].steps] == [s not in ("allocate", "render", "reports") for s in runner.STEPS]
    assert lib.verdict(tomorrow) == ("accepted", None)


def test_a_second_run_refuses_while_one_holds_the_lock_but_takes_over_a_dead_ones(lib):
    import datetime as dt

    from ils.errors import BatchRunning
    from ils.infra import lock, schema

    now = dt.datetime.now(tz=dt.timezone.utc)
    with lib.conn.begin():
        lock.acquire(lib.conn, now)  # held by this very (live) process
    with pytest.raises(BatchRunning, match="another batch run is in progress"):
        lib.night()
    with lib.conn.begin():
        lib.conn.execute(schema.batch_lock.update().values(owner=f"{lock.socket.gethostname()}:999999999"))
    report = lib.night()  # the holder's process is gone: its lock is taken over
    assert report.run_id is not None
    with lib.conn.begin():
        assert lock.holder(lib.conn) is None  # and released at the end
