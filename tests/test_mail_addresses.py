"""Which addresses a library registers, and what registering one does (Kitsuki's free-mail rule, seed 003)."""

from __future__ import annotations

import pytest

from ils.email import address_problem, domain_list
from ils.errors import PolicyError
from ils.policy import load_policy


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
