"""Murakami takes no request from 3 to 4 a.m., whatever the batch is doing (seed 004)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ils import cli
from ils.errors import RequestsClosed
from ils.frontend import api as frontend
from ils.frontend.reasons import reason
from ils.infra import schema
from ils.infra.context import Context
from scenario import at

# 004: 「午前3時から午前4時の間は予約できません。」


@pytest.fixture
def murakami(new_library):
    lib = new_library("murakami")
    lib.branch("chuo").patron("5001").title("B1")
    lib.copy("B1", "chuo", state="on_loan")
    return lib


def _hold(now: str) -> dict:
    return {"kind": "hold", "card_number": "5001", "target": "B1", "channel": "web", "pickup_branch": "chuo",
            "received_at": at(now).isoformat()}


def _stored(lib) -> int:
    count = lib.conn.execute(select(func.count()).select_from(schema.pending_requests)).scalar_one()
    lib.conn.rollback()
    return count


def test_a_request_at_half_past_three_is_refused_with_no_batch_running(murakami):
    lib = murakami
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 03:30"))
    with pytest.raises(RequestsClosed, match="not taken from 03:00 to 04:00.*try again from 04:00"):
        frontend.submit_request(ctx, _hold("2026-11-26 03:30"))
    assert _stored(lib) == 0
    assert reason("requests_closed").ja == "この時間帯はお申し込みを受け付けておりません。時間をおいてお申し込みください"


def test_the_window_is_three_to_four_and_no_longer(murakami):
    lib = murakami
    for now in ("2026-11-26 02:59", "2026-11-26 04:00"):
        ctx = Context(conn=lib.conn, policy=lib.policy, now=at(now))
        frontend.submit_request(ctx, _hold(now))
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 03:00"))
    with pytest.raises(RequestsClosed):
        frontend.submit_request(ctx, _hold("2026-11-26 03:00"))
    assert _stored(lib) == 2


def test_ils_request_at_half_past_three_says_why_and_stores_nothing(runner, db_url):
    runner.invoke(cli.main, ["init", "--profile", "murakami", "--db", db_url])
    result = runner.invoke(cli.main, ["request", "cancel", "--card", "5001", "--hold", "7",
                                      "--db", db_url, "--now", "2026-11-26T03:30"])
    assert result.exit_code == 1
    assert "requests are not taken from 03:00 to 04:00" in result.stderr


def test_a_library_with_no_closed_window_takes_requests_at_half_past_three(new_library):
    lib = new_library("kitakyushu")
    lib.branch("chuo").patron("5001").title("B1")
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 03:30"))
    frontend.submit_request(ctx, _hold("2026-11-26 03:30"))
    assert _stored(lib) == 1
