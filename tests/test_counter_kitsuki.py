"""Kitsuki's counter lends a ready copy only after its ready mail has gone (seed 003)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from engines import query_plan
from ils import cli
from ils.infra import schema
from scenario import D
from test_mail import mail_run


@pytest.fixture
def kitsuki(new_library):
    lib = new_library("kitsuki")
    lib.branch("kitsuki").branch("yamaga")
    lib.staff("s007", role="supervisor")  # may lend with --override
    lib.patron("4001", email="ichiro@example.jp").patron("4002", email="jiro@example.jp").patron("4009")
    lib.title("B1").title("B2")
    yield lib


def ils(runner, lib, *args, now):
    return runner.invoke(cli.main, [*args, "--db", lib.url, "--now", now, "--json"],
                         env={"ILS_STAFF": "s007", "ILS_BRANCH": "kitsuki"})


def _returned_for(runner, lib, card, bib, barcode, contact="email"):
    """A copy on loan comes back at 09:00 and is caught for the patron's hold: ready, mail not yet sent."""
    copy = lib.copy(bib, "kitsuki", barcode=barcode)
    lib.loan(copy, "4009", due_on=D(2026, 12, 1))
    lib.hold(card, bib, "kitsuki", queued_at="2026-11-20 10:00", contact=contact)
    result = ils(runner, lib, "checkin", "--barcode", copy, now="2026-11-26T09:00")
    assert json.loads(result.stdout)[0]["action"] == "hold_shelf"
    return copy


def test_a_ready_copy_is_lent_only_after_its_ready_mail_has_gone(runner, kitsuki, tmp_path):
    """003: 「資料の貸出は、資料用意のおしらせ送信後となります。」「メールが届いていない状態で、
    「ご利用状況の確認」画面で予約資料が「受け取り可」となっていても貸出できない場合がございます」"""
    copy = _returned_for(runner, kitsuki, "4001", "B1", "301")
    early = ils(runner, kitsuki, "checkout", "--card", "4001", "--barcode", copy, now="2026-11-26T09:30")
    assert early.exit_code == 1
    assert "its ready mail (用意ができました) has not been sent yet" in early.stderr
    assert kitsuki.status("4001", "B1") == "ready"
    [mail] = mail_run(kitsuki, "2026-11-26 10:00", tmp_path / "out")
    assert mail["Subject"] == "【杵築市立図書館】予約資料のご用意ができました"
    lent = ils(runner, kitsuki, "checkout", "--card", "4001", "--barcode", copy, now="2026-11-26T10:30")
    assert lent.exit_code == 0, lent.output
    assert kitsuki.status("4001", "B1") == "fulfilled"


def test_the_counter_may_lend_before_the_mail_with_an_audited_override(runner, kitsuki):
    copy = _returned_for(runner, kitsuki, "4002", "B2", "302")
    bare = ils(runner, kitsuki, "checkout", "--card", "4002", "--barcode", copy,
               "--override", "ready_notice_unsent", now="2026-11-26T09:30")
    assert bare.exit_code == 1 and "an override needs --reason" in bare.stderr
    lent = ils(runner, kitsuki, "checkout", "--card", "4002", "--barcode", copy, "--override", "ready_notice_unsent",
               "--reason", "patron came in person before the mail", now="2026-11-26T09:30")
    assert lent.exit_code == 0, lent.output
    a = schema.staff_audit
    [(action, reason)] = kitsuki.conn.execute(select(a.c.action, a.c.reason)).all()
    kitsuki.conn.rollback()
    assert (action, reason) == ("checkout_override", "patron came in person before the mail")


def test_other_libraries_lend_a_ready_copy_at_once(runner, new_library):
    lib = new_library("kitami")
    lib.branch("kitsuki").patron("4001", email="ichiro@example.jp").patron("4009")
    lib.staff("s007")
    lib.title("B1")
    copy = _returned_for(runner, lib, "4001", "B1", "301")
    lent = ils(runner, lib, "checkout", "--card", "4001", "--barcode", copy, now="2026-11-26T09:30")
    assert lent.exit_code == 0, lent.output


def test_a_ready_hold_with_no_mail_to_wait_for_is_lent_at_once(runner, kitsuki):
    """A patron imported with contact by phone (Kitsuki offers only mail on the web) gets no mail."""
    kitsuki.patron("4003", email=None, contact="phone")
    copy = _returned_for(runner, kitsuki, "4003", "B1", "303", contact="phone")
    lent = ils(runner, kitsuki, "checkout", "--card", "4003", "--barcode", copy, now="2026-11-26T09:30")
    assert lent.exit_code == 0, lent.output


def test_the_counter_finds_the_ready_notice_through_its_hold_not_by_reading_the_notices(runner, kitsuki):
    """A library's notices pile up, 27,000 a night in the city bench: the check before lending reads
    the partial index of the ready notices by hold (migration 0011), not the notices backwards."""
    copy = _returned_for(runner, kitsuki, "4001", "B1", "301")
    asked = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "FROM notice_events" in statement and "mail_outbox" in statement:
            asked.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        refused = ils(runner, kitsuki, "checkout", "--card", "4001", "--barcode", copy, now="2026-11-26T09:30")
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert refused.exit_code == 1 and "has not been sent yet" in refused.stderr
    [(statement, parameters)] = asked
    plan = " / ".join(query_plan(kitsuki.conn, statement, parameters))
    kitsuki.conn.rollback()
    assert "ix_notice_events_hold_ready" in plan, plan
