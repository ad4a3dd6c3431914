"""Imports take the dates and codes Japanese library systems export (issue 16): 和暦 birth dates,
YYYY/MM/DD, YYYYMMDD, full-width digits — each still refused with file:line when it is wrong."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ils.exchange.dates import parse_date
from ils.exchange.imports import ImportFailed, import_files
from ils.infra import schema

D = dt.date


@pytest.mark.parametrize("written, meant", [
    ("2026-04-01", D(2026, 4, 1)),
    ("2026/04/01", D(2026, 4, 1)),
    ("2026/4/1", D(2026, 4, 1)),
    ("2026.04.01", D(2026, 4, 1)),
    ("20260401", D(2026, 4, 1)),
    ("2026年4月1日", D(2026, 4, 1)),
    ("R7.4.1", D(2025, 4, 1)),
    ("r7.4.1", D(2025, 4, 1)),
    ("R07.04.01", D(2025, 4, 1)),
    ("R7/4/1", D(2025, 4, 1)),
    ("令和7年4月1日", D(2025, 4, 1)),
    ("令和元年5月1日", D(2019, 5, 1)),
    ("H31.4.30", D(2019, 4, 30)),
    ("平成元年1月8日", D(1989, 1, 8)),
    ("S63.12.31", D(1988, 12, 31)),
    ("昭和64年1月7日", D(1989, 1, 7)),
    ("T15.12.24", D(1926, 12, 24)),
    ("M45.7.29", D(1912, 7, 29)),
    ("２０２６／０４／０１", D(2026, 4, 1)),  # full-width, as typed in an IME
    ("Ｒ７．４．１", D(2025, 4, 1)),
])
def test_every_form_an_export_may_use_reads_as_the_same_day(written, meant):
    assert parse_date(written) == meant


@pytest.mark.parametrize("written, reason", [
    ("H31.5.1", "is not a day of 平成 (1989-01-08 to 2019-04-30)"),  # 平成 had ended
    ("R1.4.30", "is not a day of 令和 (2019-05-01 to today)"),  # 令和 had not begun
    ("S64.1.8", "is not a day of 昭和"),
    ("R0.4.1", "an era has no year 0"),
    ("2026/02/30", "is not a date: day is out of range for month"),
    ("2026-13-45", "is not a date: month must be in 1..12"),
    ("X7.4.1", "is not a date (YYYY-MM-DD, YYYY/MM/DD"),
    ("2026/04-01", "is not a date (YYYY-MM-DD"),  # two different separators
    ("", "is not a date"),
])
def test_a_date_that_is_not_one_is_refused_with_its_reason(written, reason):
    with pytest.raises(ValueError) as caught:
        parse_date(written)
    assert reason in str(caught.value)


def _library(conn_for, examples):
    conn, policy = conn_for()
    import_files(conn, [("branches", examples / "branches.csv")], policy, dt.datetime(2026, 11, 25, 3, tzinfo=dt.UTC))
    return conn, policy


HEADER = "card,name,name_kana,birth_date,phone,email,contact_method,home_branch,status,web_registered,language,registered_on,newsletter\n"
NIGHT = dt.datetime(2026, 11, 25, 3, tzinfo=dt.UTC)


def test_an_old_systems_patrons_with_wareki_birth_dates_and_full_width_cards_import(conn_for, examples, tmp_path):
    conn, policy = _library(conn_for, examples)
    patrons = tmp_path / "patrons.csv"
    patrons.write_text(
        HEADER
        + "１０００００１１,北見 一郎,キタミ イチロウ,S55.4.1,0157-11-2222,,phone,central,active,no,ja,H27.6.1,\n"
        + "10000012,北見 二郎,キタミ ジロウ,平成25年10月5日,0157-33-4444,,phone,central,active,no,ja,2020/05/10,\n",
        encoding="utf-8")
    import_files(conn, [("patrons", patrons)], policy, NIGHT)
    p = schema.patrons
    rows = conn.execute(select(p.c.card_number, p.c.birth_date, p.c.registered_on).order_by(p.c.card_number)).all()
    assert [tuple(r) for r in rows] == [
        ("10000011", D(1980, 4, 1), D(2015, 6, 1)),
        ("10000012", D(2013, 10, 5), D(2020, 5, 10)),
    ]


def test_a_wareki_date_outside_its_era_is_refused_on_its_line_and_nothing_is_imported(conn_for, examples, tmp_path):
    conn, policy = _library(conn_for, examples)
    patrons = tmp_path / "patrons.csv"
    patrons.write_text(
        HEADER
        + "10000011,北見 一郎,キタミ イチロウ,S55.4.1,0157-11-2222,,phone,central,active,no,ja,,\n"
        + "10000012,北見 二郎,キタミ ジロウ,H31.5.1,0157-33-4444,,phone,central,active,no,ja,,\n",
        encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        import_files(conn, [("patrons", patrons)], policy, NIGHT)
    assert [str(problem) for problem in caught.value.problems] == [
        f"{patrons}:3: birth_date: 平成31年5月1日 is not a day of 平成 (1989-01-08 to 2019-04-30)"]
    assert conn.execute(select(schema.patrons.c.id)).first() is None


def test_a_card_that_is_not_plain_letters_and_digits_after_normalising_is_kept_as_written(conn_for, examples, tmp_path):
    # NFKC is applied only where it leaves ASCII letters, digits and hyphens: a card number
    # with kana stays as the ILS wrote it, so it still matches the ILS's own record.
    conn, policy = _library(conn_for, examples)
    patrons = tmp_path / "patrons.csv"
    patrons.write_text(HEADER + "ｶｰﾄﾞ1,北見 三郎,キタミ サブロウ,,0157-11-2222,,phone,central,active,no,ja,,\n",
                       encoding="utf-8")
    import_files(conn, [("patrons", patrons)], policy, NIGHT)
    assert conn.execute(select(schema.patrons.c.card_number)).scalar_one() == "ｶｰﾄﾞ1"
