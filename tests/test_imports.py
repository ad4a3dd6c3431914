"""Imports: every row checked, problems reported with file and line, a bad file refused whole."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import func, select

from ils import schema
from ils.errors import ImportFailed
from ils.imports import files_in, import_files

from conftest import NIGHT


def _count(conn, table):
    return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _import_examples(conn, policy, examples):
    return import_files(conn, files_in(examples), policy, NIGHT)


def test_the_example_files_import_in_order(conn_for, examples):
    conn, policy = conn_for("murakami")
    results = _import_examples(conn, policy, examples)
    assert [r.kind for r in results] == ["branches", "calendar", "routes", "titles", "copies", "patrons", "loans", "holds"]
    assert _count(conn, schema.branches) == 4
    station = conn.execute(select(schema.branches).where(schema.branches.c.code == "BM/吉浦")).one()
    central = conn.execute(select(schema.branches.c.id).where(schema.branches.c.code == "central")).scalar()
    assert station.parent_id == central and station.kind == "station"
    # the loan put its copy on loan; the allocated hold kept its copy on the shelf
    state = dict(conn.execute(select(schema.copies.c.barcode, schema.copies.c.state)).all())
    assert state["1000000002"] == "on_loan"
    assert state["1000000001"] == "on_shelf"
    assert conn.execute(select(schema.titles.c.category).where(schema.titles.c.bib_id == "B0000003")).scalar() == "reference_only"


def test_a_bad_row_is_reported_with_file_line_and_column_and_nothing_is_imported(conn_for, examples, tmp_path):
    conn, policy = conn_for()
    bad = tmp_path / "titles.csv"
    bad.write_text(
        "bib_id,title,material_type,catalogued_on\n"
        "B1,良い本,book,2026-01-01\n"
        "B2,悪い日付,book,2026-13-45\n"
        "B3,種類なし,scroll,\n"
        "B1,重複,book,\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportFailed) as caught:
        import_files(conn, [("titles", bad)], policy, NIGHT)
    problems = [str(p) for p in caught.value.problems]
    assert problems == [
        f"{bad}:3: catalogued_on: '2026-13-45' is not a date (YYYY-MM-DD)",
        f"{bad}:4: material_type: 'scroll' is not one of book, picture_book, picture_book_large, kamishibai, kamishibai_large, comic, magazine, av",
        f"{bad}:5: bib_id: 'B1' is also on line 2",
    ]
    assert _count(conn, schema.titles) == 0  # not even the good line 2
    run = conn.execute(select(schema.import_runs)).one()
    assert run.status == "refused" and run.rows_read == 4 and run.rows_written == 0
    assert len(json.loads(run.problems)) == 3


def test_a_reference_to_a_missing_record_is_a_problem_on_its_line(conn_for, examples, tmp_path):
    conn, policy = conn_for()
    data = tmp_path / "data"
    shutil.copytree(examples, data)
    copies = data / "copies.csv"
    copies.write_text(copies.read_text(encoding="utf-8") + "1000000099,B9999999,central,,,on_shelf\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        _import_examples(conn, policy, data)
    assert [str(p) for p in caught.value.problems] == [f"{copies}:9: bib_id: no title 'B9999999'"]
    # one transaction for the whole directory: the valid files before it are not kept either
    assert _count(conn, schema.branches) == 0


def test_unknown_and_missing_columns_are_refused_before_any_row(conn_for, tmp_path):
    conn, policy = conn_for()
    bad = tmp_path / "branches.csv"
    bad.write_text("code,nmae,kind\ncentral,中央,library\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        import_files(conn, [("branches", bad)], policy, NIGHT)
    assert [str(p) for p in caught.value.problems] == [
        f"{bad}:1: nmae: unknown column",
        f"{bad}:1: name: required column is missing",
    ]


def test_a_row_with_the_wrong_number_of_fields(conn_for, tmp_path):
    conn, policy = conn_for()
    bad = tmp_path / "branches.csv"
    bad.write_text("code,name,kind\ncentral,中央,library,extra\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="1 problem"):
        import_files(conn, [("branches", bad)], policy, NIGHT)


def test_shift_jis_exports_are_read(conn_for, examples):
    conn, policy = conn_for()
    import_files(conn, [("branches", examples / "branches.csv")], policy, NIGHT)
    [result] = import_files(conn, [("patrons", examples / "patrons-cp932.csv")], policy, NIGHT)
    assert result.encoding == "cp932"
    names = conn.execute(select(schema.patrons.c.name).order_by(schema.patrons.c.card_number)).scalars().all()
    assert names[0] == "北見 太郎"


def test_a_shift_jis_file_forced_as_utf8_is_refused_with_a_hint(conn_for, examples):
    conn, policy = conn_for()
    import_files(conn, [("branches", examples / "branches.csv")], policy, NIGHT)
    with pytest.raises(ImportFailed) as caught:
        import_files(conn, [("patrons", examples / "patrons-cp932.csv")], policy, NIGHT, encoding="utf-8")
    assert "try --encoding cp932" in str(caught.value.problems[0])


def test_importing_again_updates_by_key(conn_for, examples, tmp_path):
    conn, policy = conn_for()
    import_files(conn, [("branches", examples / "branches.csv")], policy, NIGHT)
    changed = tmp_path / "branches.csv"
    changed.write_text("code,name,kind,phone\ncentral,新中央図書館,library,0157-99-9999\n", encoding="utf-8")
    import_files(conn, [("branches", changed)], policy, NIGHT)
    row = conn.execute(select(schema.branches).where(schema.branches.c.code == "central")).one()
    assert (row.name, row.phone) == ("新中央図書館", "0157-99-9999")
    assert _count(conn, schema.branches) == 4


def test_a_hold_must_be_served_by_a_copy_of_its_own_title(conn_for, examples, tmp_path):
    conn, policy = conn_for()
    data = tmp_path / "data"
    shutil.copytree(examples, data)
    (data / "holds.csv").write_text(
        "card,bib_id,pickup,status,queued_at,barcode,ready_on,pickup_deadline\n"
        "10000001,B0000002,central,ready,2026-11-20T10:00:00+09:00,1000000001,2026-11-25,2026-12-02\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportFailed) as caught:
        _import_examples(conn, policy, data)
    assert "the copy is not a copy of this title" in str(caught.value.problems[0])


def test_an_imported_ready_hold_puts_its_copy_on_the_pickup_shelf(conn_for, examples, tmp_path):
    conn, policy = conn_for()
    data = tmp_path / "data"
    shutil.copytree(examples, data)
    (data / "holds.csv").write_text(
        "card,bib_id,pickup,status,queued_at,barcode,ready_on,pickup_deadline\n"
        "10000001,B0000002,higashi,ready,2026-11-20T10:00:00+09:00,1000000003,2026-11-25,2026-12-02\n",
        encoding="utf-8",
    )
    _import_examples(conn, policy, data)
    c, b = schema.copies, schema.branches
    row = conn.execute(
        select(c.c.state, b.c.code).join(b, b.c.id == c.c.location_branch_id).where(c.c.barcode == "1000000003")
    ).one()
    assert tuple(row) == ("on_hold_shelf", "higashi")


def test_murakami_queue_puts_counter_holds_of_the_day_first(conn_for, examples):
    conn, policy = conn_for("murakami")
    _import_examples(conn, policy, examples)
    h = schema.holds
    classes = dict(conn.execute(select(h.c.channel, h.c.queue_class)).all())
    assert classes == {"web": 1, "counter": 0}
