"""ご用意の目安: a waiting hold's expected wait, from its place in the queue, the title's copies and their history."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math

import pytest
from sqlalchemy import select

from ils import cli
from ils.frontend import api
from ils.holds.wait import Copy, Pace, Queued, ready_in, title_waits, wait_label, wait_words
from ils.infra import schema
from ils.infra.context import Context
from scenario import D, at

NOW = "2026-11-26 12:00"
TODAY = D(2026, 11, 26)
FORTNIGHT = Pace(loan_days=14, pickup_days=3, no_show=0, shelf_days=8, catch_days=1, leave=0)


def test_the_wait_is_said_as_a_patron_can_use_it():
    assert [wait_words(d) for d in (0.2, 3, 10, 12, 21, 56, 60, 90, 365, 400, None)] == [
        "約1日", "約3日", "約10日", "約2週間", "約3週間", "約8週間", "約2か月", "約3か月", "約12か月", "1年以上", "未定"]
    assert wait_label(21) == "ご用意の目安: 約3週間"
    assert wait_label(None) == "ご用意の目安: 未定"
    assert wait_label(21, "en") == "Expected to be ready in: about 3 weeks"


def test_two_copies_out_on_loan_serve_the_first_two_holds_and_the_third_waits_for_a_copy_to_come_round():
    copies = [Copy("on_loan", loaned_on=TODAY - dt.timedelta(days=10)), Copy("on_loan", loaned_on=TODAY - dt.timedelta(days=5))]
    queue = [Queued(i, "waiting") for i in (1, 2, 3)]
    waits = ready_in(queue, copies, FORTNIGHT, TODAY)
    assert waits[1] == 4 + 1  # back in four days, a day to the hold shelf
    assert waits[2] == 9 + 1
    assert waits[3] == 4 + 1 + 3 + 14 + 1  # the first copy again: collected, lent a fortnight, returned


def test_a_suspended_hold_is_gone_round_and_a_series_hold_waits_for_its_volume():
    copies = [Copy("on_shelf")]
    queue = [Queued(1, "suspended"), Queued(2, "series_waiting"), Queued(3, "waiting")]
    waits = ready_in(queue, copies, FORTNIGHT, TODAY)
    assert waits[1] is None and waits[2] is None  # no estimate: 一時停止中, 準備中
    assert waits[3] == 0 + 1 + 3 + 14 + 1  # on the shelf tonight for the series hold; this one waits its round


def test_holds_ahead_that_may_leave_the_queue_shorten_the_wait():
    copies = [Copy("on_loan", loaned_on=TODAY)]
    queue = [Queued(i, "waiting") for i in range(1, 11)]
    staying = ready_in(queue, copies, FORTNIGHT, TODAY)[10]
    leaving = ready_in(queue, copies, Pace(**{**FORTNIGHT.__dict__, "leave": 0.02}), TODAY)[10]
    assert leaving < staying


def test_a_title_with_no_copy_that_can_be_lent_has_no_basis():
    assert ready_in([Queued(1, "waiting")], [], FORTNIGHT, TODAY) == {1: None}


@pytest.fixture
def library(new_library):
    """Kitami: a bestseller with two copies out on loan and five patrons waiting; a title whose only copy is missing."""
    lib = new_library("kitami")
    lib.branch("central")
    for card in ("1001", "1002", "1003", "1004", "1005", "1006"):
        lib.patron(card)
    lib.title("BEST").title("LOST")
    for n, loaned in enumerate((D(2026, 11, 16), D(2026, 11, 21))):
        lib.loan(lib.copy("BEST", "central", barcode=f"B{n}"), "1006", due_on=loaned + dt.timedelta(days=14),
                 loaned_on=loaned)
    lib.copy("LOST", "central", state="missing")
    for n, card in enumerate(("1001", "1002", "1003", "1004", "1005")):
        lib.hold(card, "BEST", "central", queued_at=f"2026-11-0{n + 1} 10:00")
    lib.hold("1001", "LOST", "central")
    return lib


def test_the_patrons_hold_list_says_when_each_waiting_hold_should_be_ready(library, runner):
    result = runner.invoke(cli.main, ["patron", "holds", "1003", "--json", "--db", library.url, "--now", NOW])
    assert result.exit_code == 0, result.output
    [hold] = json.loads(result.stdout)
    assert hold["rank"] == 3
    # Kitami lends for 14 days and renews none while others wait: the first copy back on 11-30
    # serves the first hold, the second the second; the third waits for the first to come round.
    assert hold["expected_wait"] == "ご用意の目安: 約3週間" and 18 <= hold["expected_wait_days"] <= 24
    first = runner.invoke(cli.main, ["patron", "holds", "1002", "--db", library.url, "--now", NOW]).stdout
    assert "ご用意の目安: 約10日" in first  # the second copy, lent on 11-21, is due on 12-05


def test_the_front_end_shows_the_wait_and_says_unknown_where_no_copy_can_be_lent(library):
    ctx = Context(conn=library.conn, policy=library.policy, now=at(NOW))
    holds = {h["bib_id"]: h for h in api.my_holds(ctx, "1001")}
    assert holds["BEST"]["expected_wait"] == "ご用意の目安: 約5日" and holds["BEST"]["expected_wait_days"] == 5
    assert holds["LOST"]["expected_wait"] == "ご用意の目安: 未定" and holds["LOST"]["expected_wait_days"] is None


def test_a_ready_hold_has_no_expected_wait(library):
    ready = library.copy("LOST", "central", state="on_hold_shelf")
    library.hold("1002", "LOST", "central", status="ready", copy=ready, ready_on=TODAY, deadline=TODAY + dt.timedelta(days=7))
    ctx = Context(conn=library.conn, policy=library.policy, now=at(NOW))
    shown = {h["bib_id"]: h for h in api.my_holds(ctx, "1002")}
    assert shown["LOST"]["status"] == "貸出可能" and shown["LOST"]["expected_wait"] is None


def _history(lib, bib, loan_days: int, times: int):
    """Past holds on `bib`, each collected two days after it was ready and its loan returned after `loan_days`."""
    h, lo = schema.holds, schema.loans
    for n in range(times):
        ready = D(2026, 10, 1) + dt.timedelta(days=n)
        copy = lib.copy(bib, "central", state="on_shelf")
        hold = lib.hold("1006", bib, "central", status="fulfilled", copy=copy, ready_on=ready, queued_at="2026-09-20 10:00")
        collected = at(f"{ready + dt.timedelta(days=2)} 10:00")
        returned = at(f"{ready + dt.timedelta(days=2 + loan_days)} 10:00")
        with lib.conn.begin():
            lib.conn.execute(h.update().where(h.c.id == hold).values(closed_at=collected, close_reason="picked_up"))
            lib.conn.execute(schema.hold_history.insert().values(hold_id=hold, at=at(f"{ready} 09:00"),
                                                                 from_status="waiting", to_status="ready"))
            lib.conn.execute(lo.insert().values(copy_id=lib.ids[("copy", copy)], patron_id=lib.ids[("patron", "1006")],
                                                loaned_on=ready + dt.timedelta(days=2),
                                                due_on=ready + dt.timedelta(days=16), returned_at=returned))


def test_a_title_whose_loans_ran_long_is_expected_to_keep_them_long_and_one_with_little_history_follows_the_library(library):
    library.title("SLOW").title("NEW")
    _history(library, "SLOW", loan_days=25, times=12)
    t = schema.titles
    ids = {bib: title_id for bib, title_id in library.conn.execute(select(t.c.bib_id, t.c.id))}
    waits = title_waits(library.conn, library.policy, at(NOW), [ids["SLOW"], ids["NEW"], ids["BEST"]])
    assert waits[ids["SLOW"]].pace.loan_days > 21  # twelve loans of 25 days outweigh the library's prior
    assert waits[ids["NEW"]].pace.loan_days == waits[ids["BEST"]].pace.loan_days  # no history: the library's figure
    assert 14 < waits[ids["NEW"]].pace.loan_days < 25  # the library's: its history drawn towards the profile's 14
    assert waits[ids["SLOW"]].pace.pickup_days == pytest.approx(2.0, abs=0.6)


def test_holds_that_were_already_on_the_shelf_when_imported_say_nothing_of_how_patrons_collect(library):
    """The ILS's backlog of ready holds expires on the first night: no hold of ours was left uncollected."""
    shelf = library.copy("LOST", "central", state="on_hold_shelf")
    old = library.hold("1002", "LOST", "central", status="expired", copy=shelf, ready_on=D(2026, 11, 10),
                       deadline=D(2026, 11, 17))
    with library.conn.begin():  # imported as ready, expired by the night: no history of becoming ready here
        library.conn.execute(schema.holds.update().where(schema.holds.c.id == old)
                             .values(closed_at=at("2026-11-26 03:00"), close_reason="pickup_deadline"))
    t = schema.titles
    lost = library.conn.execute(select(t.c.id).where(t.c.bib_id == "LOST")).scalar_one()
    pace = title_waits(library.conn, library.policy, at(NOW), [lost])[lost].pace
    assert pace.no_show == pytest.approx(0.05)  # the profile's, not 100 %


def test_the_estimate_beats_rank_times_the_loan_period_on_a_simulated_month(db_url):
    """A small version of tools/wait_accuracy.py: the sample city lives 25 days; the waits of day 8 are judged."""
    from ils.tools.wait_accuracy import simulate

    found = simulate(db_url, days=25, snapshots=[8], seed=1)
    holds, median, p90 = found.figures("estimate")
    _, naive_median, naive_p90 = found.figures("rank × loan period")
    assert holds > 20 and math.isfinite(median) and math.isfinite(p90)
    assert median < naive_median and p90 < naive_p90


@pytest.mark.staff_language("ja")  # the report as a Japanese library prints it (約3週間, 未定)
def test_the_holds_per_copy_report_lists_titles_with_more_holds_than_the_threshold_per_copy(library, runner):
    library.title("=HYPERLINK(\"http://x\")").title("FEW")
    library.copy("=HYPERLINK(\"http://x\")", "central")
    library.copy("FEW", "central")
    for card in ("1001", "1002", "1003", "1004", "1005", "1006"):
        library.hold(card, "=HYPERLINK(\"http://x\")", "central")
    for card in ("1001", "1002", "1003"):
        library.hold(card, "FEW", "central")
    result = runner.invoke(cli.main, ["report", "holds_per_copy", "--format", "csv", "--db", library.url, "--now", NOW])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"))))
    assert [(r["書誌番号"], r["予約数"], r["貸出可能冊数"], r["1冊あたり予約数"]) for r in rows] == [
        ("LOST", "1", "0", ""),  # no copy that can be lent: first, whatever the threshold
        ("'=HYPERLINK(\"http://x\")", "6", "1", "6.0"),  # the formula is text for Excel
    ]
    assert rows[1]["新規予約のご用意の目安"].startswith("約") and int(rows[1]["新規予約の目安(日)"]) > 14
    assert rows[0]["新規予約のご用意の目安"] == "未定"
    lower = runner.invoke(cli.main, ["report", "holds_per_copy", "--threshold", "2", "--db", library.url, "--now", NOW])
    assert "予約多数資料" in lower.stdout and "FEW" in lower.stdout and "BEST" in lower.stdout
    wrong = runner.invoke(cli.main, ["report", "pull", "--branch", "central", "--threshold", "2", "--db", library.url])
    assert wrong.exit_code == 2 and "--threshold は holds_per_copy のためのオプションです(pull には使えません)" in wrong.stderr
    negative = runner.invoke(cli.main, ["report", "holds_per_copy", "--threshold", "-1", "--db", library.url])
    assert negative.exit_code == 2 and "--threshold" in negative.stderr
    html = runner.invoke(cli.main, ["report", "holds_per_copy", "--format", "html", "--db", library.url, "--now", NOW])
    assert "<th>1冊あたり予約数</th>" in html.stdout and "=HYPERLINK(&#34;http://x&#34;)" in html.stdout
