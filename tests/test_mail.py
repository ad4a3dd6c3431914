"""Patron mail rendered for real scenarios: what each patron reads, when, and who gets none."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from sqlalchemy import select

from ils.infra import schema
from ils.infra.context import Context
from ils.mail.deliver import FileTransport, send_due
from ils.mail.render import render_due
from ils.mail.settings import MailSettings
from scenario import D, Library, at


def mail_run(lib: Library, now: str, directory: Path) -> list[email.message.EmailMessage]:
    """Render and send at `now` into .eml files; returns the messages written this time."""
    before = set(directory.glob("*.eml")) if directory.exists() else set()
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at(now))
    settings = MailSettings(directory=str(directory))
    render_due(ctx, settings)
    send_due(ctx, settings, FileTransport(directory), lambda: at(now))
    new = sorted(set(directory.glob("*.eml")) - before)
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in new]


def deliveries(lib: Library) -> dict[str, list[str]]:
    e = schema.notice_events
    rows = lib.conn.execute(select(e.c.kind, e.c.delivery).order_by(e.c.id)).all()
    lib.conn.rollback()
    found: dict[str, list[str]] = {}
    for kind, delivery in rows:
        found.setdefault(kind, []).append(delivery)
    return found


@pytest.fixture
def kitami(tmp_path, new_library):
    lib = new_library("kitami")
    lib.branch("central").branch("tokoro").route("central", "tokoro", 2)
    lib.patron("1001", email="taro@example.jp")
    lib.patron("1002", email=None, contact="phone")
    lib.patron("1003", email="a..b@example.jp")
    lib.title("B1").title("B2")
    lib.copy("B1", "central", state="on_hold_shelf", barcode="501")
    lib.copy("B2", "central", state="on_hold_shelf", barcode="502")
    yield lib


def _ready_tonight(lib, card, bib, copy, contact="email"):
    """A hold that becomes ready in the night: the copy freed by an expiry on the pickup shelf."""
    lib.patron(f"9{copy}")
    lib.hold(f"9{copy}", bib, "central", status="ready", copy=copy, contact="none",
             ready_on=D(2026, 11, 17), deadline=D(2026, 11, 25))
    lib.hold(card, bib, "central", queued_at="2026-11-02 10:00", contact=contact)


def test_a_ready_notice_names_the_title_the_branch_and_the_deadline(kitami, tmp_path):
    _ready_tonight(kitami, "1001", "B1", "501")
    kitami.night("2026-11-26 03:00")
    assert mail_run(kitami, "2026-11-26 09:59", tmp_path / "out") == []  # the send is at 10:00
    [message] = mail_run(kitami, "2026-11-26 10:00", tmp_path / "out")
    assert message["Subject"] == "【北見市立図書館】予約資料のご用意ができました"
    assert message["To"].addresses[0].addr_spec == "taro@example.jp"
    assert message["From"].addresses[0].addr_spec == "library@city.kitami.lg.jp"
    assert message["Date"] == "Thu, 26 Nov 2026 10:00:00 +0900"
    body = message.get_content()
    assert "本 B1" in body and "受取館: central" in body  # メール連絡には書名が記入されます
    assert "お取り置き期限: 2026年12月3日(木)" in body


def test_phone_and_no_contact_patrons_get_no_mail_and_bad_addresses_are_problems(kitami, tmp_path):
    _ready_tonight(kitami, "1002", "B1", "501", contact="phone")
    _ready_tonight(kitami, "1003", "B2", "502")
    kitami.night("2026-11-26 03:00")
    assert mail_run(kitami, "2026-11-26 10:00", tmp_path / "out") == []
    found = deliveries(kitami)
    assert found["hold_ready"] == ["phone", "problem"]  # the phone list; the contact-problem list
    assert found["hold_expired"] == ["none", "none"]  # the expired holds' patrons asked for no contact


def test_one_mail_per_item_and_none_twice(kitami, tmp_path):
    kitami.title("B3")
    copy = kitami.copy("B3", "central")
    kitami.loan(copy, "1001", due_on=D(2026, 11, 30))
    kitami.request("renew", "1001", copy)
    kitami.request("hold", "1001", "NOPE", pickup="central")
    kitami.night("2026-11-26 03:00")
    first = mail_run(kitami, "2026-11-26 10:00", tmp_path / "out")
    assert sorted(m["Subject"] for m in first) == [
        "【北見市立図書館】ご予約をお受けできませんでした", "【北見市立図書館】貸出延長のお知らせ"]
    rejected = next(m for m in first if "お受けできません" in m["Subject"]).get_content()
    assert "理由: 資料が見つかりません" in rejected
    assert mail_run(kitami, "2026-11-26 15:00", tmp_path / "out") == []


def test_no_mail_on_a_closed_monday(kitami, tmp_path):
    kitami.title("B3")
    copy = kitami.copy("B3", "central")
    kitami.loan(copy, "1001", due_on=D(2026, 12, 10))
    kitami.request("renew", "1001", copy, received="2026-11-29 20:00")
    kitami.night("2026-11-30 03:00")  # Monday: closed
    assert mail_run(kitami, "2026-11-30 10:00", tmp_path / "out") == []
    [message] = mail_run(kitami, "2026-12-01 10:00", tmp_path / "out")
    assert "2026年12月12日(土)" in message.get_content()  # 11-29 is day 1 of 14


def test_mito_sends_one_digest_on_the_next_open_day(tmp_path, new_library):
    lib = new_library("mito")
    lib.branch("chuo").patron("3001", email="hanako@example.jp")
    lib.title("B1").title("B2")
    lib.copy("B1", "chuo", state="on_loan")
    lib.request("hold", "3001", "B1", pickup="chuo")
    lib.request("hold", "3001", "NOPE", pickup="chuo")
    copy = lib.copy("B2", "chuo")
    lib.loan(copy, "3001", due_on=D(2026, 11, 30))
    lib.request("renew", "3001", copy)
    lib.night("2026-11-26 03:00")
    out = tmp_path / "out"
    assert mail_run(lib, "2026-11-26 10:00", out) == []  # 用意できた次の開館日
    [digest] = mail_run(lib, "2026-11-27 09:00", out)
    assert digest["Subject"] == "【水戸市立図書館】予約・貸出のお知らせ"
    body = digest.get_content()
    assert "お受けできませんでした" in body and "貸出期間を延長しました" in body
    assert "2026年12月9日(水)" in body  # 手続きした日から15日目


def test_kitsuki_confirms_receipt_at_once_and_acceptance_after_the_batch(tmp_path, new_library):
    lib = new_library("kitsuki")
    lib.branch("kitsuki").patron("4001", email="ichiro@example.jp")
    lib.title("B1")
    lib.copy("B1", "kitsuki", state="on_loan")
    lib.raw_request(kind="hold", card_number="4001", target="B1", pickup_branch="kitsuki", channel="web",
                    received_at="2026-11-25T21:00:00+09:00", receipt_mail="yes")
    out = tmp_path / "out"
    [receipt] = mail_run(lib, "2026-11-25 23:05", out)
    assert receipt["Subject"] == "【杵築市立図書館】仮予約受付のお知らせ"
    assert "まだ予約は確定しておりません" in receipt.get_content()
    lib.night("2026-11-26 03:00")
    [confirmed] = mail_run(lib, "2026-11-26 10:00", out)
    assert confirmed["Subject"] == "【杵築市立図書館】予約確定のお知らせ"  # 予約確定メール


def test_murakami_confirms_a_new_address_the_next_morning(tmp_path, new_library):
    lib = new_library("murakami")
    lib.branch("chuo").patron("5001", email="old@example.jp")
    lib.request("email_change", "5001", "new@example.jp", received="2026-11-25 20:00")
    lib.night("2026-11-26 03:00")
    out = tmp_path / "out"
    assert mail_run(lib, "2026-11-26 09:59", out) == []
    # 004: 「翌日の午前中に、図書館から「登録完了メール」が送信されます」 — registered on the 25th
    # at 20:00, applied at 03:00 on the 26th, confirmed that morning: the day after, not two.
    [done] = mail_run(lib, "2026-11-26 10:00", out)
    assert done["To"].addresses[0].addr_spec == "new@example.jp"
    assert done["Subject"] == "【村上市立図書館】メールアドレス変更完了のお知らせ"


def test_murakamis_confirmation_of_a_change_made_after_midnight_waits_for_the_next_day(tmp_path, new_library):
    lib = new_library("murakami")
    lib.branch("chuo").patron("5001", email=None, contact="phone")
    lib.request("email_change", "5001", "new@example.jp", received="2026-11-26 00:30")
    lib.night("2026-11-26 03:00")
    out = tmp_path / "out"
    assert mail_run(lib, "2026-11-26 10:00", out) == []
    [done] = mail_run(lib, "2026-11-27 10:00", out)  # 翌日の午前中
    assert done["Subject"] == "【村上市立図書館】メールアドレス登録完了のお知らせ"


def test_english_patrons_read_english(kitami, tmp_path):
    with kitami.conn.begin():
        kitami.conn.execute(schema.patrons.update().where(schema.patrons.c.card_number == "1001").values(language="en"))
    _ready_tonight(kitami, "1001", "B1", "501")
    kitami.night("2026-11-26 03:00")
    [message] = mail_run(kitami, "2026-11-26 10:00", tmp_path / "out")
    assert message["Subject"] == "[Kitami City Library] Your hold is ready for pickup"
    assert "Please collect it by: Thu 3 December 2026" in message.get_content()


def test_iso_2022_jp_for_old_phones_and_no_header_injection(tmp_path, new_library):
    lib = new_library("kitami", overrides={"notices": {"charset": "iso-2022-jp"}})
    lib.branch("central").patron("1001", email="taro@example.jp")
    with lib.conn.begin():
        lib.conn.execute(schema.patrons.update().values(name="北見 太郎\r\nBcc: everyone@example.com"))
    lib.title("B1")
    lib.request("hold", "1001", "NOPE", pickup="central")
    lib.night("2026-11-26 03:00")
    [message] = mail_run(lib, "2026-11-26 10:00", tmp_path / "out")
    assert message.get_content_charset() == "iso-2022-jp"
    assert message["Content-Transfer-Encoding"] == "7bit"
    assert message["Subject"] == "【北見市立図書館】ご予約をお受けできませんでした"
    assert message["Bcc"] is None and len(message["To"].addresses) == 1
    raw = next((tmp_path / "out").glob("*.eml")).read_bytes()
    assert raw.isascii()


def test_kitamis_newsletter_lists_last_weeks_arrivals_in_the_chosen_subjects_once_a_week(kitami, tmp_path):
    from ils.mail.newsletter import queue_newsletter

    with kitami.conn.begin():
        kitami.conn.execute(schema.newsletter_subscriptions.insert(),
                            [{"patron_id": kitami.ids[("patron", "1001")], "ndc_class": "9"}])
    kitami.title("NOVEL", catalogued_on=D(2026, 11, 20))
    kitami.title("SCIENCE", catalogued_on=D(2026, 11, 20))
    kitami.title("OLD", catalogued_on=D(2026, 11, 10))
    with kitami.conn.begin():
        t = schema.titles
        for bib, ndc in (("NOVEL", "913.6"), ("SCIENCE", "440"), ("OLD", "913.6")):
            kitami.conn.execute(t.update().where(t.c.bib_id == bib).values(ndc=ndc))
    settings = MailSettings(directory=str(tmp_path / "out"))
    def issue(now):
        return queue_newsletter(Context(conn=kitami.conn, policy=kitami.policy, now=at(now)), settings)

    assert issue("2026-11-23 12:00") == 1  # the issue of Tuesday 11-17: OLD
    assert issue("2026-11-23 12:10") == 0  # once a week
    assert issue("2026-11-24 09:59") == 0  # this week's comes at 10:00 (毎週火曜日の10時)
    assert issue("2026-11-24 10:00") == 1
    messages = mail_run(kitami, "2026-11-24 10:00", tmp_path / "out")
    newsletters = sorted((m for m in messages if "新着図書案内" in m["Subject"]), key=lambda m: m["Subject"])
    assert [m["Subject"] for m in newsletters] == [
        "【北見市立図書館】新着図書案内(2026年11月17日(火))", "【北見市立図書館】新着図書案内(2026年11月24日(火))"]
    body = newsletters[1].get_content()
    assert "【文学】" in body and "本 NOVEL" in body
    assert "SCIENCE" not in body and "OLD" not in body  # not a chosen subject; not last week's


@pytest.mark.parametrize("attribute", ["name", "phone", "absent", "items", "get", "__class__", "__len__"])
def test_a_template_reads_a_dict_as_jinja_reads_it(attribute):
    """compose's Environment finds a dict's key without failing to find an attribute first, and
    finds what jinja finds: the key, a dict's method before a key of the same name, else undefined."""
    import jinja2

    from ils.mail import compose

    env = compose.environment()
    library = {"name": "北見市立図書館", "phone": None, "items": "a key", "get": "a key"}
    expected = jinja2.Environment.getattr(env, library, attribute)
    found = env.getattr(library, attribute)
    if isinstance(expected, jinja2.Undefined):
        assert type(found) is type(expected) and found._undefined_name == expected._undefined_name
    else:
        assert found == expected and type(found) is type(expected)
    assert env.from_string("{{ library.name }}{{ library.phone }}").render(library=library) == "北見市立図書館None"
