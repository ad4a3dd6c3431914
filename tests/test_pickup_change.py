"""Changing a hold's pickup branch from the web (受取館の変更, seed 001), judged by the night like a cancel."""

from __future__ import annotations

from sqlalchemy import create_engine, select

from ils import cli
from ils.frontend import api as frontend
from ils.infra import schema
from ils.infra.context import Context
from scenario import D, at

# 001: 「予約状態が「予約中です」の場合は、予約の取消・受取館の変更ができます。予約状態が「取寄・準備中です」
# 「ご用意できました」の状態になると、ご自身では取消・変更ができなくなりますので、図書館にご連絡ください。」


def _kitakyushu(new_library):
    lib = new_library("kitakyushu")
    lib.branch("chuo").branch("yahata").branch("closed", pickup_allowed=False)
    lib.route("chuo", "yahata", 1)
    lib.patron("2001").patron("2002")
    lib.title("B1").title("B2").title("B3")
    lib.copy("B1", "chuo", state="on_loan")
    return lib


def _pickup_of(lib, hold_id) -> str:
    h, b = schema.holds, schema.branches
    code = lib.conn.execute(select(b.c.code).join(h, h.c.pickup_branch_id == b.c.id).where(h.c.id == hold_id)).scalar_one()
    lib.conn.rollback()
    return code


def test_a_kitakyushu_patron_moves_the_pickup_while_the_hold_shows_yoyakuchu(new_library):
    lib = _kitakyushu(new_library)
    waiting = lib.hold("2001", "B1", "chuo")
    assert lib.label("2001", "B1") == "予約中です"
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-25 10:00"))
    change = frontend.submit_request(ctx, {"kind": "pickup_change", "card_number": "2001", "target": str(waiting),
                                           "pickup_branch": "yahata", "channel": "web",
                                           "received_at": "2026-11-25T10:00:00+09:00"})
    lib.night()
    assert lib.verdict(change) == ("applied", None)
    assert _pickup_of(lib, waiting) == "yahata"
    assert lib.status("2001", "B1") == "waiting"
    assert ("pickup_changed", {"pickup_branch": "yahata"}) in lib.notices("2001")


def test_past_yoyakuchu_the_change_is_refused_and_the_patron_told_to_contact_the_library(new_library):
    lib = _kitakyushu(new_library)
    pull = lib.copy("B2", "chuo")
    shelf = lib.copy("B3", "chuo", state="on_hold_shelf")
    allocated = lib.hold("2001", "B2", "chuo", status="allocated", copy=pull)
    lib.hold("2001", "B3", "chuo", status="ready", copy=shelf, ready_on=D(2026, 11, 24), deadline=D(2026, 12, 3))
    late = lib.request("pickup_change", "2001", str(allocated), pickup="yahata")
    ready = lib.request("pickup_change", "2001", "bib:B3", pickup="yahata")
    lib.night()
    assert lib.verdict(late) == ("rejected", "pickup_change_too_late")
    assert lib.verdict(ready) == ("rejected", "pickup_change_too_late")
    assert _pickup_of(lib, allocated) == "chuo"
    assert ("pickup_change_refused", {"reason": "pickup_change_too_late"}) in lib.notices("2001")


def test_a_change_to_a_branch_a_hold_could_not_name_or_of_someone_elses_hold_is_refused(new_library):
    lib = _kitakyushu(new_library)
    waiting = lib.hold("2001", "B1", "chuo")
    nowhere = lib.request("pickup_change", "2001", str(waiting), pickup="nowhere")
    closed = lib.request("pickup_change", "2001", str(waiting), pickup="closed")
    not_mine = lib.request("pickup_change", "2002", str(waiting), pickup="yahata")
    lib.night()
    assert lib.verdict(nowhere) == ("rejected", "unknown_pickup")
    assert lib.verdict(closed) == ("rejected", "pickup_not_offered")
    assert lib.verdict(not_mine) == ("rejected", "unknown_hold")
    assert _pickup_of(lib, waiting) == "chuo"


def test_a_patron_not_registered_for_the_web_cannot_change_the_pickup(new_library):
    # 001: 「「図書館カード(利用者番号)」と「パスワード」が必要です。」
    lib = _kitakyushu(new_library)
    lib.patron("2009", web=False)
    hold = lib.hold("2009", "B1", "chuo")
    change = lib.request("pickup_change", "2009", str(hold), pickup="yahata")
    lib.night()
    assert lib.verdict(change) == ("rejected", "not_eligible")


def test_a_library_whose_seed_offers_no_pickup_change_refuses_it(new_library):
    lib = new_library("murakami")
    lib.branch("chuo").branch("arakawa")
    lib.patron("5001")
    lib.title("B1")
    lib.copy("B1", "chuo", state="on_loan")
    hold = lib.hold("5001", "B1", "chuo")
    change = lib.request("pickup_change", "5001", str(hold), pickup="arakawa")
    lib.night()
    assert lib.verdict(change) == ("rejected", "pickup_change_not_offered")


def test_ils_request_pickup_writes_a_pickup_change_row(runner, db_url):
    runner.invoke(cli.main, ["init", "--profile", "kitakyushu", "--db", db_url])
    result = runner.invoke(cli.main, ["request", "pickup", "--card", "2001", "--hold", "17", "--pickup", "yahata",
                                      "--db", db_url, "--now", "2026-11-25T10:00"])
    assert result.exit_code == 0, result.output
    engine = create_engine(db_url)
    with engine.connect() as conn:
        row = conn.execute(select(schema.pending_requests)).one()
    engine.dispose()
    assert (row.kind, row.card_number, row.target, row.pickup_branch) == ("pickup_change", "2001", "17", "yahata")
