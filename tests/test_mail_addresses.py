"""Which addresses a library registers, and what registering one does (Kitsuki's free-mail rule, seed 003)."""

from __future__ import annotations

import pytest

from ils.errors import PolicyError
from ils.library.policy import load_policy
from ils.patrons.addresses import address_problem, domain_list


@pytest.fixture
def kitsuki(new_library):
    lib = new_library("kitsuki")
    lib.branch("kitsuki").branch("yamaga").branch("ota")
    for card in ("4001", "4002", "4003", "4004", "4005", "4006"):
        lib.patron(card, email=None, contact="none")
    yield lib


def test_kitsuki_refuses_the_common_free_mail_domains_and_takes_a_carrier_or_provider_address(kitsuki):
    """003: 「Hotmail、yahooメールなど、フリーメールアドレスでの登録はご遠慮ください。」"""
    lib = kitsuki
    asked = {"4001": "taro@gmail.com", "4002": "hanako@outlook.jp", "4003": "jiro@live.jp",
             "4004": "saburo@icloud.com"}
    free = {card: lib.request("email_change", card, address) for card, address in asked.items()}
    phone = lib.request("email_change", "4005", "shiro@docomo.ne.jp")
    provider = lib.request("email_change", "4006", "goro@nifty.com")
    lib.night()
    for request in free.values():
        assert lib.verdict(request) == ("rejected", "email_domain_blocked")
    assert lib.verdict(phone) == ("applied", None)
    assert lib.verdict(provider) == ("applied", None)


@pytest.mark.parametrize("domain", ["gmail.com", "googlemail.com", "outlook.jp", "outlook.com", "live.jp",
                                    "hotmail.co.jp", "yahoo.co.jp", "ymail.ne.jp", "icloud.com", "me.com",
                                    "aol.com", "excite.co.jp", "goo.jp", "infoseek.jp", "GMail.com"])
def test_the_free_mail_list_is_a_data_file_kitsuki_reads(domain):
    policy = load_policy("kitsuki")
    assert policy.email.blocked_domain_lists == ("free_mail_domains.txt",)
    assert domain.lower() in domain_list("free_mail_domains.txt")
    assert address_problem(f"someone@{domain}", policy) == "email_domain_blocked"
    assert address_problem(f"someone@{domain}", load_policy("kitami")) is None  # only Kitsuki refuses


def test_a_profile_naming_a_list_that_is_not_there_does_not_load(tmp_path):
    profile = tmp_path / "mine.toml"
    profile.write_text('extends = "kitsuki"\n[email]\nblocked_domain_lists = ["no_such_list.txt"]\n')
    with pytest.raises(PolicyError, match="no_such_list.txt"):
        load_policy(str(profile))


def _contact(lib, card):
    from sqlalchemy import select

    from ils.infra import schema

    p = schema.patrons
    method = lib.conn.execute(select(p.c.contact_method).where(p.c.card_number == card)).scalar_one()
    lib.conn.rollback()
    return method


def test_a_kitsuki_address_makes_mail_the_contact_and_its_confirmation_says_change(kitsuki, tmp_path):
    """003: 「登録したメールアドレスに「メールアドレス変更完了のお知らせ」というメールが届いたら
    登録完了です。なお、登録完了後、図書館からの連絡方法はメールになります。」"""
    from test_mail import mail_run

    lib = kitsuki
    lib.patron("4010", email=None, contact="phone")
    lib.request("email_change", "4010", "kitsuki.hanako@example.jp", received="2026-11-25 20:00")
    lib.night("2026-11-26 03:00")
    assert _contact(lib, "4010") == "email"
    [confirmation] = mail_run(lib, "2026-11-26 10:00", tmp_path / "out")
    assert confirmation["Subject"] == "【杵築市立図書館】メールアドレス変更完了のお知らせ"
    assert confirmation["To"].addresses[0].addr_spec == "kitsuki.hanako@example.jp"


def test_murakami_keeps_the_chosen_contact_and_names_a_first_address_registered_and_a_new_one_changed(
        new_library, tmp_path):
    """004: 「翌日の午前中に、図書館から「登録完了メール」が送信されます」; 「予約連絡方法は、電話、
    メール、自主確認から選んでください。」 — the method stays the patron's choice."""
    from test_mail import mail_run

    lib = new_library("murakami")
    lib.branch("chuo").patron("5001", email=None, contact="phone").patron("5002", email="old@example.jp")
    lib.request("email_change", "5001", "first@example.jp", received="2026-11-25 20:00")
    lib.request("email_change", "5002", "new@example.jp", received="2026-11-25 20:00")
    lib.night("2026-11-26 03:00")
    assert _contact(lib, "5001") == "phone"
    mails = mail_run(lib, "2026-11-26 10:00", tmp_path / "out")
    subjects = {m["To"].addresses[0].addr_spec: m["Subject"] for m in mails}
    assert subjects == {"first@example.jp": "【村上市立図書館】メールアドレス登録完了のお知らせ",
                        "new@example.jp": "【村上市立図書館】メールアドレス変更完了のお知らせ"}
