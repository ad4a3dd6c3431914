"""Bounces the relay returns (RFC 3464), read from a real Maildir and mbox: marked, listed, cleared."""

from __future__ import annotations

import json
import mailbox
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import make_msgid

import pytest
from sqlalchemy import select

from ils import cli
from ils.infra import schema
from ils.infra.context import Context
from ils.reports.lists import contact_problems
from scenario import D, at
from test_mail import mail_run


@pytest.fixture
def kitakyushu(new_library):
    lib = new_library("kitakyushu")
    lib.branch("chuo").patron("2001", email="hanako@example.jp").patron("2002", email="taro@example.jp")
    with lib.conn.begin():
        lib.conn.execute(schema.patrons.update().values(home_branch_id=lib.ids[("branch", "chuo")]))
    yield lib


def dsn(recipient: str, action: str = "failed", status: str = "5.2.2", original_id: str | None = None,
        diagnostic: str = "smtp; 552 5.2.2 Mailbox full") -> MIMEMultipart:
    """A delivery-status notification as a relay writes it (RFC 3464 / RFC 6522)."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@relay.example.jp"
    report["To"] = "web-master@toshokan.city.kitakyushu.jp"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Message-ID"] = make_msgid(domain="relay.example.jp")
    report.attach(MIMEText("This is the mail system at host relay.example.jp.\n", "plain"))
    per_message, per_recipient = Message(), Message()
    per_message["Reporting-MTA"] = "dns; relay.example.jp"
    per_recipient["Final-Recipient"] = f"rfc822; {recipient}"
    per_recipient["Action"] = action
    per_recipient["Status"] = status
    if action == "failed":
        per_recipient["Diagnostic-Code"] = diagnostic
    status_part = MIMEBase("message", "delivery-status")
    status_part.set_payload([per_message, per_recipient])
    report.attach(status_part)
    if original_id:
        headers = f"From: web-master@toshokan.city.kitakyushu.jp\nTo: {recipient}\nMessage-ID: {original_id}\n"
        report.attach(MIMEText(headers, "rfc822-headers"))
    return report


def bounces(runner, lib, option, path, now):
    result = runner.invoke(cli.main, ["mail", "bounces", option, str(path), "--db", lib.url, "--now", now, "--json"])
    assert result.exit_code == 0, result.output
    return {row["what"]: row["count"] for row in json.loads(result.stdout)}


def problems(lib, day):
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at(f"{day} 12:00"))
    rows = contact_problems(ctx, [lib.ids[("branch", "chuo")]], D(*map(int, day.split("-"))))
    lib.conn.rollback()
    return [(row["card"], row["problem"]) for row in rows]


def _mail_to(lib, card, tmp_path, now="2026-11-26 10:00"):
    lib.request("hold", card, "NOPE", pickup="chuo", received=f"{now[:10]} 00:10")
    lib.night(f"{now[:10]} 03:00")
    [sent] = mail_run(lib, now, tmp_path / "out")
    return sent["Message-ID"]


@pytest.mark.staff_language("ja")  # the problem list as a Japanese library prints it
def test_a_bounce_in_the_maildir_marks_the_message_and_puts_the_patron_on_the_problem_list(runner, kitakyushu, tmp_path):
    """001: 「メールサーバーのメンテナンスやメールボックスの容量オーバーのため、送信したEメールが
    エラーとなって返ってくることがあります。」"""
    lib = kitakyushu
    message_id = _mail_to(lib, "2001", tmp_path)
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(dsn("hanako@example.jp", original_id=message_id))
    box.add(MIMEText("not a report"))
    assert bounces(runner, lib, "--maildir", tmp_path / "bounces", "2026-11-26T11:00") == {
        "cleared": 0, "failed": 1, "messages": 2, "not_reports": 1}
    b, o = schema.mail_bounces, schema.mail_outbox
    [(outbox_id, address, status)] = lib.conn.execute(select(b.c.outbox_id, b.c.address, b.c.status)).all()
    assert lib.conn.execute(select(o.c.message_id).where(o.c.id == outbox_id)).scalar_one() == message_id
    lib.conn.rollback()
    assert (address, status) == ("hanako@example.jp", "5.2.2")
    assert problems(lib, "2026-11-26") == [("2001", "エラーで返送: 5.2.2 smtp; 552 5.2.2 Mailbox full")]
    again = bounces(runner, lib, "--maildir", tmp_path / "bounces", "2026-11-26T12:00")
    assert again["seen_before"] == 1 and "failed" not in again


def test_a_bounce_in_an_mbox_is_matched_by_its_final_recipient_and_a_delivery_clears_it(runner, kitakyushu, tmp_path):
    lib = kitakyushu
    _mail_to(lib, "2002", tmp_path)
    box = mailbox.mbox(tmp_path / "bounces.mbox", create=True)
    box.add(dsn("Taro@Example.jp", status="5.1.1", diagnostic="smtp; 550 5.1.1 User unknown"))
    box.flush()
    assert bounces(runner, lib, "--mbox", tmp_path / "bounces.mbox", "2026-11-26T11:00")["failed"] == 1
    b = schema.mail_bounces
    assert lib.conn.execute(select(b.c.outbox_id)).scalar_one() is not None  # the message sent to that address
    lib.conn.rollback()
    assert [card for card, _ in problems(lib, "2026-11-26")] == ["2002"]
    box.add(dsn("taro@example.jp", action="delivered", status="2.0.0"))
    box.flush()
    assert bounces(runner, lib, "--mbox", tmp_path / "bounces.mbox", "2026-11-27T11:00")["delivered"] == 1
    assert problems(lib, "2026-11-27") == []


def test_a_later_message_that_does_not_come_back_clears_the_address(runner, kitakyushu, tmp_path):
    lib = kitakyushu
    first = _mail_to(lib, "2001", tmp_path)
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(dsn("hanako@example.jp", action="failed", status="4.2.2", original_id=first))
    bounces(runner, lib, "--maildir", tmp_path / "bounces", "2026-11-26T11:00")
    _mail_to(lib, "2001", tmp_path, now="2026-11-27 10:00")  # the mailbox has room again
    # A relay gives up within 5 days (RFC 5321 4.5.4.1): on the 1st it could still come back.
    assert bounces(runner, lib, "--maildir", tmp_path / "bounces", "2026-12-01T11:00")["cleared"] == 0
    assert [card for card, _ in problems(lib, "2026-12-01")] == ["2001"]
    assert bounces(runner, lib, "--maildir", tmp_path / "bounces", "2026-12-02T11:00")["cleared"] == 1
    assert problems(lib, "2026-12-02") == []


def test_bounces_needs_one_mailbox_that_exists(runner, kitakyushu, tmp_path):
    neither = runner.invoke(cli.main, ["mail", "bounces", "--db", kitakyushu.url])
    assert neither.exit_code == 2 and "give one of --mbox PATH or --maildir PATH" in neither.output
    missing = runner.invoke(cli.main, ["mail", "bounces", "--maildir", str(tmp_path / "nope"), "--db", kitakyushu.url])
    assert missing.exit_code == 1 and "cannot read the maildir" in missing.stderr
