"""Which addresses a library registers, and what registering one does (Kitsuki's free-mail rule, seed 003)."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def _validator_verdict(address: str, policy) -> str | None:
    """address_problem as it was, with email_validator asked about every address."""
    from email_validator import EmailNotValidError, validate_email

    if not address or len(address) > 254 or "@" not in address:
        return "email_invalid"
    local, _, domain = address.rpartition("@")
    if ".." in local or local.endswith("."):
        return "email_undeliverable"
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return "email_invalid"
    return "email_domain_blocked" if domain.lower().rstrip(".") in domain_list("free_mail_domains.txt") else None


ODD_DOMAINS = [
    "example.jp", "docomo.ne.jp", "EZweb.NE.jp", "gmail.com", "localhost", "example", "test", "invalid",
    "a.invalid", "local", "x.local", "example.com.", "a..b.jp", ".a.jp", "-a.jp", "a-.jp", "a.jp-", "1.2.3.4",
    "a.123", "xn--wgv71a119e.jp", "xn--zz.jp", "xn--a.jp", "a_b.jp", "[127.0.0.1]", "[IPv6:::1]", "例え.jp",
    "ｅｘａｍｐｌｅ.jp", "a" * 63 + ".jp", "a" * 64 + ".jp", ".".join(["a" * 60] * 4) + ".jp", "a.b",
    "xn--4ca" + "a" * 39 + ".jp",  # ä × 40: 49 characters as given, 83 octets normalized
    "onion", "x.onion", "arpa", "b.arpa", "",
]
ODD_LOCALS = [
    "taro", "taro.yamada", "a", "a+b", "x" * 64, "x" * 65, "x" * 200, "\"quoted\"", "\"a b\"", "a b", "a<b", "<a",
    "a>", "(c)a", "太郎", "tar\u00f6", "o\u0308", "a\u0338", "a\\b", "_", "~!#$%&'*+/=?^`{|}", "-", "a\n", "a\t",
    "noreply", "Postmaster", "ａｂｃ", "\u200b", "a@b",
]


@cache
def _policy(profile: str):
    """A profile read once: the grid and the 3,000 examples below check addresses, not the profile's
    reading (≈8 ms a time on a busy machine, more than the check itself); address_problem only reads it."""
    return load_policy(profile)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(local=st.one_of(st.sampled_from(ODD_LOCALS), st.text(st.sampled_from("ab.-_+@\" <>()[]\\é太\u0338\u200b"),
                                                             max_size=12), st.text(max_size=10)),
       domain=st.one_of(st.sampled_from(ODD_DOMAINS), st.text(st.sampled_from("ab1.-_[]:xn é例ＡＢ"), max_size=14),
                        st.text(max_size=8)),
       repeat=st.integers(1, 40))
def test_an_address_gets_email_validators_verdict_whichever_way_it_is_checked(local, domain, repeat):
    """address_problem asks email_validator about a domain once (a night checks thousands of
    addresses at a few domains): the verdicts stay exactly email_validator's, odd addresses and
    lengths near the limit included."""
    policy = _policy("kitsuki")
    address = f"{local * repeat if len(local) < 8 else local}@{domain}"
    assert address_problem(address, policy) == _validator_verdict(address, policy)


@pytest.mark.parametrize("local", ODD_LOCALS)
@pytest.mark.parametrize("domain", ODD_DOMAINS)
def test_odd_addresses_get_email_validators_verdict(local, domain):
    policy = _policy("kitsuki")
    address = f"{local}@{domain}"
    assert address_problem(address, policy) == _validator_verdict(address, policy)


@pytest.mark.parametrize("domain", ["example.jp", "xn--4ca" + "a" * 39 + ".jp", "xn--wgv71a119e.jp",
                                    ".".join(["a" * 60] * 4)[:250]])
def test_addresses_near_the_length_limit_get_email_validators_verdict(domain):
    policy = _policy("kitami")
    verdicts = set()
    for length in range(1, 256 - len(domain)):
        address = f"{'x' * length}@{domain}"
        verdict = address_problem(address, policy)
        assert verdict == _validator_verdict(address, policy), address
        verdicts.add(verdict)
    assert len(verdicts) == 2 or len(domain) > 240  # both sides of the limit were checked
