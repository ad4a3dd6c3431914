"""CSV that a spreadsheet cannot run: an imported `=HYPERLINK(...)` comes out of every report and --csv as text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ils import cli
from ils.infra.output import FORMULA_STARTS, spreadsheet_column, spreadsheet_text, write_csv, write_csv_columns

FORMULA_TITLE = '=HYPERLINK("http://x","y")'
FORMULA_SHELF_MARK = "-2+3+cmd|' /C calc'!A0"
ODF_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
ODF_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_text_that_could_start_a_formula_gets_a_leading_quote(start):
    assert spreadsheet_text(f"{start}1+1") == f"'{start}1+1"
    assert spreadsheet_text(f"本{start}1") == f"本{start}1"  # only the first character matters


def test_numbers_stay_numbers_and_other_values_are_their_text():
    assert spreadsheet_text(-3) == -3 and spreadsheet_text(2.5) == 2.5 and spreadsheet_text(None) is None
    assert spreadsheet_text("-3") == "'-3"  # a negative number in a text column is text to a spreadsheet
    assert spreadsheet_text(dt.date(2026, 11, 26)) == "2026-11-26"
    assert spreadsheet_text("'=1") == "'=1"  # already quoted: left alone


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_a_column_gets_the_quotes_its_cells_would_get_one_by_one(start):
    columns = [["本", f"{start}1", "a\0=b", f"\0{start}"], [1, None, 2.5, -3], ["x", 2, None, f"{start}y"],
               ["a", "b", "c", "d"], [dt.date(2026, 11, 26), None, True, "e"], [f"{start}z", "本", "c", "d"]]
    for column in columns:
        assert list(spreadsheet_column(column)) == [spreadsheet_text(cell) for cell in column]
    assert spreadsheet_column(columns[-1])[0] == f"'{start}z"  # a text column's first cell is looked at too
    by_rows, by_columns = io.StringIO(), io.StringIO()
    write_csv(by_rows, ["=h", "b", "c", "d", "e", "f"], list(zip(*columns, strict=True)), line_end="\r\n")
    write_csv_columns(by_columns, ["=h", "b", "c", "d", "e", "f"], columns, line_end="\r\n")
    assert by_columns.getvalue() == by_rows.getvalue()


@pytest.fixture
def poisoned(tmp_path, examples, runner, db_url):
    """Murakami's example files with a formula as a title and another as a shelf mark, imported and run."""
    data = tmp_path / "data"
    shutil.copytree(examples, data)
    titles = data / "titles.csv"
    titles.write_text(titles.read_text(encoding="utf-8").replace(
        "B0000001,天と地の物語 上,", 'B0000001,"=HYPERLINK(""http://x"",""y"")",'), encoding="utf-8")
    copies = data / "copies.csv"
    copies.write_text(copies.read_text(encoding="utf-8").replace(
        "1000000001,B0000001,central,,913.6/ヤ/1,", f"1000000001,B0000001,central,,\"{FORMULA_SHELF_MARK}\","),
        encoding="utf-8")
    for args in (["init", "--profile", "murakami"], ["import", "all", str(data)]):
        result = runner.invoke(cli.main, [*args, "--db", db_url])
        assert result.exit_code == 0, result.output
    return db_url


def _night(runner, db_url, tmp_path, encoding) -> Path:
    config = tmp_path / "ils.toml"
    config.write_text(f'[reports]\nformats = ["csv"]\ncsv_encoding = "{encoding}"\n', encoding="utf-8")
    result = runner.invoke(cli.main, ["batch", "run", "--now", "2026-11-26T03:00", "--db", db_url, "--config", str(config)])
    assert result.exit_code == 0, result.output
    return tmp_path / "reports" / "2026-11-26"


def _pull_row(data: bytes, encoding: str) -> dict:
    rows = list(csv.DictReader(io.StringIO(data.decode(encoding), newline="")))
    [row] = [r for r in rows if r["資料番号"] == "1000000001"]
    return row


@pytest.mark.staff_language("ja")  # the report's Japanese headers (資料番号)
@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp932"])
def test_an_imported_formula_comes_out_of_the_nights_report_csv_as_text(runner, poisoned, tmp_path, encoding):
    reports = _night(runner, poisoned, tmp_path, encoding)
    row = _pull_row((reports / "central" / "pull.csv").read_bytes(), encoding)
    assert row["書名"] == "'" + FORMULA_TITLE
    assert row["請求記号"] == "'" + FORMULA_SHELF_MARK
    assert row["予約番号"].isdigit()  # the hold number is still a number
    result = runner.invoke(cli.main, ["report", "pull", "--branch", "central", "--date", "2026-11-26", "--format", "csv",
                                      "--csv-encoding", encoding, "--db", poisoned])
    assert _pull_row(result.stdout_bytes, encoding)["書名"] == "'" + FORMULA_TITLE


def test_an_imported_formula_comes_out_of_a_csv_listing_as_text(runner, poisoned):
    result = runner.invoke(cli.main, ["patron", "holds", "10000003", "--csv", "--db", poisoned])
    assert result.exit_code == 0, result.output
    titles = [row["title"] for row in csv.DictReader(io.StringIO(result.stdout))]
    assert "'" + FORMULA_TITLE in titles
    assert not any(t.startswith(FORMULA_STARTS) for t in titles)


def _libreoffice_cells(csv_file: Path, workdir: Path) -> list[list[tuple[str | None, str | None, str]]]:
    """The cells LibreOffice Calc makes of a UTF-8 CSV: (formula, value type, text) for each."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{workdir / 'profile'}", "--headless",
         "--infilter=CSV:44,34,76,1", "--convert-to", "fods", "--outdir", str(workdir), str(csv_file)],
        check=True, capture_output=True, timeout=600,
    )
    sheet = ET.parse(workdir / f"{csv_file.stem}.fods")
    return [
        [(cell.get(f"{{{ODF_TABLE}}}formula"), cell.get(f"{{{ODF_OFFICE}}}value-type"), "".join(cell.itertext()).strip())
         for cell in row.iter(f"{{{ODF_TABLE}}}table-cell")]
        for row in sheet.iter(f"{{{ODF_TABLE}}}table-row")
    ]


def test_libreoffice_reads_the_report_as_text_not_formulas(runner, poisoned, tmp_path):
    reports = _night(runner, poisoned, tmp_path, "utf-8-sig")
    cells = _libreoffice_cells(reports / "central" / "pull.csv", tmp_path)
    assert all(formula is None for row in cells for formula, _, _ in row)
    title = next(cell for row in cells for cell in row if FORMULA_TITLE in cell[2])
    assert title == (None, "string", "'" + FORMULA_TITLE)
    hold_numbers = [row[4] for row in cells[1:] if len(row) > 4 and row[4][2]]
    assert hold_numbers and all(kind == "float" for _, kind, _ in hold_numbers)  # numbers stay numbers
    # The same cell without the quote is a live formula: the check above is not vacuous.
    raw = tmp_path / "raw.csv"
    raw.write_text('書名\n"=HYPERLINK(""http://x"",""y"")"\n', encoding="utf-8-sig")
    assert _libreoffice_cells(raw, tmp_path)[1][0][0] == 'of:=HYPERLINK("http://x";"y")'


def _written_by_the_csv_module(header, columns, line_end):
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator=line_end)
    writer.writerow([spreadsheet_text(cell) for cell in header])
    writer.writerows(zip(*map(spreadsheet_column, columns), strict=True))
    return stream.getvalue()


_CELLS = st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.booleans(), st.dates(),
                   st.text(alphabet=st.sampled_from('ab本 ,"\r\n\0=-\'+@\t'), max_size=4), st.text(max_size=3))


@given(st.integers(1, 4).flatmap(lambda width: st.lists(st.lists(_CELLS, min_size=width, max_size=width), max_size=6)),
       st.sampled_from(["\r\n", "\n"]))
def test_a_table_given_by_columns_is_written_as_the_csv_module_writes_it(rows, line_end):
    columns = [list(column) for column in zip(*rows, strict=True)] or [[]]
    header = [f"h{i}" for i in range(len(columns))]
    mine = io.StringIO()
    write_csv_columns(mine, header, columns, line_end=line_end)
    assert mine.getvalue() == _written_by_the_csv_module(header, columns, line_end)


@pytest.mark.parametrize("columns", [[["a", "", "b"]], [["a", None]], [["x,y", "z"], ["1", "2"]], [['say "hi"'], ["2"]],
                                     [["two\nlines"], [3]], [["本"], [2.5]], [[], []], [["a"], ["b"]]])
def test_cells_the_csv_module_quotes_are_quoted_and_the_rest_written_as_they_are(columns):
    header = [f"h{i}" for i in range(len(columns))]
    mine = io.StringIO()
    write_csv_columns(mine, header, columns, line_end="\r\n")
    assert mine.getvalue() == _written_by_the_csv_module(header, columns, "\r\n")
