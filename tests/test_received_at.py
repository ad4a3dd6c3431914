"""A request's receipt time orders the queue, so the front end cannot set it where it likes."""

from __future__ import annotations

import pytest

from ils.infra import schema
from lines import unstamped
from scenario import D, at, two_title_library


@pytest.fixture
def lib(new_library):
    return two_title_library(new_library)


def front_end_row(lib, entered="2026-11-25 11:00", **fields) -> int:
    """A row as a front end inserts it into the table itself (no checks on the way)."""
    t = schema.pending_requests
    with lib.conn.begin():
        return lib.conn.execute(t.insert().values(entered_at=at(entered), **fields).returning(t.c.id)).scalar_one()


def web_hold(lib, card, bib, received_at, entered="2026-11-25 11:00", channel="web") -> int:
    return front_end_row(lib, entered, kind="hold", card_number=card, target=bib, pickup_branch="central",
                         channel=channel, received_at=received_at)


def test_a_web_request_dated_in_year_one_does_not_take_the_head_of_the_queue(lib):
    first = web_hold(lib, "1001", "B1", "2026-11-25T10:59:00+09:00")
    jumper = web_hold(lib, "1002", "B1", "0001-01-01T12:00+09:00")
    lib.night()
    assert lib.verdict(jumper) == ("rejected", "bad_received_at")
    assert lib.verdict(first) == ("accepted", None)
    assert lib.status("1001", "B1") == "allocated"


def test_a_web_request_dated_at_the_end_of_time_is_rejected(lib):
    late = web_hold(lib, "1002", "B2", "9999-12-31")
    lib.night()
    assert lib.verdict(late) == ("rejected", "bad_received_at")


def test_a_date_only_receipt_in_year_one_no_longer_stops_the_night_or_the_next(lib):
    bad = web_hold(lib, "1002", "B2", "0001-01-01")
    good = web_hold(lib, "1001", "B1", "2026-11-25T10:59:00+09:00")
    lib.night()
    assert lib.verdict(bad) == ("rejected", "bad_received_at")
    assert lib.verdict(good) == ("accepted", None)
    tomorrow = web_hold(lib, "1002", "B2", "2026-11-26T10:00:00+09:00", entered="2026-11-26 10:00")
    lib.night("2026-11-27 03:00")
    assert lib.verdict(tomorrow) == ("accepted", None)


def test_the_patron_is_told_why(lib):
    web_hold(lib, "1002", "B2", "0001-01-01T12:00+09:00")
    lib.night()
    [(kind, payload)] = lib.notices("1002")
    assert (kind, payload["reason"]) == ("request_rejected", "bad_received_at")


# The bounds: clock skew, the web's hour, the paper form's days ----------------------------


@pytest.mark.parametrize("channel", ["web", "mobile", "opac", "paper"])
@pytest.mark.parametrize(("received", "verdict"), [
    ("2026-11-25T11:05:00+09:00", ("accepted", None)),  # the front end's clock 5 minutes ahead
    ("2026-11-25T11:05:01+09:00", ("rejected", "bad_received_at")),  # beyond the skew: the future
    ("2026-11-26T10:00:00+09:00", ("rejected", "bad_received_at")),
])
def test_no_channel_may_be_received_after_it_was_entered(lib, channel, received, verdict):
    rid = web_hold(lib, "1002", "B2", received, channel=channel)
    lib.night()
    assert lib.verdict(rid) == verdict


@pytest.mark.parametrize("channel", ["web", "mobile", "opac"])
@pytest.mark.parametrize(("received", "verdict"), [
    ("2026-11-25T10:00:00+09:00", ("accepted", None)),  # an hour: a slow or retried insert
    ("2026-11-25T09:59:59+09:00", ("rejected", "bad_received_at")),
    ("2026-11-24T11:00:00+09:00", ("rejected", "bad_received_at")),
])
def test_a_web_request_is_entered_when_it_is_made(lib, channel, received, verdict):
    rid = web_hold(lib, "1002", "B2", received, channel=channel)
    lib.night()
    assert lib.verdict(rid) == verdict


@pytest.mark.parametrize(("received", "verdict"), [
    ("2026-11-11T00:00:00+09:00", ("accepted", None)),  # 14 library days before the day it is keyed
    ("2026-11-10T23:59:59+09:00", ("rejected", "bad_received_at")),
    ("0001-01-01T12:00:00+09:00", ("rejected", "bad_received_at")),
])
def test_a_paper_form_may_carry_its_receipt_time_back_as_far_as_the_profile_says(lib, received, verdict):
    assert lib.policy.requests.paper_backdate_days == 14
    rid = web_hold(lib, "1002", "B2", received, channel="paper")
    lib.night()
    assert lib.verdict(rid) == verdict


def test_a_library_that_keys_forms_the_same_day_sets_zero(new_library):
    lib = new_library("kitakyushu", {"requests": {"paper_backdate_days": 0}})
    lib.branch("central").patron("2001").patron("2002")
    lib.title("B1")
    lib.copy("B1", "central", state="on_loan")
    today = web_hold(lib, "2001", "B1", "2026-11-25T09:00+09:00", entered="2026-11-25 17:00", channel="paper")
    yesterday = web_hold(lib, "2002", "B1", "2026-11-24T16:00+09:00", entered="2026-11-25 17:00", channel="paper")
    lib.night()
    assert lib.verdict(today) == ("accepted", None)
    assert lib.verdict(yesterday) == ("rejected", "bad_received_at")


def test_a_late_keyed_paper_form_still_goes_before_the_web_request_it_preceded(lib):
    web = web_hold(lib, "1001", "B1", "2026-11-25T10:30+09:00")
    paper = web_hold(lib, "1002", "B1", "2026-11-20T09:30+09:00", channel="paper")
    lib.night()
    assert lib.verdict(web) == lib.verdict(paper) == ("accepted", None)
    assert (lib.status("1002", "B1"), lib.status("1001", "B1")) == ("allocated", "waiting")


# Cancel, renew and email change order by receipt time too ---------------------------------


def test_a_renewal_cannot_be_dated_back_to_before_the_loan_fell_overdue(lib):
    lib.copy("B2", "central", barcode="C9")
    loan = lib.loan("C9", "1001", due_on=D(2026, 11, 20))
    backdated = front_end_row(lib, kind="renew", card_number="1001", target="C9", channel="web",
                              received_at="2026-11-19T10:00+09:00")
    lib.night()
    assert lib.verdict(backdated) == ("rejected", "bad_received_at")
    assert lib.loan_due(loan) == (D(2026, 11, 20), 0)
    assert lib.notices("1001") == [("renew_refused", {"reason": "bad_received_at"})]


def test_a_cancel_and_an_address_change_with_a_future_time_are_refused_and_the_patron_told(lib):
    hold = lib.hold("1001", "B2", "central")
    cancel = front_end_row(lib, kind="cancel", card_number="1001", target=str(hold), channel="web",
                           received_at="2027-01-01T10:00+09:00")
    change = front_end_row(lib, kind="email_change", card_number="1002", target="new@example.jp", channel="web",
                           received_at="9999-12-31T23:59:59-12:00")
    lib.night()
    assert lib.verdict(cancel) == lib.verdict(change) == ("rejected", "bad_received_at")
    assert lib.status("1001", "B2") == "waiting"
    assert ("cancel_refused", {"reason": "bad_received_at"}) in lib.notices("1001")
    assert lib.notices("1002") == [("email_refused", {"reason": "bad_received_at"})]


def test_the_patrons_mail_says_why_in_japanese(lib, tmp_path):
    from test_mail import mail_run

    web_hold(lib, "1002", "B2", "0001-01-01T12:00+09:00")
    lib.night()
    [mail] = mail_run(lib, "2026-11-26 10:00", tmp_path / "out")
    assert mail["Subject"].endswith("ご予約をお受けできませんでした")
    assert "理由: お申し込みの受付日時が正しく記録されていませんでした" in mail.get_content()


# An entry time the database holds but no datetime can carry ----------------------------------


def test_a_row_whose_entry_time_cannot_be_read_is_rejected_not_fatal(lib, engine_name):
    good = web_hold(lib, "1001", "B1", "2026-11-25T10:59+09:00")
    bad = web_hold(lib, "1002", "B2", "2026-11-25T10:59+09:00")
    # A front end that writes entered_at itself: PostgreSQL takes -infinity, SQLite anything.
    value = "'-infinity'" if engine_name == "postgresql" else "'0garbage'"
    with lib.conn.begin():
        lib.conn.exec_driver_sql(f"UPDATE pending_requests SET entered_at = {value} WHERE id = {bad}")
    lib.night()
    assert lib.verdict(bad) == ("rejected", "bad_received_at")
    assert lib.verdict(good) == ("accepted", None)


def test_sqlite_text_in_the_entry_time_is_judged_too_not_left_pending(lib, engine_name):
    if engine_name != "sqlite":
        pytest.skip("PostgreSQL's timestamptz column refuses text that is not a time")
    rows = [web_hold(lib, "1002", "B2", "2026-11-25T10:59+09:00") for _ in range(3)]
    with lib.conn.begin():
        for rid, value in zip(rows, ("garbage", "2026-11-25 garbage", 5), strict=True):
            lib.conn.exec_driver_sql("UPDATE pending_requests SET entered_at = ? WHERE id = ?", (value, rid))
    lib.night()
    assert [lib.verdict(rid) for rid in rows] == [("rejected", "bad_received_at")] * 3


# Staff keying a request at the command line hear at once ------------------------------------


@pytest.mark.parametrize(("options", "message"), [
    (["--received-at", "2026-13-45"], "receipt time '2026-13-45' is not a date and time; write e.g. 2026-11-25T10:15"),
    (["--received-at", "0001-01-01"], "receipt time '0001-01-01' is not a date and time"),
    (["--received-at", "2026-11-25T12:00"], "is after the request is entered (2026-11-25 11:00)"),
    (["--received-at", "2026-11-25T09:00"], "more than 60 minutes before the request is entered"),
    (["--received-at", "2026-11-01T09:00", "--channel", "paper"],
     "more than 14 days before the form is keyed (2026-11-25 11:00), the profile's [requests] paper_backdate_days"),
])
def test_the_cli_refuses_a_receipt_time_the_batch_would_refuse_with_one_line(runner, make_db, options, message):
    from ils import cli

    db = make_db("kitami")
    base = ["request", "hold", "--card", "1001", "--title", "B1", "--pickup", "central", "--db", db,
            "--now", "2026-11-25T11:00"]
    result = runner.invoke(cli.main, [*base, *options])
    [line] = unstamped(result.stderr).splitlines()
    assert result.exit_code == 1 and line.startswith("Error: ") and message in line
    result = runner.invoke(cli.main, ["request", "list", "--db", db, "--csv"])
    assert "hold" not in result.stdout  # nothing stored


def test_the_cli_stores_a_paper_forms_earlier_receipt_time(runner, make_db):
    from ils import cli

    db = make_db("kitami")
    result = runner.invoke(cli.main, ["request", "renew", "--card", "1001", "--barcode", "C1", "--channel", "paper",
                                      "--received-at", "2026-11-20T09:30", "--db", db, "--now", "2026-11-25T11:00"])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(cli.main, ["request", "list", "--db", db, "--csv"])
    assert "renew,pending,1" in result.stdout


# The setting --------------------------------------------------------------------------


def test_every_profile_says_how_far_back_a_paper_form_may_go():
    from ils.library.policy import available_profiles, load_policy

    assert {name: load_policy(name).requests.paper_backdate_days for name in available_profiles()} == {
        "kitakyushu": 14, "kitami": 14, "kitsuki": 14, "mito": 14, "murakami": 14}


@pytest.mark.parametrize(("value", "message"), [
    ("-1", r"requests\.paper_backdate_days: Input should be greater than or equal to 0"),
    ('"two weeks"', r"requests\.paper_backdate_days: .*integer"),
    ("400", r"requests\.paper_backdate_days: Input should be less than or equal to 366"),
])
def test_a_bad_paper_backdate_setting_is_named(tmp_path, value, message):
    from ils.errors import PolicyError
    from ils.library.policy import load_policy

    path = tmp_path / "mine.toml"
    path.write_text(f'extends = "kitakyushu"\n[requests]\npaper_backdate_days = {value}\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        load_policy(str(path))
