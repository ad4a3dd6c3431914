"""Delivery to a real SMTP server (aiosmtpd on loopback): once, retried on 4xx or a failure before the data, failed on
5xx, unconfirmed (for a person) when no answer comes after the data, never twice."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ils import cli
from ils.errors import BatchRunning
from ils.infra import lock, schema
from ils.infra.context import Context
from ils.mail.deliver import FileTransport, send_due
from ils.mail.render import render_due
from ils.mail.settings import MailSettings
from mailserver import MailServer
from scenario import D, at

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def lib(tmp_path, new_library):
    """A Kitami night that leaves five renewals to tell five patrons about."""
    lib = new_library("kitami")
    lib.branch("central").staff("s9")
    for n in range(5):
        card = f"100{n}"
        lib.patron(card, email=f"patron{n}@example.jp")
        lib.title(f"B{n}")
        copy = lib.copy(f"B{n}", "central")
        lib.loan(copy, card, due_on=D(2026, 11, 30))
        lib.request("renew", card, copy)
    lib.night("2026-11-26 03:00")
    yield lib


def ils(lib, config, *args, now="2026-11-26T10:00"):
    return CliRunner().invoke(cli.main, ["mail", *args, "--db", lib.url, "--config", config, "--now", now])


def states(lib) -> list[str]:
    rows = lib.conn.execute(select(schema.mail_outbox.c.state).order_by(schema.mail_outbox.c.id)).scalars().all()
    lib.conn.rollback()
    return rows


def outbox(lib, outbox_id: int):
    o = schema.mail_outbox
    row = lib.conn.execute(select(o.c.state, o.c.attempts, o.c.last_error, o.c.message_id).where(o.c.id == outbox_id)).one()
    lib.conn.rollback()
    return row


def test_each_mail_arrives_once(lib, tmp_path):
    with MailServer() as server:
        config = server.config(tmp_path / "ils.toml")
        assert ils(lib, config, "run").exit_code == 0
        assert ils(lib, config, "run", now="2026-11-26T15:00").exit_code == 0
        assert ils(lib, config, "send", now="2026-11-27T10:00").exit_code == 0
        received = server.recorder.received
    assert len(received) == 5 and len(set(server.recorder.message_ids())) == 5
    assert {m["To"].addresses[0].addr_spec for m in received} == {f"patron{n}@example.jp" for n in range(5)}
    assert all(m["Subject"] == "【北見市立図書館】貸出延長のお知らせ" for m in received)
    assert states(lib) == ["sent"] * 5


def test_a_temporary_failure_is_retried_later(lib, tmp_path):
    with MailServer() as server:
        config = server.config(tmp_path / "ils.toml")
        server.recorder.answers = ["451 4.3.0 mailbox busy, try later"]
        assert ils(lib, config, "run").exit_code == 0
        assert len(server.recorder.received) == 4
        assert states(lib).count("queued") == 1
        assert ils(lib, config, "send", now="2026-11-26T10:04").exit_code == 0  # not yet: 5 minutes
        assert len(server.recorder.received) == 4
        assert ils(lib, config, "send", now="2026-11-26T10:06").exit_code == 0
        assert len(server.recorder.received) == 5
    assert states(lib) == ["sent"] * 5
    attempts = lib.conn.execute(select(schema.mail_outbox.c.attempts).where(schema.mail_outbox.c.id == 1)).scalar()
    assert attempts == 2


def test_a_permanent_refusal_is_recorded_as_failed(lib, tmp_path):
    with MailServer() as server:
        config = server.config(tmp_path / "ils.toml")
        server.recorder.answers = ["550 5.1.1 no such user"]
        assert ils(lib, config, "run").exit_code == 0
        assert ils(lib, config, "send", now="2026-11-27T10:00").exit_code == 0
        assert len(server.recorder.received) == 4
    assert states(lib) == ["failed"] + ["sent"] * 4
    listed = ils(lib, config, "list", "--state", "failed", "--json")
    [failed] = json.loads(listed.stdout)
    assert failed["last_error"].startswith("550") and failed["card"] == "1000"


def test_an_unreachable_server_leaves_the_mail_waiting(lib, tmp_path):
    config = tmp_path / "ils.toml"
    config.write_text('[mail]\ntransport = "smtp"\nhost = "127.0.0.1"\nport = 9\nstarttls = false\n', encoding="utf-8")
    result = ils(lib, str(config), "run")
    assert result.exit_code == 0
    assert states(lib) == ["queued"] * 5


def test_a_sender_killed_between_sending_and_recording_never_sends_twice(lib, tmp_path):
    with MailServer() as server:
        config = server.config(tmp_path / "ils.toml")
        assert ils(lib, config, "render").exit_code == 0
        sender = subprocess.Popen(
            [sys.executable, "-m", "ils", "mail", "send", "--db", lib.url, "--config", config,
             "--now", "2026-11-26T10:00"],
            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.PIPE,
        )
        server.recorder.victim = sender.pid
        server.recorder.kill_after = 2  # the server has the 2nd message; its sender dies before the 250
        sender.wait(timeout=60)
        assert sender.returncode == -9
        assert len(server.recorder.received) == 2
        again = ils(lib, config, "send", now="2026-11-26T10:05")
        assert again.exit_code == 1 and "check the server's log" in again.stderr
        time.sleep(0.2)
        ids = server.recorder.message_ids()
    assert len(ids) == 5 and len(set(ids)) == 5  # every Message-ID exactly once
    assert sorted(states(lib)) == ["sent"] * 4 + ["unconfirmed"]
    resent = CliRunner().invoke(cli.main, ["mail", "resend", "2", "--reason", "not in the server log", "--db", lib.url,
                                           "--staff", "s9", "--json"])
    assert resent.exit_code == 0 and json.loads(resent.stdout)[0]["now"] == "queued"


def test_the_demo_leaves_mail_a_mail_client_can_open(runner, tmp_path):
    result = runner.invoke(cli.main, ["demo", "--db", str(tmp_path / "demo.db")])
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "demo-mail").glob("*.eml"))
    assert len(files) > 50
    subjects = set()
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert message["Message-ID"].strip("<>") + ".eml" == path.name
        assert message["Date"].endswith("+0900")
        message.get_content()  # the body decodes
        subjects.add(message["Subject"])
    assert "【北見市立図書館】ご予約をお受けできませんでした" in subjects
    assert any(s.startswith("【北見市立図書館】新着図書案内") for s in subjects)


# At most once: before the server's 354 a failure is safe to retry; after the data, only a 2xx, 4xx or 5xx is an answer.


def test_a_relay_that_answers_after_the_client_gave_up_gets_the_message_once(lib, tmp_path):
    with MailServer() as server:
        config = server.config(tmp_path / "ils.toml", "data_timeout_seconds = 0.3\n")
        release = server.recorder.hold_reply = threading.Event()
        first = ils(lib, config, "run")  # the relay takes message 1 and keeps its 250 back until released
        release.set()
        assert server.recorder.arrived.wait(timeout=60)
        assert first.exit_code == 1 and "check the server's log" in first.stderr
        assert states(lib) == ["unconfirmed"] + ["queued"] * 4  # the session is gone: the rest wait
        assert "no answer from the server after the message was sent" in outbox(lib, 1).last_error
        again = ils(lib, config, "send", now="2026-11-26T10:05")
        assert again.exit_code == 0, again.output
        ids = server.recorder.message_ids()
    assert ids.count(outbox(lib, 1).message_id) == 1 and len(ids) == len(set(ids)) == 5
    assert states(lib) == ["unconfirmed"] + ["sent"] * 4


def test_a_relay_that_hangs_up_after_the_data_leaves_the_message_unconfirmed(lib, tmp_path):
    with MailServer() as server:
        config = server.config(tmp_path / "ils.toml")
        server.recorder.hang_up = "DATA"
        first = ils(lib, config, "run")
        assert first.exit_code == 1 and "ils mail resend ID" in first.stderr
        assert states(lib) == ["unconfirmed"] + ["queued"] * 4
        server.recorder.hang_up = None
        assert ils(lib, config, "send", now="2026-11-26T10:05").exit_code == 0
        ids = server.recorder.message_ids()
    assert len(ids) == len(set(ids)) == 5
    assert states(lib) == ["unconfirmed"] + ["sent"] * 4
    listed = json.loads(ils(lib, config, "list", "--state", "unconfirmed", "--json").stdout)
    assert [row["id"] for row in listed] == [1]


def test_a_relay_that_hangs_up_before_the_data_gets_the_message_later_once(lib, tmp_path):
    with MailServer() as server:
        config = server.config(tmp_path / "ils.toml")
        server.recorder.hang_up = "RCPT"
        first = ils(lib, config, "run")
        assert first.exit_code == 0, first.output  # nothing for a person to check: it is simply retried
        assert states(lib) == ["queued"] * 5
        lost = outbox(lib, 1)
        assert lost.attempts == 1 and lost.last_error.startswith("connection lost before the message was sent")
        assert outbox(lib, 2).attempts == 0  # not tried: the run stopped with the session
        server.recorder.hang_up = None
        assert ils(lib, config, "send", now="2026-11-26T10:04").exit_code == 0
        assert states(lib) == ["queued"] + ["sent"] * 4  # message 1 waits its 5 minutes
        assert ils(lib, config, "send", now="2026-11-26T10:05").exit_code == 0
        ids = server.recorder.message_ids()
    assert len(ids) == len(set(ids)) == 5
    assert states(lib) == ["sent"] * 5


class TenMinutesAMessage:
    """A transport whose every message takes ten minutes of the injected clock; while the third is
    going out, a second sender starts on its own connection."""

    def __init__(self, lib, tmp_path, clock):
        self.files = FileTransport(tmp_path / "out")
        self.lib, self.tmp_path, self.clock = lib, tmp_path, clock
        self.connected = True
        self.heartbeats, self.second_sender = [], None

    def __enter__(self):
        self.files.__enter__()
        return self

    def __exit__(self, *exc):
        return False

    def send(self, message):
        self.files.send(message)
        self.clock.now += dt.timedelta(minutes=10)
        with self.lib.engine.connect() as conn:
            self.heartbeats.append(lock.holder(conn, "mail").heartbeat_at)
            if len(self.heartbeats) == 3:
                self.second_sender = self._second(conn)

    def _second(self, conn):
        ctx = Context(conn=conn, policy=self.lib.policy, now=at("2026-11-26 10:30"))
        try:
            return send_due(ctx, MailSettings(), FileTransport(self.tmp_path / "second"), self.clock)
        except BatchRunning as exc:
            return exc


class Clock:
    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now


def test_a_long_send_keeps_its_lock_alive_and_a_second_sender_is_refused(lib, tmp_path):
    clock = Clock(at("2026-11-26 10:00"))
    transport = TenMinutesAMessage(lib, tmp_path, clock)
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 10:00"))
    render_due(ctx, MailSettings())
    counts = send_due(ctx, MailSettings(), transport, clock)
    assert counts["sent"] == 5 and clock.now - at("2026-11-26 10:00") > 3 * lock.STALE_AFTER
    # the heartbeat was beaten as each message was taken, ten minutes apart
    assert transport.heartbeats == [at("2026-11-26 10:00") + dt.timedelta(minutes=10 * n) for n in range(5)]
    assert isinstance(transport.second_sender, BatchRunning)
    assert "another mail run is in progress" in str(transport.second_sender)
    assert not (tmp_path / "second").exists() and len(list((tmp_path / "out").glob("*.eml"))) == 5


class TakenOverAfterOne(FileTransport):
    """A transport during whose first message another sender takes the mail lock (as if this one had hung past STALE_AFTER)."""

    connected = True

    def __init__(self, lib, folder):
        super().__init__(folder)
        self.lib = lib

    def send(self, message):
        super().send(message)
        t = schema.batch_lock
        with self.lib.engine.begin() as conn:
            conn.execute(t.update().where(t.c.name == "mail").values(owner="elsewhere:1"))


def test_a_sender_that_lost_its_lock_stops_before_the_next_message(lib, tmp_path):
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 10:00"))
    render_due(ctx, MailSettings())
    with pytest.raises(BatchRunning, match="took over the mail lock"):
        send_due(ctx, MailSettings(), TakenOverAfterOne(lib, tmp_path / "out"), lambda: at("2026-11-26 10:00"))
    assert states(lib) == ["sent"] + ["queued"] * 4
    assert outbox(lib, 2).attempts == 0
