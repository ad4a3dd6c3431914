"""A title's queue as staff see it: every active hold in the order it will be served, cards masked unless a supervisor asks."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from ils import cli
from ils.infra import schema
from lines import unstamped
from scenario import D


@pytest.fixture
def murakami(new_library):
    """Murakami: counter holds of a day go before that day's web requests (窓口での貸出・予約が優先)."""
    lib = new_library("murakami")
    lib.branch("chuo").branch("arakawa").branch("BM/吉浦", kind="station", parent="chuo")
    for card in ("50000001", "50000002", "50000003", "50000004", "50000005"):
        lib.patron(card)
    lib.staff("c01").staff("sv01", role="supervisor")
    lib.title("B1").title("B2")
    return lib


def ils(runner, lib, *args):
    return runner.invoke(cli.main, [*args, "--db", lib.url, "--now", "2026-11-26T10:00"])


def ok(result):
    assert result.exit_code == 0, result.output
    return result.stdout


def _suspend(lib, hold_id, until):
    """A hold suspended until a date, as the suspend command leaves it (that command is not this test's)."""
    with lib.conn.begin():
        lib.conn.execute(schema.holds.update().where(schema.holds.c.id == hold_id).values(suspended_until=until))


def test_the_queue_in_the_order_it_is_served_with_the_librarys_labels(runner, murakami):
    lib = murakami
    copy = lib.copy("B1", "chuo", state="on_hold_shelf")
    lib.hold("50000001", "B1", "chuo", queued_at="2026-11-20 11:00", status="ready", copy=copy,
             ready_on=D(2026, 11, 25), deadline=D(2026, 12, 2))
    web = lib.hold("50000002", "B1", "arakawa", queued_at="2026-11-24 09:00", channel="web")
    desk = lib.hold("50000003", "B1", "BM/吉浦", queued_at="2026-11-24 15:00", channel="counter")
    lib.hold("50000004", "B1", "chuo", queued_at="2026-11-25 08:00", channel="web", status="suspended")
    lib.hold("50000005", "B1", "chuo", queued_at="2026-11-10 10:00", status="cancelled")  # closed: not in the queue
    lib.hold("50000005", "B2", "chuo")  # another title
    _suspend(lib, lib.holds_of("50000004")["B1"]["id"], D(2026, 12, 20))
    queue = json.loads(ok(ils(runner, lib, "title", "holds", "B1", "--json")))
    assert [(q["rank"], q["card"], q["status"], q["pickup"], q["channel"]) for q in queue] == [
        (1, "****0001", "貸出可能", "chuo", "counter"),
        (2, "****0003", "確保待ち", "BM/吉浦", "counter"),  # the day's counter hold before the day's web request
        (3, "****0002", "確保待ち", "arakawa", "web"),
        (4, "****0004", "一時停止中", "chuo", "web"),
    ]
    assert [q["hold"] for q in queue][1:3] == [desk, web]
    assert queue[3]["suspended_until"] == "2026-12-20"
    assert queue[0]["pickup_deadline"] == "2026-12-02"
    assert queue[2]["placed"] == "2026-11-24T09:00:00+09:00"  # Asia/Tokyo, as the patron sent it


def test_the_status_is_the_profiles_own_word(runner, murakami):
    lib = murakami
    lib.hold("50000001", "B1", "chuo")
    [row] = json.loads(ok(ils(runner, lib, "title", "holds", "B1", "--json")))
    assert row["status"] == lib.label("50000001", "B1")


def test_full_cards_are_for_a_supervisor_and_are_audited(runner, murakami):
    lib = murakami
    lib.hold("50000001", "B1", "chuo")
    refused = ils(runner, lib, "title", "holds", "B1", "--show-cards", "--staff", "c01")
    assert refused.exit_code == 1
    assert unstamped(refused.stderr).splitlines() == ["Error: staff 'c01' (counter) may not show_cards: it needs supervisor"]
    no_staff = ils(runner, lib, "title", "holds", "B1", "--show-cards")
    assert unstamped(no_staff.stderr).splitlines() == [
        "Error: --show-cards needs --staff: a supervisor's account, written to the audit log"]
    [row] = json.loads(ok(ils(runner, lib, "title", "holds", "B1", "--show-cards", "--staff", "sv01", "--json")))
    assert row["card"] == "50000001"
    a = schema.staff_audit
    entries = lib.conn.execute(select(a.c.staff_id, a.c.action, a.c.target)).all()
    lib.conn.rollback()
    assert [tuple(e) for e in entries] == [("sv01", "show_cards", "B1")]


def test_csv_and_table_like_the_other_read_commands(runner, murakami):
    lib = murakami
    lib.hold("50000001", "B1", "chuo")
    [row] = list(csv.DictReader(io.StringIO(ok(ils(runner, lib, "title", "holds", "B1", "--csv")))))
    assert (row["rank"], row["card"], row["suspended_until"]) == ("1", "****0001", "")
    table = ok(ils(runner, lib, "title", "holds", "B1"))
    assert "****0001" in table and "50000001" not in table
    empty = list(csv.reader(io.StringIO(ok(ils(runner, lib, "title", "holds", "B2", "--csv")))))
    assert empty == [["rank", "hold", "card", "status", "pickup", "placed", "channel", "suspended_until",
                      "pickup_deadline"]]


def test_an_unknown_title_is_one_line(runner, murakami):
    result = ils(runner, murakami, "title", "holds", "B9")
    assert result.exit_code == 1 and unstamped(result.stderr).splitlines() == ["Error: no title with bib id 'B9'"]
