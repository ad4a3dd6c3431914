"""Web enrolment as each library does it, eligibility for every web request, and the My Page's read-only questions."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from ils import cli
from ils.frontend import api as frontend
from ils.infra import schema
from ils.infra.context import Context
from ils.patrons.enrolment import NotEligible, enrol
from lines import unstamped
from scenario import D, at


def _ctx(lib, now="2026-11-25 10:00"):
    return Context(conn=lib.conn, policy=lib.policy, now=at(now))


def _registered(lib, card) -> bool:
    p = schema.patrons
    value = lib.conn.execute(select(p.c.web_registered).where(p.c.card_number == card)).scalar_one()
    lib.conn.rollback()
    return bool(value)


def _journal(lib):
    j = schema.change_journal
    rows = lib.conn.execute(select(j.c.kind, j.c.field, j.c.old_value, j.c.new_value, j.c.actor).order_by(j.c.id)).all()
    lib.conn.rollback()
    return [tuple(r) for r in rows]


def _library(new_library, profile):
    lib = new_library(profile)
    lib.branch("chuo").title("B1").title("B2")
    lib.staff("s01").staff("s02").staff("s03")
    lib.copy("B1", "chuo", state="on_loan")
    lib.copy("B2", "chuo", state="on_loan")
    return lib


def test_an_enrolled_patrons_first_web_hold_is_accepted_and_an_unenrolled_ones_is_rejected(new_library, runner):
    mito = _library(new_library, "mito")
    mito.patron("2001", web=False).patron("2002", web=False)
    result = runner.invoke(cli.main, ["patron", "enrol", "--card", "2001", "--staff", "s01", "--reason", "申込書 17",
                                      "--db", mito.url, "--now", "2026-11-25T10:00", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"card": "2001", "web_registered": True,
                                          "password": "the birth-date initial value"}]
    enrolled = mito.request("hold", "2001", "B1", pickup="chuo", received="2026-11-25 10:00")
    not_enrolled = mito.request("hold", "2002", "B1", pickup="chuo", received="2026-11-25 10:00")
    mito.night()
    assert mito.verdict(enrolled) == ("accepted", None)
    assert mito.verdict(not_enrolled) == ("rejected", "not_eligible")
    assert ("request_rejected", {"reason": "not_eligible"}) in mito.notices("2002")
    assert frontend.log_in(_ctx(mito), "2001", "0505").ok  # Mito's initial value: the birth month and day
    assert _journal(mito)[:2] == [("password", "password_state", "none", "temporary", "s01"),
                                  ("enrolment", "web_registered", "no", "yes", "s01")]
    audit = runner.invoke(cli.main, ["audit", "--card", "2001", "--db", mito.url, "--json"])
    assert [(a["action"], a["staff_id"], a["reason"]) for a in json.loads(audit.stdout)] == [
        ("web_enrol", "s01", "申込書 17")]


def test_murakamis_first_log_in_that_changes_the_temporary_password_enrols_the_patron(new_library):
    murakami = _library(new_library, "murakami")
    murakami.patron("5001", web=False)
    ctx = _ctx(murakami)
    assert frontend.can_hold(ctx, "5001", "B1", "chuo")["reason"] == "not_eligible"
    login = frontend.log_in(ctx, "5001", "19800505")
    assert login.ok and login.must_change
    frontend.new_password(ctx, "5001", "19800505", "2468")
    assert _registered(murakami, "5001")
    assert frontend.can_hold(ctx, "5001", "B1", "chuo") == {"bib_id": "B1", "ok": True, "reason": None,
                                                            "reason_text": None}
    murakami.conn.rollback()  # the check only read
    rid = murakami.request("hold", "5001", "B1", pickup="chuo", received="2026-11-25 21:00")
    murakami.night()
    assert murakami.verdict(rid) == ("accepted", None)
    assert [k for k, *_ in _journal(murakami)] == ["password", "enrolment", "hold_placed"]
    assert ("enrolment", "web_registered", "no", "yes", "web") in _journal(murakami)


def test_kitakyushus_password_application_with_birth_date_and_phone_enrols_the_patron(new_library):
    kitakyushu = _library(new_library, "kitakyushu")
    kitakyushu.patron("1001", web=False, phone="093-000-0000")
    frontend.password_by_birth_date_and_phone(_ctx(kitakyushu), "1001", D(1980, 5, 5), "0930000000", "abc123")
    assert _registered(kitakyushu, "1001")


def test_kitamis_password_registration_enrols_and_staff_enrolment_leaves_the_password_to_the_patron(new_library):
    kitami = _library(new_library, "kitami")
    kitami.patron("3001", web=False).patron("3002", web=False)
    frontend.register_password(_ctx(kitami), "3001", "pass1234")
    assert _registered(kitami, "3001")
    done = enrol(_ctx(kitami), "3002", staff="s02")
    assert (done.password, done.shown_once) == ("none: the patron registers a password on the web", None)
    assert _registered(kitami, "3002")


def test_kitsuki_issues_a_temporary_password_once_and_enrols_no_one_below_junior_high(new_library, runner):
    kitsuki = _library(new_library, "kitsuki")
    kitsuki.patron("4001", web=False).patron("4002", web=False, birth=D(2015, 6, 1))
    done = enrol(_ctx(kitsuki), "4001", staff="s03")
    assert done.password == "a temporary password, shown once"
    assert frontend.log_in(_ctx(kitsuki), "4001", done.shown_once).ok
    result = runner.invoke(cli.main, ["patron", "enrol", "--card", "4002", "--staff", "s03", "--db", kitsuki.url,
                                      "--now", "2026-11-25T10:00"])
    assert result.exit_code == 1
    assert unstamped(result.stderr).strip() == ("Error: card 4002 cannot be enrolled for the web service: the web service is "
                                     "for pupils from school grade 7 (中学生以上) on, by the birth date on record")
    assert not _registered(kitsuki, "4002")
    with pytest.raises(NotEligible):
        enrol(_ctx(kitsuki), "4002", staff="s03")


def test_every_web_request_kind_needs_the_web_service_not_only_holds(new_library):
    kitsuki = _library(new_library, "kitsuki")
    kitsuki.patron("4001", web=False).patron("4002", web=True, birth=D(2015, 6, 1))
    kitsuki.copy("B1", "chuo", barcode="C9")
    loan = kitsuki.loan("C9", "4001", due_on=D(2026, 11, 30))
    hold = kitsuki.hold("4002", "B2", "chuo")
    renew = kitsuki.request("renew", "4001", "C9", received="2026-11-25 21:00")
    email = kitsuki.request("email_change", "4001", "new@example.jp", received="2026-11-25 21:00")
    cancel = kitsuki.request("cancel", "4002", str(hold), received="2026-11-25 21:00")  # a 小学5年 pupil
    paper = kitsuki.request("email_change", "4002", "form@example.jp", channel="paper", received="2026-11-25 21:00")
    kitsuki.night()
    assert [kitsuki.verdict(r) for r in (renew, email, cancel)] == [("rejected", "not_eligible")] * 3
    assert kitsuki.verdict(paper) == ("applied", None)  # staff keyed a paper form: they checked the card
    assert kitsuki.loan_due(loan) == (D(2026, 11, 30), 0)
    assert kitsuki.status("4002", "B2") == "waiting"


def test_the_newer_request_kinds_follow_the_same_rule_and_a_paper_form_is_not_checked(new_library):
    kitakyushu = _library(new_library, "kitakyushu")
    kitakyushu.branch("east")
    kitakyushu.patron("5001", web=False, contact="email")
    hold = kitakyushu.hold("5001", "B2", "chuo")
    web_contact = kitakyushu.request("contact_change", "5001", "phone", received="2026-11-25 21:00")
    web_pickup = kitakyushu.request("pickup_change", "5001", str(hold), pickup="east", received="2026-11-25 21:00")
    paper_contact = kitakyushu.request("contact_change", "5001", "phone", channel="paper",
                                       received="2026-11-25 21:05")
    kitakyushu.night()
    assert [kitakyushu.verdict(r) for r in (web_contact, web_pickup)] == [("rejected", "not_eligible")] * 2
    assert kitakyushu.verdict(paper_contact) == ("applied", None)  # staff keyed the form: they checked the card


def test_my_loans_offers_renewal_only_where_the_night_would_apply_it_and_writes_nothing(new_library):
    kitami = _library(new_library, "kitami")
    kitami.patron("3001").patron("3002")
    kitami.title("B3")
    for bib, barcode in (("B1", "L1"), ("B2", "L2"), ("B3", "L3")):
        kitami.copy(bib, "chuo", barcode=barcode)
    kitami.loan("L1", "3001", due_on=D(2026, 11, 30))
    kitami.loan("L2", "3001", due_on=D(2026, 12, 1), renewals=1)
    kitami.loan("L3", "3001", due_on=D(2026, 12, 2))
    kitami.hold("3002", "B3", "chuo")
    ctx = _ctx(kitami)
    tables = (schema.pending_requests, schema.change_journal, schema.loans, schema.staff_audit)
    before = [kitami.conn.execute(select(func.count()).select_from(t)).scalar() for t in tables]
    loans = frontend.my_loans(ctx, "3001")
    assert [(row["barcode"], row["title"], row["due_on"], row["renewable"], row["why_not"]) for row in loans] == [
        ("L1", "本 B1", D(2026, 11, 30), True, None),
        ("L2", "本 B2", D(2026, 12, 1), False, "renewed_already"),
        ("L3", "本 B3", D(2026, 12, 2), False, "held_by_others"),
    ]
    assert loans[0]["due_if_renewed"] == D(2026, 12, 8)  # Kitami: 14 days counting the renewal day
    assert loans[1]["why_not_text"] == "既に延長済みです(延長は1回までです)"
    kitami.conn.rollback()
    assert [kitami.conn.execute(select(func.count()).select_from(t)).scalar() for t in tables] == before
    kitami.conn.rollback()
    kitami.request("renew", "3001", "L1", received="2026-11-25 10:05")
    assert frontend.my_loans(ctx, "3001")[0]["why_not"] == "renew_pending"


def test_can_i_hold_this_gives_the_nights_reason_without_writing(new_library):
    kitami = _library(new_library, "kitami")
    kitami.patron("3001").patron("3002", web=False)
    kitami.title("REF", category="reference_only")
    kitami.copy("REF", "chuo")
    ctx = _ctx(kitami)
    assert frontend.can_hold(ctx, "3001", "B1", "chuo")["ok"] is True
    assert frontend.can_hold(ctx, "3001", "REF", "chuo")["reason"] == "not_holdable"
    refused = frontend.can_hold(ctx, "3002", "B1", "chuo")
    assert (refused["ok"], refused["reason"], refused["reason_text"]) == (
        False, "not_eligible", "インターネットサービスのご利用対象外です")
    assert frontend.can_hold(ctx, "9999", "B1", "chuo")["reason"] == "unknown_card"
    assert kitami.conn.execute(select(func.count()).select_from(schema.holds)).scalar() == 0
    kitami.conn.rollback()


def test_mito_enrols_at_the_counter_only_so_a_password_changed_on_the_web_does_not_enrol(new_library):
    mito = _library(new_library, "mito")
    mito.patron("2003", web=False)
    ctx = _ctx(mito)
    assert frontend.log_in(ctx, "2003", "0505").ok
    frontend.new_password(ctx, "2003", "0505", "1234")
    assert not _registered(mito, "2003")
    assert frontend.can_hold(ctx, "2003", "B1", "chuo")["reason"] == "not_eligible"
