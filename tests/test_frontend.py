"""The front end's Python API, used as the web/OPAC would."""

from __future__ import annotations

import datetime as dt

import pytest

from ils.errors import BatchRunning
from ils.frontend import api as frontend
from ils.infra import lock
from ils.infra.context import Context
from scenario import at


@pytest.fixture
def lib(tmp_path, new_library):
    lib = new_library("murakami")
    lib.branch("chuo")
    lib.patron("5001")
    lib.title("B1")
    lib.copy("B1", "chuo", state="on_loan")
    yield lib


def test_a_request_shows_as_yoyaku_moshikomi_until_the_batch_accepts_it(lib):
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-25 21:00"))
    rid = frontend.submit_request(ctx, {"kind": "hold", "card_number": "5001", "target": "B1", "channel": "web",
                                        "pickup_branch": "chuo", "received_at": "2026-11-25T21:00:00+09:00"})
    assert [h["status"] for h in frontend.my_holds(ctx, "5001")] == ["予約申込"]
    lib.night()
    holds = frontend.my_holds(ctx, "5001")
    assert [(h["status"], h["rank"]) for h in holds] == [("確保待ち", 1)]
    frontend.submit_request(ctx, {"kind": "cancel", "card_number": "5001", "target": str(holds[0]["hold"]),
                                  "channel": "web", "received_at": "2026-11-26T08:00:00+09:00"})
    assert [h["status"] for h in frontend.my_holds(ctx, "5001")] == ["取消申込"]
    assert lib.verdict(rid) == ("accepted", None)


def test_requests_are_refused_with_a_message_during_the_batch(lib):
    # a long night still running after Murakami's closed window (03:00-04:00) has ended
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 04:10"))
    with lib.conn.begin():
        lock.acquire(lib.conn, dt.datetime.now(tz=dt.timezone.utc))
    with pytest.raises(BatchRunning, match="please try again later"):
        frontend.submit_request(ctx, {"kind": "hold", "card_number": "5001", "target": "B1"})


def test_log_in_and_change_the_temporary_password(lib):
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 10:00"))
    login = frontend.log_in(ctx, "5001", "19800505")  # the scenario patrons are born 1980-05-05
    assert login.ok and login.must_change
    frontend.new_password(ctx, "5001", "19800505", "2468")
    assert frontend.log_in(ctx, "5001", "2468").ok
