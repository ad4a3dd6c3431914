"""Which holds a patron may cancel from the web (取消申込), library by library; past that, 図書館にご連絡ください."""

from __future__ import annotations

import pytest

from ils.frontend import api as frontend
from ils.infra.context import Context
from scenario import D, at


def _library(new_library, profile):
    lib = new_library(profile)
    lib.branch("chuo").branch("kita").route("chuo", "kita", 1)
    lib.patron("7001")
    lib.title("WAIT").title("PULL").title("VAN").title("SHELF")
    lib.copy("WAIT", "chuo", state="on_loan")
    return lib


def _holds_in_every_status(lib) -> dict[str, int]:
    """One hold of 7001 per active status: waiting, on a pull list, in transit, ready."""
    pull = lib.copy("PULL", "chuo")
    van = lib.copy("VAN", "kita", state="in_transit")
    shelf = lib.copy("SHELF", "chuo", state="on_hold_shelf")
    return {
        "waiting": lib.hold("7001", "WAIT", "chuo"),
        "allocated": lib.hold("7001", "PULL", "chuo", status="allocated", copy=pull),
        "in_transit": lib.hold("7001", "VAN", "chuo", status="in_transit", copy=van),
        "ready": lib.hold("7001", "SHELF", "chuo", status="ready", copy=shelf,
                          ready_on=D(2026, 11, 24), deadline=D(2026, 12, 3)),
    }


def _cancel_all(lib, holds: dict[str, int]) -> dict[str, tuple]:
    requests = {status: lib.request("cancel", "7001", str(hold)) for status, hold in holds.items()}
    lib.night()
    return {status: lib.verdict(rid) for status, rid in requests.items()}


APPLIED, TOO_LATE = ("applied", None), ("rejected", "cancel_too_late")


def test_kitakyushu_refuses_a_cancel_once_the_hold_shows_toriyose_junbichu(new_library):
    # 001: 「予約状態が「予約中です」の場合は、予約の取消・受取館の変更ができます。「取寄・準備中です」
    # 「ご用意できました」の状態になると、ご自身では取消・変更ができなくなりますので、図書館にご連絡ください。」
    lib = _library(new_library, "kitakyushu")
    holds = _holds_in_every_status(lib)
    assert lib.label("7001", "PULL") == "取寄・準備中です"
    verdicts = _cancel_all(lib, holds)
    assert verdicts == {"waiting": APPLIED, "allocated": TOO_LATE, "in_transit": TOO_LATE, "ready": TOO_LATE}
    assert lib.status("7001", "PULL") == "allocated"  # still on the pull list, the copy not freed
    assert ("cancel_refused", {"reason": "cancel_too_late"}) in lib.notices("7001")


def test_mito_cancels_only_what_shows_yoyakuchu(new_library):
    # 002: 「「予約中」と表示されているもののみ取消が可能です。」
    lib = _library(new_library, "mito")
    holds = _holds_in_every_status(lib)
    assert lib.label("7001", "WAIT") == "予約中"
    assert lib.label("7001", "PULL") != "予約中"
    verdicts = _cancel_all(lib, holds)
    assert verdicts == {"waiting": APPLIED, "allocated": TOO_LATE, "in_transit": TOO_LATE, "ready": TOO_LATE}


def test_murakami_cancels_a_hold_in_transit_and_refuses_only_a_ready_one(new_library):
    # 004: 「すでに「利用可能」となっている場合は、「取消」ボタンが表示されません。電話か窓口で取消をお申し込みください。」
    lib = _library(new_library, "murakami")
    holds = _holds_in_every_status(lib)
    assert lib.label("7001", "VAN") == "他館確保"
    verdicts = _cancel_all(lib, holds)
    assert verdicts == {"waiting": APPLIED, "allocated": APPLIED, "in_transit": APPLIED, "ready": TOO_LATE}
    assert lib.status("7001", "VAN") == "cancelled"
    assert lib.status("7001", "SHELF") == "ready"


@pytest.mark.parametrize("profile", ["kitami", "kitsuki"])
def test_kitami_and_kitsuki_cancel_until_the_copy_leaves_its_shelf(new_library, profile):
    # Seeds silent on until when (003: 「資料のインターネット予約・予約取消・延長」): the profiles
    # allow it while the copy is still on its shelf, and refer the patron to the library after.
    lib = _library(new_library, profile)
    holds = _holds_in_every_status(lib)
    verdicts = _cancel_all(lib, holds)
    assert verdicts == {"waiting": APPLIED, "allocated": APPLIED, "in_transit": TOO_LATE, "ready": TOO_LATE}


def test_murakami_shows_torikeshi_moshikomi_for_a_pending_cancel_of_an_allocated_hold(new_library):
    # 004: 「取消申込 図書館で予約取消を受付するまでは、取消申込と表示されます。」
    lib = _library(new_library, "murakami")
    holds = _holds_in_every_status(lib)
    for hold in holds.values():
        lib.request("cancel", "7001", str(hold))
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-25 12:00"))
    shown = {h["bib_id"]: h["status"] for h in frontend.my_holds(ctx, "7001")}
    # every status but 利用可能 may be cancelled from the web, so each shows the request
    assert shown == {"WAIT": "取消申込", "PULL": "取消申込", "VAN": "取消申込", "SHELF": "貸出可能"}
