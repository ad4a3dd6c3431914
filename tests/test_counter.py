"""The counter as staff type it: each command, its answers, and its refusals."""

from __future__ import annotations

import json

import pytest

from ils import cli
from ils.errors import IlsError
from ils.holds.counter import place_holds
from ils.infra.context import open_context
from scenario import D, at


@pytest.fixture
def lib(tmp_path, new_library):
    lib = new_library("mito")
    lib.branch("chuo").branch("tobu").route("chuo", "tobu", 1)
    lib.patron("3001").patron("3002").patron("3003")
    lib.staff("s042", role="supervisor")  # some tests here override a rule
    lib.title("B1").title("B2").title("KADAI", category="contest")
    yield lib


def ils(runner, lib, *args, now="2026-11-26T10:00"):
    """Run `ils` as counter staff at 中央 (chuo) would; returns the result."""
    return runner.invoke(cli.main, [*args, "--db", lib.url, "--now", now],
                         env={"ILS_STAFF": "s042", "ILS_BRANCH": "chuo"})


def rows(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_checkout_and_checkin_with_their_refusals(runner, lib):
    copy = lib.copy("B1", "chuo", barcode="111")
    [lent] = rows(ils(runner, lib, "checkout", "--card", "3001", "--barcode", copy, "--json"))
    assert (lent["action"], lent["due_on"]) == ("checked_out", "2026-12-10")
    again = ils(runner, lib, "checkout", "--card", "3002", "--barcode", copy)
    assert again.exit_code == 1 and "Error: copy 111 is on_loan; check it in first" in again.stderr
    wrong_card = ils(runner, lib, "checkout", "--card", "9999", "--barcode", copy)
    assert wrong_card.exit_code == 1 and "Error: no patron with card '9999'" in wrong_card.stderr
    wrong_barcode = ils(runner, lib, "checkin", "--barcode", "nope")
    assert wrong_barcode.exit_code == 1 and "Error: no copy with barcode 'nope'" in wrong_barcode.stderr
    [back] = rows(ils(runner, lib, "checkin", "--barcode", copy, "--json"))
    assert back["action"] == "reshelve"


def test_a_returned_copy_is_caught_for_the_first_waiting_hold(runner, lib):
    copy = lib.copy("B1", "tobu", barcode="222")
    lib.loan(copy, "3003", due_on=D(2026, 11, 30))
    lib.hold("3001", "B1", "tobu", queued_at="2026-11-01 10:00")
    lib.hold("3002", "B1", "chuo", queued_at="2026-11-02 10:00")
    [caught] = rows(ils(runner, lib, "checkin", "--barcode", copy, "--json"))
    # returned at 中央 but the first hold's pickup is 東部: into the van, with a slip line
    assert caught["action"] == "in_transit"
    assert caught["slip"].startswith("tobu 行き / 予約")
    received = ils(runner, lib, "transit", "receive", "--barcode", copy)
    assert received.exit_code == 1 and "travels to tobu" in received.stderr
    [ready] = rows(runner.invoke(cli.main, ["transit", "receive", "--barcode", copy, "--db", lib.url,
                                            "--now", "2026-11-26T14:00", "--branch", "tobu", "--json"],
                                 env={"ILS_STAFF": "s042"}))
    assert ready["action"] == "hold_shelf"
    # Mito: the digest goes the next open day (Friday 11-27); a week from the day after
    assert ready["pickup_deadline"] == "2026-12-04"
    assert lib.status("3001", "B1") == "ready"


def test_counter_holds_take_counter_only_material_and_refuse_with_the_rule(runner, lib):
    lib.copy("KADAI", "chuo", state="on_loan")
    lib.copy("B2", "chuo", state="on_loan")
    [placed] = rows(ils(runner, lib, "hold", "place", "--card", "3001", "--title", "KADAI", "--pickup", "chuo", "--json"))
    assert placed["status"] == "予約中"  # 課題: 図書館受付カウンターのみ予約可能
    twice = ils(runner, lib, "hold", "place", "--card", "3001", "--title", "KADAI", "--pickup", "chuo")
    assert twice.exit_code == 1
    assert "Error: KADAI: the patron already holds this title (staff may override it with --override already_held" in twice.stderr
    unknown = ils(runner, lib, "hold", "place", "--card", "3001", "--title", "NOPE", "--pickup", "chuo")
    assert unknown.exit_code == 1 and "NOPE: no title has this id" in unknown.stderr


def test_an_override_needs_a_reason_and_is_audited(runner, lib):
    for n in range(15):
        lib.title(f"T{n}")
        lib.copy(f"T{n}", "chuo", state="on_loan")
        lib.hold("3001", f"T{n}", "chuo")
    lib.copy("B2", "chuo", state="on_loan")
    refused = ils(runner, lib, "hold", "place", "--card", "3001", "--title", "B2", "--pickup", "chuo")
    assert "the patron has reached the hold limit" in refused.stderr
    no_reason = ils(runner, lib, "hold", "place", "--card", "3001", "--title", "B2", "--pickup", "chuo",
                    "--override", "limit_reached")
    assert no_reason.exit_code == 1 and "an override needs --reason" in no_reason.stderr
    never = ils(runner, lib, "hold", "place", "--card", "3001", "--title", "B2", "--pickup", "chuo",
                "--override", "unknown_card", "--reason", "x")
    # Not a choice of --override: a usage error naming the keys there are, as for --contact.
    assert never.exit_code == 2 and "'unknown_card' is not one of 'not_holdable'," in never.stderr
    with open_context(lib.url, None, at("2026-11-26 10:00")) as ctx:  # a caller other than the CLI
        with pytest.raises(IlsError, match="cannot override unknown_card; overridable: already_held"):
            place_holds(ctx, "3001", ["B2"], "chuo", staff="s042", overrides=frozenset({"unknown_card"}),
                        override_reason="x")
    [placed] = rows(ils(runner, lib, "hold", "place", "--card", "3001", "--title", "B2", "--pickup", "chuo",
                        "--override", "limit_reached", "--reason", "interlibrary research project", "--json"))
    assert placed["overridden"] == "limit_reached"
    [entry] = rows(ils(runner, lib, "audit", "--card", "3001", "--json"))
    assert (entry["staff_id"], entry["action"], entry["target"], entry["reason"]) == (
        "s042", "hold_override", "B2", "interlibrary research project")
    assert entry["at"] == "2026-11-26T10:00:00+09:00"


def test_a_series_placed_at_the_counter_waits_volume_by_volume(runner, tmp_path, new_library):
    lib = new_library("murakami")
    lib.branch("chuo").patron("5001").staff("s042")
    lib.title("V1", series="S", volume=1).title("V2", series="S", volume=2)
    lib.copy("V1", "chuo", state="on_loan")
    lib.copy("V2", "chuo")
    placed = rows(ils(runner, lib, "hold", "place", "--card", "5001", "--title", "V1", "--title", "V2",
                      "--pickup", "chuo", "--series", "--json"))
    assert [p["status"] for p in placed] == ["確保待ち", "準備中"]


def test_patron_views(runner, lib):
    copy = lib.copy("B1", "chuo")
    lib.loan(copy, "3001", due_on=D(2026, 11, 20))
    lib.copy("B2", "chuo", state="on_loan")
    lib.hold("3002", "B2", "chuo", queued_at="2026-11-01 10:00")
    lib.hold("3001", "B2", "chuo", queued_at="2026-11-02 10:00")
    lib.request("hold", "3001", "KADAI", pickup="chuo")
    [loan] = rows(ils(runner, lib, "patron", "loans", "3001", "--json"))
    assert (loan["barcode"], loan["overdue"]) == (copy, True)
    holds = rows(ils(runner, lib, "patron", "holds", "3001", "--json"))
    assert [(h["bib_id"], h["status"], h["rank"]) for h in holds] == [("KADAI", "仮予約", None), ("B2", "予約中", 2)]
    details = {r["field"]: r["value"] for r in rows(ils(runner, lib, "patron", "show", "3001", "--json"))}
    assert details["email_state"] == "ok" and details["password"] == "none"
    missing = ils(runner, lib, "patron", "show", "0000")
    assert missing.exit_code == 1 and "no patron with card '0000'" in missing.stderr


def test_renewal_at_the_counter(runner, lib):
    copy = lib.copy("B1", "chuo")
    lib.loan(copy, "3001", due_on=D(2026, 11, 30))
    [renewed] = rows(ils(runner, lib, "renew", "--barcode", copy, "--json"))
    assert (renewed["due_on"], renewed["renewals"]) == ("2026-12-10", 1)  # 手続きした日から15日目
    again = ils(runner, lib, "renew", "--barcode", copy)
    assert again.exit_code == 1 and "renewed as often as allowed" in again.stderr


def test_reshelving_a_copy_left_by_an_expired_hold(runner, lib):
    copy = lib.copy("B1", "tobu", state="on_hold_shelf")
    refused = ils(runner, lib, "reshelve", "--barcode", lib.copy("B2", "chuo"))
    assert refused.exit_code == 1 and "not a free copy on the hold shelf" in refused.stderr
    [moved] = rows(ils(runner, lib, "reshelve", "--barcode", copy, "--json"))
    assert moved["action"] == "return_home" and moved["slip"].startswith("tobu 行き / 返却")


def test_a_missing_pull_list_copy_queues_its_hold_again(runner, lib):
    copy = lib.copy("B1", "chuo")
    lib.hold("3001", "B1", "chuo", status="allocated", copy=copy)
    [gone] = rows(ils(runner, lib, "pull", "missing", "--barcode", copy, "--json"))
    assert gone["action"] == "missing"
    assert lib.status("3001", "B1") == "waiting"
    not_listed = ils(runner, lib, "pull", "confirm", "--barcode", copy)
    assert not_listed.exit_code == 1 and "is not on a pull list" in not_listed.stderr


def test_a_staff_cancellation_frees_a_ready_copy(runner, lib):
    copy = lib.copy("B1", "chuo", state="on_hold_shelf")
    hold = lib.hold("3001", "B1", "chuo", status="ready", copy=copy, ready_on=D(2026, 11, 25), deadline=D(2026, 12, 2))
    [done] = rows(ils(runner, lib, "hold", "cancel", str(hold), "--reason", "patron phoned", "--json"))
    assert (done["was"], done["now"]) == ("ready", "cancelled")
    again = ils(runner, lib, "hold", "cancel", str(hold))
    assert again.exit_code == 1 and f"hold {hold} is already cancelled" in again.stderr
    [entry] = rows(ils(runner, lib, "audit", "--json"))
    assert entry["action"] == "hold_cancel"


def test_counter_commands_need_a_staff_id(runner, lib):
    result = runner.invoke(cli.main, ["checkin", "--barcode", "x", "--branch", "chuo", "--db", lib.url], env={})
    assert result.exit_code == 2 and "--staff" in result.stderr
