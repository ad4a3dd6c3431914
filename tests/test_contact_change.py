"""Changing the contact method from the web (連絡方法の変更, seed 002), where the library offers a choice."""

from __future__ import annotations

import email
import email.policy

import pytest
from sqlalchemy import create_engine, select

from ils import cli
from ils.infra import schema
from ils.infra.context import Context
from ils.mail.deliver import FileTransport, send_due
from ils.mail.render import render_due
from ils.mail.settings import MailSettings
from scenario import at


def _contact_of(lib, card) -> str:
    p = schema.patrons
    method = lib.conn.execute(select(p.c.contact_method).where(p.c.card_number == card)).scalar_one()
    lib.conn.rollback()
    return method


@pytest.fixture
def mito(new_library):
    lib = new_library("mito")
    lib.branch("chuo")
    return lib


def test_a_mito_patron_registers_an_address_and_switches_to_email_the_same_night(mito, tmp_path):
    # 002: 「その後、水戸市立図書館ホームページより、予約連絡アドレスの入力と連絡方法の変更をお願いします。」
    lib = mito
    lib.patron("3001", email=None, contact="none")
    address = lib.request("email_change", "3001", "hanako@example.jp", received="2026-11-25 10:00")
    change = lib.request("contact_change", "3001", "email", received="2026-11-25 10:01")
    lib.night()
    assert lib.verdict(address) == ("applied", None)
    assert lib.verdict(change) == ("applied", None)
    assert _contact_of(lib, "3001") == "email"
    assert ("contact_changed", {"contact_method": "email"}) in lib.notices("3001")
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-27 09:00"))
    settings = MailSettings(directory=str(tmp_path))
    render_due(ctx, settings)
    send_due(ctx, settings, FileTransport(tmp_path), lambda: at("2026-11-27 09:00"))
    bodies = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default).get_content()
              for p in tmp_path.glob("*.eml")]
    assert any("連絡方法: メール" in body for body in bodies)


def test_a_method_not_offered_or_not_reachable_is_refused(mito):
    lib = mito
    lib.patron("3001", email=None, contact="none")
    phone = lib.request("contact_change", "3001", "phone")  # Mito: email, or self-check
    no_address = lib.request("contact_change", "3001", "email")
    lib.night()
    assert lib.verdict(phone) == ("rejected", "contact_not_offered")
    assert lib.verdict(no_address) == ("rejected", "contact_unavailable")
    assert _contact_of(lib, "3001") == "none"
    assert ("contact_change_refused", {"reason": "contact_unavailable"}) in lib.notices("3001")


def test_kitsuki_offers_email_only_so_the_method_cannot_be_changed(new_library):
    # 003: 「連絡方法・・・「メール」しか選択できません。」
    lib = new_library("kitsuki")
    lib.branch("chuo").patron("4001")
    change = lib.request("contact_change", "4001", "none")
    lib.night()
    assert lib.verdict(change) == ("rejected", "contact_change_not_offered")
    assert _contact_of(lib, "4001") == "email"


def test_murakami_switches_to_phone_for_a_patron_with_a_number(new_library):
    # 004: 「予約連絡方法は、電話、メール、自主確認から選んでください。電話およびメール連絡は、登録してある場合のみ表示されます。」
    lib = new_library("murakami")
    lib.branch("chuo").patron("5001", contact="email")
    change = lib.request("contact_change", "5001", "phone")
    lib.night()
    assert lib.verdict(change) == ("applied", None)
    assert _contact_of(lib, "5001") == "phone"


def test_ils_request_contact_writes_a_contact_change_row(runner, db_url):
    runner.invoke(cli.main, ["init", "--profile", "mito", "--db", db_url])
    result = runner.invoke(cli.main, ["request", "contact", "--card", "3001", "--method", "none",
                                      "--db", db_url, "--now", "2026-11-25T10:00"])
    assert result.exit_code == 0, result.output
    engine = create_engine(db_url)
    with engine.connect() as conn:
        row = conn.execute(select(schema.pending_requests)).one()
    engine.dispose()
    assert (row.kind, row.card_number, row.target) == ("contact_change", "3001", "none")
