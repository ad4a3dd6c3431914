"""Kitsuki's 「パスワードを忘れた時」 (seed 003): a one-time code mailed to the registered address."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ils.frontend.api import forgot_password, log_in, reset_forgotten_password
from ils.infra import schema
from ils.infra.context import Context
from ils.patrons.passwords import PasswordRejected, reset
from scenario import D, Library, at
from test_mail import mail_run


def ctx_for(lib: Library, now="2026-11-26 10:00") -> Context:
    return Context(conn=lib.conn, policy=lib.policy, now=at(now))


@pytest.fixture
def kitsuki(new_library):
    lib = new_library("kitsuki")
    lib.branch("kitsuki").staff("s1", role="supervisor")
    lib.patron("4001", email="ichiro@example.jp", birth=D(1970, 4, 1))
    reset(ctx_for(lib, "2026-11-01 10:00"), "4001", staff="s1")  # 申込書の受付後、仮パスワードを発行します
    yield lib


def _audit(lib):
    a = schema.staff_audit
    actions = [row.action for row in lib.conn.execute(select(a.c.action).order_by(a.c.id))]
    lib.conn.rollback()
    return actions


def test_a_forgotten_password_is_replaced_with_a_code_mailed_to_the_registered_address(kitsuki, tmp_path):
    """003: 「パスワードを忘れた場合、照会にはお答えできません。「Webサービス」の「パスワードを忘れた時」、
    または「パスワード更新」から再度お手続きください。」「図書館からパスワードをお尋ねすることは絶対にありません。」"""
    lib = kitsuki
    forgot_password(ctx_for(lib, "2026-11-26 09:55"), "4001", " Ichiro@Example.jp ")
    [mail] = mail_run(lib, "2026-11-26 10:00", tmp_path / "out")
    assert mail["Subject"] == "【杵築市立図書館】パスワード再設定のご案内"
    assert mail["To"].addresses[0].addr_spec == "ichiro@example.jp"
    body = mail.get_content()
    assert "2026年11月26日(木) 10:55 までに" in body
    assert "図書館からパスワードをお尋ねすることは絶対にありません。" in body
    assert "http://www.ideastore-kitsuki.com/" in body
    code = re.search(r"確認コード: (\w+)", body).group(1)
    reset_forgotten_password(ctx_for(lib, "2026-11-26 10:05"), "4001", code.lower(), "Kitsuki2026")
    assert log_in(ctx_for(lib, "2026-11-26 10:06"), "4001", "Kitsuki2026").ok
    with pytest.raises(PasswordRejected, match="already used or expired"):
        reset_forgotten_password(ctx_for(lib, "2026-11-26 10:07"), "4001", code, "Another2026")
    assert _audit(lib) == ["password_reset", "password_code_sent", "password_reset_by_code"]
    r = schema.password_resets
    assert code not in str(lib.conn.execute(select(r.c.code_hash)).scalar_one())  # only its hash is kept
    lib.conn.rollback()


def test_a_wrong_address_or_card_gets_no_mail_and_the_same_answer(kitsuki, tmp_path):
    lib = kitsuki
    assert forgot_password(ctx_for(lib), "4001", "someone@example.jp") is None
    assert forgot_password(ctx_for(lib), "9999", "ichiro@example.jp") is None
    assert mail_run(lib, "2026-11-26 10:10", tmp_path / "out") == []
    assert _audit(lib) == ["password_reset"]


def test_a_code_is_good_for_an_hour_and_guessing_locks_the_card(kitsuki, tmp_path):
    lib = kitsuki
    forgot_password(ctx_for(lib, "2026-11-26 10:00"), "4001", "ichiro@example.jp")
    [mail] = mail_run(lib, "2026-11-26 10:00", tmp_path / "out")
    code = re.search(r"確認コード: (\w+)", mail.get_content()).group(1)
    with pytest.raises(PasswordRejected, match="expired"):
        reset_forgotten_password(ctx_for(lib, "2026-11-26 11:01"), "4001", code, "Kitsuki2026")
    forgot_password(ctx_for(lib, "2026-11-26 11:02"), "4001", "ichiro@example.jp")
    for _ in range(4):
        with pytest.raises(PasswordRejected, match="wrong"):
            reset_forgotten_password(ctx_for(lib, "2026-11-26 11:03"), "4001", "AAAAAAAAAA", "Kitsuki2026")
    # the first failure (expired) and these four make five: locked for the profile's 30 minutes
    with pytest.raises(PasswordRejected, match="too many failed attempts"):
        reset_forgotten_password(ctx_for(lib, "2026-11-26 11:04"), "4001", "AAAAAAAAAA", "Kitsuki2026")


def test_libraries_without_the_page_refuse_it(new_library):
    lib = new_library("kitami")
    lib.branch("central").patron("1001", email="taro@example.jp")
    with pytest.raises(PasswordRejected, match="does not offer password self-service"):
        forgot_password(ctx_for(lib), "1001", "taro@example.jp")
