"""Every notice says where the library is and whom to call: name, home page, mobile site, branch phone."""

from __future__ import annotations

import pytest

from ils.infra.resources import templates_path
from ils.mail import compose
from scenario import D
from test_mail import mail_run


@pytest.fixture
def kitakyushu(new_library):
    lib = new_library("kitakyushu")
    lib.branch("chuo", phone="093-000-0001").branch("yahata")
    lib.patron("2001", email="hanako@example.jp")
    yield lib


def test_kitakyushus_refusal_names_the_pickup_branch_and_its_phone_and_the_home_page(kitakyushu, tmp_path):
    """001: 「予約連絡のメールには、図書館ホームページや携帯サイトのURLを記載しています。」
    「ご自身では取消・変更ができなくなりますので、図書館にご連絡ください。」"""
    lib = kitakyushu
    lib.title("B2")
    copy = lib.copy("B2", "chuo", state="on_hold_shelf")
    lib.hold("2001", "B2", "chuo", status="ready", copy=copy, ready_on=D(2026, 11, 24), deadline=D(2026, 12, 3))
    lib.request("cancel", "2001", "bib:B2")
    lib.night("2026-11-26 03:00")
    [refused] = mail_run(lib, "2026-11-26 10:00", tmp_path / "out")
    body = refused.get_content()
    assert "お問い合わせ先: chuo(電話 093-000-0001)" in body
    assert "ホームページ: https://www.toshokan.city.kitakyushu.jp/" in body
    assert body.rstrip().splitlines()[-2] == "北九州市立図書館"


def test_a_refused_hold_request_names_the_branch_it_asked_for(kitakyushu, tmp_path):
    kitakyushu.request("hold", "2001", "NOPE", pickup="chuo")
    kitakyushu.night("2026-11-26 03:00")
    [refused] = mail_run(kitakyushu, "2026-11-26 10:00", tmp_path / "out")
    assert "お問い合わせ先: chuo(電話 093-000-0001)" in refused.get_content()


def test_kitamis_ready_notice_carries_both_urls_and_the_library_phone_for_a_branch_without_one(new_library, tmp_path):
    """000: 「▲パソコン <http://lib.city.kitami.lg.jp/>」「▲携帯電話 <http://lib.city.kitami.lg.jp/wo/mbp/>」"""
    lib = new_library("kitami")
    lib.branch("central").patron("1001", email="taro@example.jp").patron("9501")
    lib.title("B1")
    copy = lib.copy("B1", "central", state="on_hold_shelf", barcode="501")
    lib.hold("9501", "B1", "central", status="ready", copy=copy, contact="none",
             ready_on=D(2026, 11, 17), deadline=D(2026, 11, 25))
    lib.hold("1001", "B1", "central", queued_at="2026-11-02 10:00")
    lib.night("2026-11-26 03:00")
    [ready] = mail_run(lib, "2026-11-26 10:00", tmp_path / "out")
    body = ready.get_content()
    assert "受取館: central(電話 0157-23-2074)" in body
    assert "ホームページ: http://lib.city.kitami.lg.jp/" in body
    assert "携帯サイト: http://lib.city.kitami.lg.jp/wo/mbp/" in body
    assert "電話: 0157-23-2074" in body


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_notice_template_goes_out_with_the_librarys_footer(language):
    library = {"name": "北九州市立図書館", "name_en": "Kitakyushu City Library", "phone": "093-000-0000",
               "web_url": "https://www.example.jp/", "mobile_url": "https://www.example.jp/m/"}
    variables = {"title": "本", "pickup": "chuo", "pickup_deadline": D(2026, 12, 3), "due_on": D(2026, 12, 3),
                 "reason": "r", "reason_code": "cancel_too_late", "address": "a@example.jp",
                 "request_kind": "hold", "branch": "chuo", "branch_phone": "093-000-0001", "changed": False,
                 "code": "ABCD234567", "expires_on": D(2026, 12, 3), "expires_time": "11:00",
                 "contact_method": "email", "suspended_until": D(2026, 12, 3), "not_needed_after": D(2026, 12, 3)}
    kinds = sorted(p.name.removesuffix(".txt.j2") for p in (templates_path() / language / "notices").glob("*.txt.j2"))
    assert "hold_ready" in kinds
    for kind in kinds:
        _, item = compose.notice_item(kind, language, variables)
        body = compose.mail_body(language, {"library": library, "patron": {"name": "利用者"},
                                            "items": [{"text": item}], "digest": False})
        footer = body[body.rindex("--\n"):]
        assert "https://www.example.jp/" in footer and "https://www.example.jp/m/" in footer, kind
        assert "093-000-0000" in footer, kind
