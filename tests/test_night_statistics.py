"""PostgreSQL: a night that succeeds brings the planner's statistics of the pending requests up to
date (batch/runner.py, NIGHT_CHANGES_MOST_OF). It has judged every one of them; planned from
statistics taken before it, the next intraday run's steps read the whole table for rows that are
no longer pending. SQLite keeps no statistics, and none are made there."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from ils.batch import runner
from ils.infra import db

REQUESTS = 300


@pytest.fixture
def judged_tonight(new_library):
    """A young library: the requests of its first day, all pending when its tables were last analyzed."""
    lib = new_library("kitami")
    lib.branch("central").title("B1").copy("B1", "central")
    for n in range(REQUESTS):
        card = f"{1000 + n}"
        lib.patron(card)
        lib.request("hold", card, "B1", pickup="central")
    if lib.conn.dialect.name == "postgresql":
        lib.conn.commit()
        lib.conn.exec_driver_sql("ANALYZE pending_requests")  # as autovacuum would have, in the day
        lib.conn.commit()
    return lib


def _pending_rows_expected(conn) -> float:
    """How many rows PostgreSQL's planner expects a step's read of the pending requests to find."""
    plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) SELECT id FROM pending_requests WHERE state = 'pending'")
    rows = plan.scalar_one()
    conn.rollback()
    return (rows if isinstance(rows, list) else json.loads(rows))[0]["Plan"]["Plan Rows"]


def test_after_a_night_the_planner_expects_no_pending_requests_left(judged_tonight, engine_name):
    lib = judged_tonight
    if engine_name == "postgresql":
        assert _pending_rows_expected(lib.conn) >= REQUESTS / 2, "the fixture's statistics: the day's requests pending"
    lib.night()
    assert lib.conn.execute(text("SELECT count(*) FROM pending_requests WHERE state = 'pending'")).scalar_one() == 0
    lib.conn.rollback()
    if engine_name == "postgresql":
        assert _pending_rows_expected(lib.conn) <= REQUESTS / 30
    else:
        tables = lib.conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'sqlite_stat%'")).scalars().all()
        lib.conn.rollback()
        assert tables == [], "SQLite's planner is left without statistics, as ever"


def test_an_intraday_run_leaves_the_statistics_to_autovacuum(judged_tonight, engine_name, monkeypatch):
    asked = []
    monkeypatch.setattr(db, "refresh_statistics", lambda conn, tables: asked.append(tables))
    judged_tonight.night(mode="intraday")
    assert asked == []
    judged_tonight.night(now="2026-11-27 03:00")
    assert asked == [runner.NIGHT_CHANGES_MOST_OF]


def test_statistics_that_cannot_be_refreshed_do_not_fail_the_night(judged_tonight, monkeypatch, caplog):
    def refused(conn, tables):
        conn.exec_driver_sql("SELECT 1")  # inside a transaction the failure leaves open
        raise OperationalError("ANALYZE pending_requests", {}, Exception("permission denied"))

    monkeypatch.setattr(db, "refresh_statistics", refused)
    with caplog.at_level(logging.WARNING, logger=runner.__name__):
        report = judged_tonight.night()
    assert report.steps and not judged_tonight.conn.in_transaction()
    status = judged_tonight.conn.execute(text("SELECT status FROM batch_runs ORDER BY id DESC LIMIT 1")).scalar_one()
    judged_tonight.conn.rollback()
    assert status == "succeeded"
    assert "could not bring the statistics of pending_requests up to date" in caplog.text
