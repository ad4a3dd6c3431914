"""Imports: every row checked, problems reported with file and line, a bad file refused whole."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil

import pytest
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.dialects import sqlite

from conftest import NIGHT
from ils import cli
from ils.errors import ImportFailed
from ils.exchange.imports import files_in, import_files
from ils.holds.lifecycle import Event
from ils.holds.lifecycle.store import insert_holds, new_hold_row
from ils.infra import db, schema
from lines import unstamped


def _count(conn, table):
    return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _import_examples(conn, policy, examples):
    return import_files(conn, files_in(examples), policy, NIGHT)


def test_the_example_files_import_in_order(conn_for, examples):
    conn, policy = conn_for("murakami")
    results = _import_examples(conn, policy, examples)
    assert [r.kind for r in results] == ["branches", "calendar", "routes", "titles", "copies", "patrons", "loans", "holds"]
    assert _count(conn, schema.branches) == 4
    station = conn.execute(select(schema.branches).where(schema.branches.c.code == "BM-吉浦")).one()
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
        f"{bad}:3: catalogued_on: '2026-13-45' is not a date: month must be in 1..12",
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


# Values the database could not store, and codes that could not name a folder ---------------


def _refused_through_the_cli(runner, db_url, path, kind):
    """`ils import KIND PATH` on a fresh database: the problem lines, and the one import_runs row it left."""
    result = runner.invoke(cli.main, ["init", "--profile", "kitami", "--db", db_url])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli.main, ["import", kind, str(path), "--db", db_url])
    assert result.exit_code == 1, result.output
    engine = db.open_engine(db_url)
    try:
        with engine.connect() as conn:
            [run] = conn.execute(select(schema.import_runs)).all()
    finally:
        engine.dispose()
    *problems, last = unstamped(result.stderr).splitlines()
    assert last == f"Error: {path}: {len(problems)} problem(s) in 1 row(s); nothing was imported"
    assert (run.kind, run.source, run.status, run.rows_read, run.rows_written) == (kind, str(path), "refused", 1, 0)
    assert json.loads(run.problems) == problems
    return problems


INTEGER_ROWS = {  # one row of each file with an integer column, {} where the number goes
    "sort_order": ("branches", "code,name,kind,sort_order\nx,X館,library,{}\n"),
    "cost": ("routes", "from,to,cost\ncentral,higashi,{}\n"),
    "volume": ("titles", "bib_id,title,material_type,series_id,volume\nB1,本,book,S1,{}\n"),
    "renewals": ("loans", "barcode,card,loaned_on,due_on,renewals\n1001,2001,2026-11-01,2026-11-15,{}\n"),
    "series_position": ("holds", "card,bib_id,pickup,status,queued_at,series_group,series_position\n"
                                 "2001,B1,central,waiting,2026-11-20T10:00:00+09:00,S1,{}\n"),
}
OUT_OF_RANGE = [
    ("sort_order", str(10**30), f"{10**30} is more than 2147483647"),
    ("sort_order", str(-(10**30)), f"{-(10**30)} is less than -2147483648"),
    ("cost", str(10**30), f"{10**30} is more than 2147483647"),
    ("cost", "-1", "-1 is less than 0"),
    ("volume", str(10**30), f"{10**30} is more than 2147483647"),
    ("volume", "2147483648", "2147483648 is more than 2147483647"),
    ("volume", "-1", "-1 is less than 0"),
    ("renewals", str(10**30), f"{10**30} is more than 2147483647"),
    ("renewals", "-1", "-1 is less than 0"),
    ("series_position", str(10**30), f"{10**30} is more than 2147483647"),
    ("series_position", "0", "0 is less than 1"),
    ("volume", "9" * 5000, f"'{'9' * 40}…' is not a whole number"),
]


@pytest.mark.parametrize("column, value, reason", OUT_OF_RANGE)
def test_an_integer_out_of_range_is_a_problem_on_its_line_and_the_attempt_is_recorded(
        runner, db_url, tmp_path, column, value, reason):
    kind, text = INTEGER_ROWS[column]
    path = tmp_path / f"{kind}.csv"
    path.write_text(text.format(value), encoding="utf-8")
    assert _refused_through_the_cli(runner, db_url, path, kind) == [f"{path}:2: {column}: {reason}"]


def test_the_integer_bounds_fit_both_engines(runner, db_url, tmp_path):
    path = tmp_path / "branches.csv"
    path.write_text("code,name,kind,sort_order\nfirst,一,library,-2147483648\nlast,二,library,2147483647\n",
                    encoding="utf-8")
    runner.invoke(cli.main, ["init", "--profile", "kitami", "--db", db_url])
    result = runner.invoke(cli.main, ["import", "branches", str(path), "--db", db_url])
    assert result.exit_code == 0, result.output
    engine = db.open_engine(db_url)
    try:
        with engine.connect() as conn:
            b = schema.branches
            stored = dict(conn.execute(select(b.c.code, b.c.sort_order)).all())
    finally:
        engine.dispose()
    assert stored == {"first": -(2**31), "last": 2**31 - 1}


@pytest.mark.parametrize("code, reason", [
    (".", "'.' cannot name a folder"),
    ("..", "'..' cannot name a folder"),
    ("BM/吉浦", "'BM/吉浦' contains a path separator (/ or \\)"),
    ("..\\..\\etc", "'..\\\\..\\\\etc' contains a path separator (/ or \\)"),
    ("BM\t吉浦", "'BM\\t吉浦' contains a control character (U+0009)"),
    ("BM\x1b[31m", "'BM\\x1b[31m' contains a control character (U+001B)"),
    ("BM\x7f", "'BM\\x7f' contains a control character (U+007F)"),
    ("B\x85M", "'B\\x85M' contains a control character (U+0085)"),  # C1: NEL inside (strip() takes it at the ends)
    (" ", "required value is blank"),
])
def test_a_branch_code_that_cannot_name_a_folder_is_refused(runner, db_url, tmp_path, code, reason):
    path = tmp_path / "branches.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([("code", "name", "kind"), (code, "移動図書館", "library")])
    assert _refused_through_the_cli(runner, db_url, path, "branches") == [f"{path}:2: code: {reason}"]


def test_an_instant_with_no_utc_equivalent_is_a_problem_not_a_crash(conn_for, examples, tmp_path):
    conn, policy = conn_for()
    holds = tmp_path / "holds.csv"
    holds.write_text("card,bib_id,pickup,status,queued_at\n"
                     "10000001,B0000002,central,waiting,0001-01-01T00:00+09:00\n"
                     "10000001,B0000003,central,waiting,9999-12-31T23:59-09:00\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        import_files(conn, [("holds", holds)], policy, NIGHT)
    assert [str(p) for p in caught.value.problems] == [
        f"{holds}:2: queued_at: '0001-01-01T00:00+09:00' is out of range",
        f"{holds}:3: queued_at: '9999-12-31T23:59-09:00' is out of range",
    ]
    assert conn.execute(select(schema.import_runs.c.status)).scalar_one() == "refused"


# Parsing a column at a time gives what parsing cell by cell gives ----------------------------

ODD_CELLS = {  # cells the parsers accept, some in forms an ILS may write
    "integer": ["0", "12", "+5", "1_000", "٣", "-0", "2147483647"],
    "date": ["2026-11-25", "20261125", "2026/11/25", "R7.4.1", "令和元年5月1日", "0001-01-01"],
    "iso_date": ["2026-11-25", "0001-01-01", "1999-12-31"],
    "code": ["1000000001", "１２３４", "ＡＢ-１２", "AB-12"],
    "yes_no": ["yes", "Y", "TRUE", "0", "no"],
    "category": ["normal", "禁帯", "課題", "期禁", "一般", "contest"],
    "text": ["", "本", "a" * 32, "=HYPERLINK(\"x\")", "タブ\tあり"],
}


def test_a_column_parses_to_the_same_values_as_its_cells():
    from ils.exchange.imports import fields as f
    from ils.exchange.imports.kinds import CATEGORY_ALIASES

    parsers = {"integer": f.integer(), "date": f.date, "iso_date": f.date, "code": f.code(32), "yes_no": f.yes_no,
               "category": f.one_of(schema.HANDLING_CATEGORIES, CATEGORY_ALIASES), "text": f.text(32)}
    for name, cells in ODD_CELLS.items():
        parse = parsers[name]
        assert parse.column(cells) == [parse(cell) for cell in cells], name
        for bad in ("x" * 33, "2026-13-45", "2026-W48-3", "H31.5.1", "maybe", "scroll", "1\n2", "99999999999"):
            try:
                one_by_one = [parse(cell) for cell in [*cells, bad]]
            except ValueError:
                with pytest.raises(ValueError):
                    parse.column([*cells, bad])
            else:
                assert parse.column([*cells, bad]) == one_by_one, (name, bad)


def test_problems_in_a_large_file_are_listed_in_line_order_across_chunks(conn_for, tmp_path):
    from ils.exchange.imports.parsing import CHUNK_ROWS

    conn, policy = conn_for()
    bad = tmp_path / "titles.csv"
    rows = [f"B{n},本{n},book,2026-01-01" for n in range(CHUNK_ROWS * 2 + 10)]
    rows[5] = "B5,本,scroll,"
    rows[CHUNK_ROWS + 3] = "B1,重複,book,"
    rows[-1] = "B-last,本,book,2026-02-30"
    bad.write_text("bib_id,title,material_type,catalogued_on\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        import_files(conn, [("titles", bad)], policy, NIGHT)
    assert [str(p) for p in caught.value.problems] == [
        f"{bad}:7: material_type: 'scroll' is not one of book, picture_book, picture_book_large, kamishibai, "
        "kamishibai_large, comic, magazine, av",
        f"{bad}:{CHUNK_ROWS + 5}: bib_id: 'B1' is also on line 3",
        f"{bad}:{CHUNK_ROWS * 2 + 11}: catalogued_on: '2026-02-30' is not a date: day is out of range for month",
    ]
    assert _count(conn, schema.titles) == 0



def test_a_chunk_fits_an_older_sqlites_limit_of_bound_values(conn_for, tmp_path):
    # SQLite before 3.32 (RHEL 8's 3.26) binds at most 999 values a statement; a first load's
    # chunk of 2,000 titles is far more than that, so it goes in as many statements as it needs.
    import sqlite3

    conn, policy = conn_for()
    if conn.dialect.name != "sqlite":
        pytest.skip("a limit of SQLite's; PostgreSQL's batches go by COPY")
    conn.connection.dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    titles = tmp_path / "titles.csv"
    rows = [f"B{n:05d},本{n},book,2026-01-01" for n in range(2500)]
    titles.write_text("bib_id,title,material_type,catalogued_on\n" + "\n".join(rows) + "\n", encoding="utf-8")
    import_files(conn, [("titles", titles)], policy, NIGHT)
    t = schema.titles
    stored = conn.execute(select(t.c.bib_id).order_by(t.c.id)).scalars().all()
    assert stored == [f"B{n:05d}" for n in range(2500)]

def _indexes(conn, table):
    from sqlalchemy import inspect

    return sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspect(conn).get_indexes(table))


def test_indexes_built_after_the_rows_are_there_again_whether_the_import_is_accepted_or_refused(
        conn_for, examples, tmp_path):
    conn, policy = conn_for()
    before = {t: _indexes(conn, t) for t in ("titles", "copies", "loans", "holds")}
    conn.commit()
    data = tmp_path / "data"
    shutil.copytree(examples, data)
    with (data / "holds.csv").open("a", encoding="utf-8") as fh:
        fh.write("no-such-card,B0000001,central,waiting,2026-11-20T10:00:00+09:00,,,,,,,\n")
    with pytest.raises(ImportFailed):
        import_files(conn, files_in(data), policy, NIGHT)
    conn.commit()
    assert {t: _indexes(conn, t) for t in before} == before  # the drop was rolled back
    assert _count(conn, schema.copies) == 0
    import_files(conn, files_in(examples), policy, NIGHT)
    conn.commit()
    assert {t: _indexes(conn, t) for t in before} == before  # built again after the rows
    assert _count(conn, schema.copies) > 0


@pytest.mark.parametrize(("name", "added", "problem"), [
    ("titles", "B0000099,続きもの,,,book,normal,,S-X,,,\n", "volume: a title in a series needs its volume number"),
    ("copies", "1000000099,B0000001,central,nowhere,,on_shelf\n", "location_branch: no branch 'nowhere'"),
    ("copies", "1000000099,B0000001,nowhere,,,on_shelf\n", "owning_branch: no branch 'nowhere'"),
    ("loans", "1000000003,10000002,2026-11-10,2026-11-01,0,no,central\n", "due_on: due before it was lent"),
    ("loans", "1000000003,99999999,2026-11-01,2026-11-15,0,no,central\n", "card: no patron with card '99999999'"),
    ("loans", "1000000003,10000002,2026-11-01,2026-11-15,0,no,nowhere\n", "branch: no branch 'nowhere'"),
    ("loans", "1000000099,10000002,2026-11-01,2026-11-15,0,no,central\n", "barcode: no copy with barcode '1000000099'"),
])
def test_a_chunk_checked_a_column_at_a_time_is_refused_on_the_bad_rows_line(conn_for, examples, tmp_path, name, added, problem):
    # Titles, copies and a first load's loans are checked a whole chunk at a time
    # (Kind.write_columns); a bad row sends its chunk row by row, which names it.
    conn, policy = conn_for("murakami")
    data = tmp_path / "data"
    shutil.copytree(examples, data)
    path = data / f"{name}.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + added, encoding="utf-8")
    line = len(text.splitlines()) + 1
    with pytest.raises(ImportFailed) as caught:
        _import_examples(conn, policy, data)
    assert [str(p) for p in caught.value.problems] == [f"{path}:{line}: {problem}"]
    assert _count(conn, schema.titles) == 0


def test_a_date_is_bound_on_sqlite_as_sqlalchemy_binds_it():
    """db's short way for a plain date (isoformat) gives SQLAlchemy's own text, and leaves the rest to it."""
    own = sqlite.DATE().bind_processor(sqlite.dialect())
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        (convert,) = db.bind_converters(conn, schema.titles, ["catalogued_on"])
    for value in (dt.date(2026, 11, 25), dt.date(999, 1, 2), dt.date.min, dt.date.max, None,
                  dt.datetime(2026, 11, 25, 23, 59)):
        assert convert(value) == own(value)
    with pytest.raises(TypeError):
        convert("2026-11-25")
    engine.dispose()


def test_an_instant_is_bound_on_sqlite_as_sqlalchemy_binds_it():
    """db's short way for an aware datetime (its UTC time's isoformat) gives the text SQLAlchemy's
    Instant and DATETIME give, and leaves the rest to them: None, and a naive time refused."""
    dialect = sqlite.dialect()
    instant = schema.holds.c.queued_at.type
    own_utc, own_text = instant.bind_processor(dialect), sqlite.DATETIME().bind_processor(dialect)
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        (convert,) = db.bind_converters(conn, schema.holds, ["queued_at"])
    jst = dt.timezone(dt.timedelta(hours=9))
    for value in (dt.datetime(2026, 11, 26, 3, 0, tzinfo=jst), dt.datetime(2026, 11, 26, 8, 59, 59, 999999, tzinfo=jst),
                  dt.datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=dt.timezone.utc), dt.datetime(999, 1, 2, 9, tzinfo=jst),
                  dt.datetime(2026, 3, 8, 2, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30)))):
        assert convert(value) == own_text(own_utc(value))
    assert convert(dt.datetime(2026, 11, 26, 3, 0, tzinfo=jst)) == "2026-11-25 18:00:00.000000"
    assert convert(None) is None
    with pytest.raises(ValueError, match="naive"):
        convert(dt.datetime(2026, 11, 26, 3, 0))
    engine.dispose()


def _library_of_copies(tmp_path, examples, bib_ids):
    """branches, 300 titles and one copy a bib_id given (barcodes 2000000000 on, in file order)."""
    shutil.copy(examples / "branches.csv", tmp_path / "branches.csv")
    titles = [f"T{n:04d},本{n},book,2026-01-01" for n in range(300)]
    (tmp_path / "titles.csv").write_text("bib_id,title,material_type,catalogued_on\n" + "\n".join(titles) + "\n",
                                         encoding="utf-8")
    copies = [f"{2000000000 + n},{bib_id},central,,,on_shelf" for n, bib_id in enumerate(bib_ids)]
    (tmp_path / "copies.csv").write_text("barcode,bib_id,owning_branch,location_branch,shelf_mark,state\n"
                                         + "\n".join(copies) + "\n", encoding="utf-8")
    return [(name, tmp_path / f"{name}.csv") for name in ("branches", "titles", "copies")]


def _opened(conn_for, low_limit: bool):
    """A library's connection and policy; with `low_limit`, binding at most 999 values a statement, as an SQLite before 3.32 does."""
    import sqlite3

    conn, policy = conn_for()
    if low_limit:
        if conn.dialect.name != "sqlite":
            pytest.skip("a limit of SQLite's; PostgreSQL's batches go by COPY")
        conn.connection.dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    return conn, policy


@pytest.mark.parametrize("low_limit", [False, True])
def test_each_copy_of_a_first_load_gets_its_own_title_in_file_order(conn_for, examples, tmp_path, low_limit):
    # A chunk of copies (Copies.write_columns) binds each copy's title by its bib_id: every copy
    # gets its own title, in file order, whether the chunk is one statement or, under an older
    # SQLite's limit of 999 bound values, several.
    conn, policy = _opened(conn_for, low_limit)
    bib_ids = [f"T{(n * 7) % 300:04d}" for n in range(2500)]
    import_files(conn, _library_of_copies(tmp_path, examples, bib_ids), policy, NIGHT)
    c, t = schema.copies, schema.titles
    stored = conn.execute(select(c.c.barcode, t.c.bib_id).join(t, t.c.id == c.c.title_id).order_by(c.c.id)).all()
    assert [tuple(row) for row in stored] == [(str(2000000000 + n), bib_id) for n, bib_id in enumerate(bib_ids)]


@pytest.mark.parametrize("low_limit", [False, True])
def test_a_copy_of_a_missing_title_in_a_large_chunk_is_named_on_its_line(
        conn_for, examples, tmp_path, low_limit):
    # The chunk of columns writes nothing and goes row by row, which names the line; under a
    # limit of 999 values the missing title is in a later statement of the chunk than the first.
    conn, policy = _opened(conn_for, low_limit)
    bib_ids = [f"T{(n * 7) % 300:04d}" for n in range(2500)]
    bib_ids[2300] = "T9999"
    files = _library_of_copies(tmp_path, examples, bib_ids)
    with pytest.raises(ImportFailed) as caught:
        import_files(conn, files, policy, NIGHT)
    assert [str(p) for p in caught.value.problems] == [f"{tmp_path / 'copies.csv'}:2302: bib_id: no title 'T9999'"]
    assert _count(conn, schema.copies) == 0 and _count(conn, schema.titles) == 0


def test_a_reimport_of_copies_finds_their_titles_and_names_a_missing_one(conn_for, examples, tmp_path):
    # Over copies already there (tonight's re-import) a copy that moved to another title is
    # updated, and a bib_id no title has is still named on its line.
    conn, policy = conn_for()
    bib_ids = [f"T{n % 300:04d}" for n in range(600)]
    files = _library_of_copies(tmp_path, examples, bib_ids)
    import_files(conn, files, policy, NIGHT)
    conn.commit()
    moved = [*bib_ids]
    moved[10] = "T0299"
    import_files(conn, _library_of_copies(tmp_path, examples, moved), policy, NIGHT)
    conn.commit()
    c, t = schema.copies, schema.titles
    title_of = dict(conn.execute(select(c.c.barcode, t.c.bib_id).join(t, t.c.id == c.c.title_id)).all())
    assert title_of["2000000010"] == "T0299" and title_of["2000000011"] == "T0011"
    moved[20] = "T9999"
    with pytest.raises(ImportFailed) as caught:
        import_files(conn, _library_of_copies(tmp_path, examples, moved), policy, NIGHT)
    assert [str(p) for p in caught.value.problems] == [f"{tmp_path / 'copies.csv'}:22: bib_id: no title 'T9999'"]
    conn.rollback()
    assert conn.execute(select(t.c.bib_id).join(c, t.c.id == c.c.title_id).where(c.c.barcode == "2000000010")).scalar() == "T0299"


def test_a_first_loads_loan_puts_its_copy_on_loan_whatever_the_copies_file_said(conn_for, examples, tmp_path):
    # A first load's loans go a chunk at a time (Loans.write_columns); the copies they lend are
    # put on loan, even where the copies file had them on the shelf, and each loan points at its copy.
    conn, policy = conn_for("murakami")
    data = tmp_path / "data"
    shutil.copytree(examples, data)
    loans = data / "loans.csv"
    loans.write_text(loans.read_text(encoding="utf-8") + "1000000006,10000002,2026-11-01,2026-11-15,0,no,central\n",
                     encoding="utf-8")
    _import_examples(conn, policy, data)
    c, lo = schema.copies, schema.loans
    lent = conn.execute(select(c.c.barcode, c.c.state).join(lo, lo.c.copy_id == c.c.id).order_by(lo.c.id)).all()
    assert [tuple(row) for row in lent] == [("1000000002", "on_loan"), ("1000000006", "on_loan")]
    assert conn.execute(select(c.c.state).where(c.c.barcode == "1000000001")).scalar() == "on_shelf"


def test_a_first_loads_holds_see_the_copies_its_loans_lent(conn_for, examples, tmp_path):
    # The loans file puts its copies on loan before the holds file is read, whose allocated hold
    # must find its copy on the shelf (the checks of a later file see an earlier one's writes).
    conn, policy = conn_for()
    data = tmp_path / "data"
    shutil.copytree(examples, data)
    with (data / "loans.csv").open("a", encoding="utf-8") as fh:
        fh.write("1000000001,10000001,2026-11-01,2026-11-15,0,no,central\n")
    with pytest.raises(ImportFailed) as refused:
        import_files(conn, files_in(data), policy, NIGHT)
    assert [str(p) for p in refused.value.problems] == [
        f"{data / 'holds.csv'}:2: barcode: an allocated copy must be on the shelf, not on_loan"]


def _journal_modes_seen(conn, policy, files):
    """The journal mode the import's transaction writes through, as each chunk is written."""
    seen = set()
    driver = db.sqlite_driver(conn)
    import_files(conn, files, policy, NIGHT,
                 progress=lambda _kind, _rows: seen.add(driver.execute("PRAGMA journal_mode").fetchone()[0]))
    return seen


@pytest.mark.parametrize("later_lines, problem", [
    # the same patron and title as line 2, received at another time
    (["10000003,B0000001,aioi,waiting,2026-11-22T10:00:00+09:00,counter,,,,,,"], "5: bib_id: the patron already holds this title"),
    # line 2's copy, for another patron
    (["10000001,B0000001,central,allocated,2026-11-22T10:00:00+09:00,web,,,,1000000001,,"],
     "5: barcode: the copy already serves another hold"),
    # line 4 again, as received: the same hold, imported once
    (["10000002,B0000001,aioi,waiting,2026-11-21T15:30:00+09:00,counter,phone,,,,,"], None),
    # a copy line 5 sent in transit, allocated by line 6: the state line 5 gave it is checked
    # before the copy's own check against the file's other holds
    (["10000001,B0000002,central,in_transit,2026-11-22T10:00:00+09:00,web,,,,1000000003,,",
      "10000002,B0000002,central,allocated,2026-11-22T11:00:00+09:00,web,,,,1000000003,,"],
     "6: barcode: an allocated copy must be on the shelf, not in_transit"),
])
def test_a_first_loads_holds_are_checked_against_the_files_earlier_chunks(conn_for, examples, tmp_path, monkeypatch,
                                                                         later_lines, problem):
    from ils.exchange.imports import parsing

    conn, policy = conn_for()
    monkeypatch.setattr(parsing, "CHUNK_ROWS", 1)  # each row its own chunk: a later line read after the earlier are written
    folder = tmp_path / "later"
    shutil.copytree(examples, folder)
    with (folder / "holds.csv").open("a", encoding="utf-8") as fh:
        fh.writelines(line + "\n" for line in later_lines)
    if problem is None:
        import_files(conn, files_in(folder), policy, NIGHT)
        assert _count(conn, schema.holds) == 3
        return
    with pytest.raises(ImportFailed) as refused:
        import_files(conn, files_in(folder), policy, NIGHT)
    assert [str(p) for p in refused.value.problems] == [f"{folder / 'holds.csv'}:{problem}"]


def _loans_folder(examples, tmp_path, lines):
    """The example library without its holds, its loans file these lines."""
    folder = tmp_path / "loans"
    shutil.copytree(examples, folder)
    (folder / "holds.csv").unlink()
    (folder / "loans.csv").write_text("barcode,card,loaned_on,due_on,renewals,inter_library,branch\n"
                                      + "".join(line + "\n" for line in lines), encoding="utf-8")
    return folder


def test_a_first_loads_loans_written_a_window_at_a_time_in_the_copies_order_keep_the_files_order(
        conn_for, examples, tmp_path, monkeypatch):
    from ils.exchange.imports import kinds, parsing

    conn, policy = conn_for()
    monkeypatch.setattr(parsing, "CHUNK_ROWS", 1)
    monkeypatch.setattr(kinds.Loans, "first_load_window", 2)  # lines 2-3 and 4-5 each written at once, line 6 alone
    barcodes = ["1000000007", "1000000006", "1000000004", "1000000003", "1000000002"]
    cards = ["10000001", "10000002", "10000003", "10000001", "10000001"]
    folder = _loans_folder(examples, tmp_path, [f"{b},{c},2026-11-01,2026-11-15,0,no,central"
                                                for b, c in zip(barcodes, cards, strict=True)])
    import_files(conn, files_in(folder), policy, NIGHT)
    lo, c, p = schema.loans, schema.copies, schema.patrons
    loans = conn.execute(select(lo.c.id, c.c.barcode, p.c.card_number).join(c, c.c.id == lo.c.copy_id)
                         .join(p, p.c.id == lo.c.patron_id).order_by(lo.c.id)).all()
    assert loans == [(i, b, card) for i, b, card in zip(range(1, 6), barcodes, cards, strict=True)]
    on_loan = conn.execute(select(c.c.barcode).where(c.c.state == "on_loan").order_by(c.c.barcode)).scalars().all()
    assert on_loan == sorted(barcodes)
    # the next loan (the counter's) gets the id after them
    assert conn.execute(lo.insert().values(copy_id=1, patron_id=1, loaned_on=dt.date(2026, 11, 26),
                                           due_on=dt.date(2026, 12, 10)).returning(lo.c.id)).scalar_one() == 6


def test_a_first_loads_window_is_written_from_its_columns_when_its_rows_fill_their_chunks(
        conn_for, examples, tmp_path, monkeypatch):
    # The file's last batch then holds no row: it must not turn the window into rows (the row path).
    from ils.exchange.imports import kinds, parsing

    conn, policy = conn_for()
    monkeypatch.setattr(parsing, "CHUNK_ROWS", 1)
    monkeypatch.setattr(kinds.Loans, "first_load_window", 10)
    windows = []
    from_columns = kinds.Loans.write_columns

    def noted(self, ctx, chunk):
        windows.append(len(chunk))
        return from_columns(self, ctx, chunk)

    monkeypatch.setattr(kinds.Loans, "write_columns", noted)
    folder = _loans_folder(examples, tmp_path, [f"{b},10000001,2026-11-01,2026-11-15,0,no,central"
                                                for b in ("1000000007", "1000000006", "1000000004")])
    import_files(conn, files_in(folder), policy, NIGHT)
    assert windows == [3]
    assert _count(conn, schema.loans) == 3


def test_a_first_loads_window_names_its_problems_before_a_later_lines(conn_for, examples, tmp_path, monkeypatch):
    from ils.exchange.imports import kinds, parsing

    conn, policy = conn_for()
    monkeypatch.setattr(parsing, "CHUNK_ROWS", 1)
    monkeypatch.setattr(kinds.Loans, "first_load_window", 10)
    folder = _loans_folder(examples, tmp_path, [
        "1000000007,10000001,2026-11-01,2026-11-15,0,no,central",
        "1000000099,10000001,2026-11-01,2026-11-15,0,no,central",  # line 3: no such copy, found when its window is checked
        "1000000006,10000002,2026-11-01,2026-11-15,0,no,central",
        "1000000004,10000002,2026-02-30,2026-11-15,0,no,central",  # line 5: read before the window is full
        "1000000003,99999999,2026-11-01,2026-11-15,0,no,central",
    ])
    with pytest.raises(ImportFailed) as refused:
        import_files(conn, files_in(folder), policy, NIGHT)
    loans = folder / "loans.csv"
    assert [str(problem) for problem in refused.value.problems] == [
        f"{loans}:3: barcode: no copy with barcode '1000000099'",
        f"{loans}:5: loaned_on: '2026-02-30' is not a date: day is out of range for month",
        f"{loans}:6: card: no patron with card '99999999'",
    ]
    assert _count(conn, schema.loans) == 0


# Holds received through every channel and in every status an import takes; a patron's own
# contact method where the file leaves it blank; a ready hold moves its copy to the pickup branch.
MORE_HOLDS = [
    "10000001,B0000002,higashi,ready,2026-11-19T09:15:00+09:00,opac,,,,1000000003,2026-11-25,2026-12-02",
    "10000002,B0000005,central,in_transit,2026-11-18T20:00:00+09:00,mobile,email,,,1000000006,,",
    "10000001,B0000006,BM-吉浦,waiting,2026-11-22T08:00:00+09:00,counter,none,,,,,",
    "10000002,B0000004,aioi,waiting,2026-11-21T23:30:00Z,paper,,,,,,",
    "10000001,B0000003,central,allocated,2026-11-22T09:00:00+09:00,web,phone,,,1000000004,,",
]


def _rows(conn, table):
    return [tuple(row) for row in conn.execute(select(table).order_by(table.c.id))]


def test_a_first_loads_holds_written_a_chunk_at_a_time_are_the_rows_the_row_path_writes(
        conn_for, examples, tmp_path, monkeypatch):
    # A first load's holds go a chunk at a time (Holds.write_columns), each hold's row built by
    # new_hold_columns; the same file sent row by row (resolve, new_hold_row, insert_holds) gives
    # the same holds, ids in file order, and moves the same copies.
    from ils.exchange.imports import kinds, parsing

    monkeypatch.setattr(parsing, "CHUNK_ROWS", 3)
    folder = tmp_path / "more"
    shutil.copytree(examples, folder)
    with (folder / "holds.csv").open("a", encoding="utf-8") as fh:
        fh.writelines(line + "\n" for line in MORE_HOLDS)
    written = {True: 0, False: 0}
    a_chunk_at_a_time = kinds.Holds.write_columns

    def counted(self, ctx, chunk):
        done = a_chunk_at_a_time(self, ctx, chunk)
        written[done] += 1
        return done

    monkeypatch.setattr(kinds.Holds, "write_columns", counted)
    columns, policy = conn_for("murakami")
    import_files(columns, files_in(folder), policy, NIGHT)
    assert written == {True: 3, False: 0}
    monkeypatch.setattr(kinds.Holds, "write_columns", lambda self, ctx, chunk: False)
    rows, _policy = conn_for("murakami")
    import_files(rows, files_in(folder), policy, NIGHT)
    for table in (schema.holds, schema.copies):
        assert _rows(columns, table) == _rows(rows, table)
    h, p, t = schema.holds, schema.patrons, schema.titles
    stored = columns.execute(select(h.c.id, p.c.card_number, t.c.bib_id, h.c.contact_method, h.c.queue_class,
                                    h.c.allocated_at.is_not(None)).join(p, p.c.id == h.c.patron_id)
                             .join(t, t.c.id == h.c.title_id).order_by(h.c.id)).all()
    assert [tuple(row) for row in stored] == [
        (1, "10000003", "B0000001", "email", 1, True), (2, "10000003", "B0000002", "email", 1, False),
        (3, "10000002", "B0000001", "phone", 0, False), (4, "10000001", "B0000002", "email", 1, True),
        (5, "10000002", "B0000005", "email", 1, True), (6, "10000001", "B0000006", "none", 0, False),
        (7, "10000002", "B0000004", "phone", 1, False), (8, "10000001", "B0000003", "phone", 1, True),
    ]
    # the next hold (the night's) gets the id after them
    after = new_hold_row(policy, patron_id=1, title_id=1, pickup_branch_id=1, contact_method="none", channel="web",
                         received_at=NIGHT, created_at=NIGHT, placed_by="test")
    assert insert_holds(columns, Event.PLACE, [after], None, at=NIGHT, run_id=None, actor="test") == [9]
    c, b = schema.copies, schema.branches
    moved = columns.execute(select(c.c.barcode, c.c.state, b.c.code).join(b, b.c.id == c.c.location_branch_id)
                            .where(c.c.barcode.in_(["1000000001", "1000000003", "1000000004", "1000000006"]))
                            .order_by(c.c.barcode)).all()
    assert [tuple(row) for row in moved] == [("1000000001", "on_shelf", "central"),
                                             ("1000000003", "on_hold_shelf", "higashi"),
                                             ("1000000004", "on_shelf", "central"),
                                             ("1000000006", "in_transit", "central")]


@pytest.mark.parametrize("later_lines, problem", [
    (["10000009,B0000003,central,waiting,2026-11-22T10:00:00+09:00,web,,,,,,"], "5: card: no patron with card '10000009'"),
    (["10000001,B0000099,central,waiting,2026-11-22T10:00:00+09:00,web,,,,,,"], "5: bib_id: no title 'B0000099'"),
    (["10000001,B0000003,nowhere,waiting,2026-11-22T10:00:00+09:00,web,,,,,,"], "5: pickup: no branch 'nowhere'"),
    (["10000001,B0000003,central,waiting,2026-11-22T10:00:00+09:00,web,,S9,,,,"],
     "5: series_position: series_group and series_position go together"),
    (["10000001,B0000003,central,waiting,2026-11-22T10:00:00+09:00,web,,,,1000000004,,"],
     "5: barcode: a waiting hold has no copy yet"),
    (["10000001,B0000003,central,allocated,2026-11-22T10:00:00+09:00,web,,,,,,"],
     "5: barcode: a allocated hold needs the copy's barcode"),
    (["10000001,B0000003,central,in_transit,2026-11-22T10:00:00+09:00,web,,,,1000000099,,"],
     "5: barcode: no copy with barcode '1000000099'"),
    (["10000001,B0000003,central,in_transit,2026-11-22T10:00:00+09:00,web,,,,1000000006,,"],
     "5: barcode: the copy is not a copy of this title"),
    (["10000001,B0000001,central,allocated,2026-11-22T10:00:00+09:00,web,,,,1000000002,,"],
     "5: barcode: an allocated copy must be on the shelf, not on_loan"),
    (["10000001,B0000003,central,ready,2026-11-22T10:00:00+09:00,web,,,,1000000004,2026-11-25,"],
     "5: pickup_deadline: a ready hold needs ready_on and pickup_deadline"),
    # line 4's patron and title again, in the same chunk
    (["10000002,B0000001,central,waiting,2026-11-22T10:00:00+09:00,web,,,,,,"],
     "5: bib_id: the patron already holds this title"),
    # two holds of one chunk on one copy
    (["10000001,B0000003,central,waiting,2026-11-22T10:00:00+09:00,web,,,,,,",
      "10000001,B0000005,central,allocated,2026-11-22T10:00:00+09:00,web,,,,1000000006,,",
      "10000002,B0000005,central,allocated,2026-11-22T11:00:00+09:00,web,,,,1000000006,,"],
     "7: barcode: the copy already serves another hold"),
])
def test_a_bad_hold_in_a_later_chunk_of_a_first_load_is_named_on_its_line(conn_for, examples, tmp_path, monkeypatch,
                                                                         later_lines, problem):
    # The first chunk (lines 2-3) is written a chunk at a time; the bad row's chunk writes
    # nothing and goes row by row, which names the row and its problem as resolve() says it.
    from ils.exchange.imports import parsing

    conn, policy = conn_for()
    monkeypatch.setattr(parsing, "CHUNK_ROWS", 2)
    folder = tmp_path / "bad"
    shutil.copytree(examples, folder)
    with (folder / "holds.csv").open("a", encoding="utf-8") as fh:
        fh.writelines(line + "\n" for line in later_lines)
    with pytest.raises(ImportFailed) as refused:
        import_files(conn, files_in(folder), policy, NIGHT)
    assert [str(p) for p in refused.value.problems] == [f"{folder / 'holds.csv'}:{problem}"]
    assert _count(conn, schema.holds) == 0


def test_a_first_load_writes_through_a_rollback_journal_and_a_later_import_through_the_log(conn_for, examples, tmp_path):
    conn, policy = conn_for()
    if conn.dialect.name != "sqlite":
        pytest.skip("SQLite's journal")
    bad = tmp_path / "bad"
    shutil.copytree(examples, bad)
    with (bad / "holds.csv").open("a", encoding="utf-8") as fh:
        fh.write("no-such-card,B0000001,central,waiting,2026-11-20T10:00:00+09:00,,,,,,,\n")
    with pytest.raises(ImportFailed):
        _journal_modes_seen(conn, policy, files_in(bad))
    assert _count(conn, schema.copies) == 0  # rolled back through the journal
    driver = db.sqlite_driver(conn)
    assert driver.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert _journal_modes_seen(conn, policy, files_in(examples)) == {"delete"}
    assert driver.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert _count(conn, schema.copies) > 0
    # Tonight's re-import over the loaded library: readers go on reading through the log.
    assert _journal_modes_seen(conn, policy, files_in(examples)) == {"wal"}


def test_a_first_loads_index_builds_sort_through_files_and_the_connection_keeps_its_memory_after(conn_for, examples):
    conn, policy = conn_for()
    if conn.dialect.name != "sqlite":
        pytest.skip("SQLite's temporary storage")
    driver = db.sqlite_driver(conn)
    built = {}

    def noted(_conn, _cursor, statement, *_args):
        if statement.startswith("CREATE INDEX"):
            built[statement.split()[2]] = driver.execute("PRAGMA temp_store").fetchone()[0]

    event.listen(conn, "before_cursor_execute", noted)
    _import_examples(conn, policy, examples)
    file, memory = 1, 2
    assert built["ix_copies_state_location_branch_id"] == built["ix_titles_series_id_volume"] == file
    # The holds' stage, a temporary table, came before their builds: no switch inside the transaction.
    assert built["ix_holds_status_closed_at"] == memory
    assert driver.execute("PRAGMA temp_store").fetchone()[0] == memory


def test_a_first_load_keeps_the_log_while_another_connection_has_the_file_open(conn_for, examples):
    import sqlite3

    conn, policy = conn_for()
    if conn.dialect.name != "sqlite":
        pytest.skip("SQLite's journal")
    reader = sqlite3.connect(conn.engine.url.database)
    try:
        assert reader.execute("SELECT count(*) FROM copies").fetchone() == (0,)
        assert _journal_modes_seen(conn, policy, files_in(examples)) == {"wal"}
        assert reader.execute("SELECT count(*) FROM copies").fetchone()[0] > 0
    finally:
        reader.close()


def test_a_reader_in_a_transaction_as_the_first_load_ends_leaves_the_load_in_place(make_db, caplog):
    import sqlite3

    url = make_db()
    if db.sqlite_path(url) is None:
        pytest.skip("SQLite's journal")
    engine = db.open_engine(url, busy_timeout=0.1)
    reader = None
    try:
        with engine.connect() as conn, db.rollback_journal(conn):
            with db.write_transaction(conn):
                conn.execute(schema.system_settings.update().values(value="x"))
            reader = sqlite3.connect(conn.engine.url.database, isolation_level=None)
            reader.execute("BEGIN")
            reader.execute("SELECT value FROM system_settings").fetchall()
        assert "stays in rollback-journal mode" in caplog.text
    finally:
        if reader is not None:
            reader.close()
        engine.dispose()
    with db.open_engine(url).connect() as conn:  # a connection of its own sets WAL again
        assert db.sqlite_driver(conn).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert set(conn.execute(select(schema.system_settings.c.value)).scalars()) == {"x"}
