"""Kitami's patrons subscribe to the newsletter from the web (メールマガジンの登録, seed 000), judged by the night."""

from __future__ import annotations

import email
import email.policy

from sqlalchemy import create_engine, select

from ils import cli
from ils.infra import schema
from ils.infra.context import Context
from ils.library.events import record_event
from ils.mail.deliver import FileTransport, send_due
from ils.mail.newsletter import queue_newsletter
from ils.mail.settings import MailSettings
from scenario import D, at

# 000: 「6. メールマガジンの登録ができます。」「・新着図書案内、行事案内などをメールで送ります。」
#      「・新着図書案内は分野毎に指定ができます。」


def _subjects(lib, card) -> list[str]:
    s = schema.newsletter_subscriptions
    rows = lib.conn.execute(select(s.c.ndc_class).where(s.c.patron_id == lib.ids[("patron", card)])
                            .order_by(s.c.ndc_class)).scalars().all()
    lib.conn.rollback()
    return list(rows)


def _kitami(new_library):
    lib = new_library("kitami")
    lib.branch("chuo").patron("1001").patron("1002", email=None, contact="none")
    return lib


def test_a_kitami_patron_subscribes_to_two_subjects_then_drops_one(new_library):
    lib = _kitami(new_library)
    first = lib.request("newsletter", "1001", "subscribe:9,2", received="2026-11-25 10:00")
    second = lib.request("newsletter", "1001", "unsubscribe:2", received="2026-11-25 10:05")
    lib.night()
    assert lib.verdict(first) == lib.verdict(second) == ("applied", None)
    assert _subjects(lib, "1001") == ["9"]
    assert ("newsletter_changed", {"topics": ["9"]}) in lib.notices("1001")
    last = lib.request("newsletter", "1001", "unsubscribe:all", received="2026-11-26 10:00")
    lib.night("2026-11-27 03:00")
    assert lib.verdict(last) == ("applied", None)
    assert _subjects(lib, "1001") == []


def test_no_address_no_subscription_and_a_bad_subject_is_refused(new_library):
    lib = _kitami(new_library)
    no_address = lib.request("newsletter", "1002", "subscribe:9")
    bad = lib.request("newsletter", "1001", "subscribe:X")
    lib.night()
    assert lib.verdict(no_address) == ("rejected", "contact_unavailable")
    assert lib.verdict(bad) == ("rejected", "malformed")
    assert _subjects(lib, "1002") == [] and _subjects(lib, "1001") == []


def test_a_library_that_sends_no_newsletter_refuses_a_subscription(new_library):
    lib = new_library("mito")
    lib.branch("chuo").patron("3001")
    request = lib.request("newsletter", "3001", "subscribe:9")
    lib.night()
    assert lib.verdict(request) == ("rejected", "newsletter_not_offered")


def test_ils_request_newsletter_writes_the_row(runner, db_url):
    runner.invoke(cli.main, ["init", "--profile", "kitami", "--db", db_url])
    result = runner.invoke(cli.main, ["request", "newsletter", "--card", "1001", "--unsubscribe", "--subject", "9",
                                      "--subject", "4", "--db", db_url, "--now", "2026-11-25T10:00"])
    assert result.exit_code == 0, result.output
    engine = create_engine(db_url)
    with engine.connect() as conn:
        row = conn.execute(select(schema.pending_requests)).one()
    engine.dispose()
    assert (row.kind, row.target) == ("newsletter", "unsubscribe:9,4")


def test_event_announcements_are_a_newsletter_kind_sent_once_to_those_who_asked(new_library, tmp_path):
    # 000: 「・新着図書案内、行事案内などをメールで送ります。」「・毎週火曜日の10時に配信されます。」
    lib = _kitami(new_library)
    lib.patron("1003")
    asked = lib.request("newsletter", "1001", "subscribe:events")
    lib.night()
    assert lib.verdict(asked) == ("applied", None)
    staff = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-27 10:00"))
    record_event(staff, D(2026, 12, 5), "おはなし会", "中央図書館")
    settings = MailSettings(directory=str(tmp_path))

    def issue(now):
        ctx = Context(conn=lib.conn, policy=lib.policy, now=at(now))
        queued = queue_newsletter(ctx, settings)
        send_due(ctx, settings, FileTransport(tmp_path), lambda: at(now))
        return queued

    assert issue("2026-12-01 10:00") == 1  # Tuesday's issue: to 1001 only, not to 1003 who did not ask
    sent = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in tmp_path.glob("*.eml")]
    # the night rendered the confirmation of the subscription too (batch/s11_render.py)
    [mail] = [m for m in sent if "行事案内" in m["Subject"]]
    assert mail["Subject"] == "【北見市立図書館】行事案内(2026年12月1日(火))"
    assert "2026年12月5日(土) おはなし会(中央図書館)" in mail.get_content()
    assert issue("2026-12-08 10:00") == 0  # announced once


def test_ils_events_add_then_list(runner, db_url):
    runner.invoke(cli.main, ["init", "--profile", "kitami", "--db", db_url])
    base = ["--db", db_url, "--now", "2026-11-27T10:00"]
    result = runner.invoke(cli.main, ["events", "add", "--date", "2026-12-05", "--title", "おはなし会", *base])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli.main, ["events", "add", "--date", "2026-11-01", "--title", "昔の会", *base])
    assert result.exit_code == 1 and "which has passed" in result.stderr
    result = runner.invoke(cli.main, ["events", "list", "--csv", *base])
    assert result.stdout.splitlines()[0] == "id,held_on,title,place,recorded_at"
    assert ",2026-12-05,おはなし会," in result.stdout
