"""Kitsuki (seed 003): holds only on checked-out books, junior high and over, email only, no free mail."""

from __future__ import annotations

import pytest

from scenario import D


@pytest.fixture
def kitsuki(tmp_path, new_library):
    lib = new_library("kitsuki")
    lib.branch("kitsuki").branch("yamaga").branch("ota")
    lib.patron("4001").patron("4002", email=None, contact="phone")
    yield lib


def test_web_holds_are_taken_only_on_checked_out_titles(kitsuki):
    kitsuki.title("SHELF").title("OUT").title("PULLED")
    kitsuki.copy("SHELF", "kitsuki")
    kitsuki.copy("OUT", "kitsuki", state="on_loan")
    pulled = kitsuki.copy("PULLED", "yamaga")
    kitsuki.patron("4009")
    kitsuki.hold("4009", "PULLED", "yamaga", status="allocated", copy=pulled)
    shelf = kitsuki.request("hold", "4001", "SHELF", pickup="kitsuki")
    out = kitsuki.request("hold", "4001", "OUT", pickup="kitsuki")
    taken = kitsuki.request("hold", "4001", "PULLED", pickup="kitsuki")
    kitsuki.night()
    assert kitsuki.verdict(shelf) == ("rejected", "on_shelf")  # 貸出中の資料にのみかけられます
    assert kitsuki.verdict(out) == ("accepted", None)
    assert kitsuki.verdict(taken) == ("accepted", None)  # its only shelf copy is already someone's


def test_web_service_starts_at_junior_high(kitsuki):
    kitsuki.title("B1")
    kitsuki.copy("B1", "kitsuki", state="on_loan")
    # Born 2014-04-02: 小学6年 until March 2027. Born 2014-04-01: 中学1年 since April 2026.
    kitsuki.patron("4010", birth=D(2014, 4, 2)).patron("4011", birth=D(2014, 4, 1))
    young = kitsuki.request("hold", "4010", "B1", pickup="kitsuki")
    old_enough = kitsuki.request("hold", "4011", "B1", pickup="kitsuki")
    kitsuki.night()
    assert kitsuki.verdict(young) == ("rejected", "not_eligible")  # 中学生以上
    assert kitsuki.verdict(old_enough) == ("accepted", None)


def test_contact_is_by_email_only(kitsuki):
    kitsuki.title("B1")
    kitsuki.copy("B1", "kitsuki", state="on_loan")
    no_email = kitsuki.request("hold", "4002", "B1", pickup="kitsuki")
    by_phone = kitsuki.request("hold", "4001", "B1", pickup="kitsuki", contact="phone")
    kitsuki.night()
    assert kitsuki.verdict(no_email) == ("rejected", "contact_unavailable")  # 「メール」しか選択できません
    assert kitsuki.verdict(by_phone) == ("rejected", "contact_not_offered")


def test_magazines_and_av_are_not_for_the_web(kitsuki):
    kitsuki.title("MAG", material_type="magazine").title("DVD", material_type="av")
    kitsuki.copy("MAG", "kitsuki", state="on_loan")
    kitsuki.copy("DVD", "kitsuki", state="on_loan")
    mag = kitsuki.request("hold", "4001", "MAG", pickup="kitsuki")
    dvd = kitsuki.request("hold", "4001", "DVD", pickup="kitsuki")
    kitsuki.night()
    assert kitsuki.verdict(mag) == ("rejected", "counter_only")
    assert kitsuki.verdict(dvd) == ("rejected", "counter_only")


def test_an_overdue_patron_can_neither_hold_nor_renew(kitsuki):
    kitsuki.title("B1").title("B2").title("B3")
    late = kitsuki.copy("B1", "kitsuki")
    fine = kitsuki.copy("B2", "kitsuki")
    kitsuki.copy("B3", "kitsuki", state="on_loan")
    kitsuki.loan(late, "4001", due_on=D(2026, 11, 10))
    kitsuki.loan(fine, "4001", due_on=D(2026, 12, 10))
    hold = kitsuki.request("hold", "4001", "B3", pickup="kitsuki")
    renew = kitsuki.request("renew", "4001", fine)
    kitsuki.night()
    assert kitsuki.verdict(hold) == ("rejected", "overdue")
    assert kitsuki.verdict(renew) == ("rejected", "patron_overdue")  # 延滞の資料がない場合…のみ


def test_free_mail_addresses_are_not_registered(kitsuki):
    free = kitsuki.request("email_change", "4001", "someone@yahoo.co.jp")
    ok = kitsuki.request("email_change", "4002", "kitsuki.taro@example.jp", received="2026-11-25 11:00")
    kitsuki.night()
    assert kitsuki.verdict(free) == ("rejected", "email_domain_blocked")
    assert kitsuki.verdict(ok) == ("applied", None)
    [(kind, details)] = kitsuki.notices("4002")
    assert (kind, details["address"]) == ("email_changed", "kitsuki.taro@example.jp")
