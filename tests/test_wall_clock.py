"""The few places that read the real clock, not --now — the batch lock's heartbeat, a mail's
sent_at, the intake's lock check and a keyed request's entry time — under freezegun, with the
clocks a user's run really uses (batch.runner.wall_clock, ils.library.clock.system_now)."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import select

from ils import cli
from ils.errors import BatchRunning
from ils.infra import lock, schema
from ils.infra.context import Context
from ils.library.clock import LIBRARY_TZ, system_now
from ils.mail.deliver import FileTransport, send_due
from ils.mail.render import render_due
from ils.mail.settings import MailSettings
from scenario import D, at, two_title_library

# The real instant in these tests: 27 November, 10:00 in Tokyo (01:00 UTC). Every --now
# below is another day, so a value that followed --now would show.
REAL = "2026-11-27T01:00:00+00:00"
REAL_IN_TOKYO = dt.datetime(2026, 11, 27, 10, 0, tzinfo=LIBRARY_TZ)


@pytest.fixture
def lib(new_library):
    return two_title_library(new_library)


def _held_by_another_machine(lib, since: dt.datetime, name: str = lock.LOCK_NAME) -> None:
    """The lock row a run on another host leaves (its process cannot be looked up from here)."""
    with lib.conn.begin():
        lib.conn.execute(schema.batch_lock.insert().values(
            name=name, owner="batch-host-2:4242", acquired_at=since, heartbeat_at=since))


def _one(lib, query):
    value = lib.conn.execute(query).scalar_one()
    lib.conn.rollback()
    return value


def test_a_lock_whose_heartbeat_is_fifteen_minutes_old_is_taken_over_by_the_next_night(lib):
    with freeze_time(REAL) as clock:
        _held_by_another_machine(lib, since=REAL_IN_TOKYO)
        clock.tick(lock.STALE_AFTER)  # exactly the limit: the other run may still be alive
        with pytest.raises(BatchRunning, match="another batch run is in progress: run None \\(batch-host-2:4242"):
            lib.night("2026-11-26 03:00")
        clock.tick(dt.timedelta(seconds=1))
        report = lib.night("2026-11-26 03:00")
    runs = schema.batch_runs
    started = _one(lib, select(runs.c.started_at).where(runs.c.id == report.run_id))
    # The run is recorded at the real instant it started; the night it worked on is --now.
    assert started == REAL_IN_TOKYO + lock.STALE_AFTER + dt.timedelta(seconds=1)
    assert report.as_of == at("2026-11-26 03:00")
    with lib.conn.begin():
        assert lock.holder(lib.conn) is None


def test_a_live_run_keeps_the_lock_while_its_heartbeat_is_fresh_however_long_ago_it_started(lib):
    with freeze_time(REAL) as clock:
        _held_by_another_machine(lib, since=REAL_IN_TOKYO - dt.timedelta(hours=5))
        with lib.conn.begin():  # the other run beats its heartbeat as it starts a step
            lib.conn.execute(schema.batch_lock.update().values(heartbeat_at=REAL_IN_TOKYO))
        clock.tick(dt.timedelta(minutes=14))
        with pytest.raises(BatchRunning):
            lib.night("2026-11-26 03:00")


def test_a_mail_is_stamped_sent_at_the_real_instant_it_went_in_library_time(new_library, tmp_path):
    lib = new_library("kitami")
    lib.branch("central")
    lib.patron("1001", email="patron@example.jp")
    lib.title("B1")
    copy = lib.copy("B1", "central")
    lib.loan(copy, "1001", due_on=D(2026, 11, 30))
    lib.request("renew", "1001", copy)
    lib.night("2026-11-26 03:00")
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 10:00"))
    render_due(ctx, MailSettings())
    with freeze_time(REAL):
        # system_now is the clock `ils mail send` gives the sender
        counts = send_due(ctx, MailSettings(), FileTransport(tmp_path / "out"), system_now)
    assert counts["sent"] == 1
    sent_at = _one(lib, select(schema.mail_outbox.c.sent_at))
    assert sent_at == REAL_IN_TOKYO and sent_at.astimezone(LIBRARY_TZ).hour == 10


def test_intake_judges_the_batch_lock_by_the_real_clock_whatever_now_says(lib):
    with freeze_time(REAL) as clock:
        _held_by_another_machine(lib, since=REAL_IN_TOKYO - dt.timedelta(minutes=1))
        # a --now a week later does not make the running batch's lock stale
        with pytest.raises(BatchRunning, match="not accepted while the nightly batch runs"):
            lib.request("hold", "1001", "B2", pickup="central", received="2026-12-04 10:00")
        clock.tick(lock.STALE_AFTER)  # sixteen minutes of silence on the real clock: the run died
        rid = lib.request("hold", "1001", "B2", pickup="central", received="2026-12-04 10:00")
    assert lib.verdict(rid) == ("pending", None)


def test_a_request_keyed_without_now_is_entered_at_the_real_instant(lib):
    with freeze_time(REAL):
        result = CliRunner().invoke(cli.main, ["request", "hold", "--db", lib.url, "--card", "1001",
                                               "--title", "B2", "--pickup", "central"])
    assert result.exit_code == 0, result.output
    r = schema.pending_requests
    entered_at, received_at = lib.conn.execute(select(r.c.entered_at, r.c.received_at)).one()
    lib.conn.rollback()
    assert entered_at == REAL_IN_TOKYO
    assert dt.datetime.fromisoformat(received_at) == REAL_IN_TOKYO  # received: --now, which defaults to the real clock
