"""Staff read Japanese at the terminal by default, English by a setting (issue 16): Error lines,
the counter's results, table headers; machines keep their keys. And the catalog behind it is
whole: every message the code marks has its Japanese, with the same placeholders."""

from __future__ import annotations

import ast
import gettext
import json
import re
import string
import sys
from pathlib import Path

import pytest

from ils import cli
from ils.infra import i18n
from ils.library.staff import add_account

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import messages  # noqa: E402  (tools/messages.py, the catalog's own tool)

JAPANESE = {"ILS_STAFF_LANGUAGE": None}  # the suite runs in English (conftest); unset, the default speaks


@pytest.fixture
def lib(new_library):
    lib = new_library("kitami")
    lib.branch("central").patron("3001").title("B1")
    with lib.conn.begin():
        add_account(lib.conn, "s042", "supervisor", now=_now())
    yield lib


def _now():
    import datetime as dt

    return dt.datetime(2026, 11, 26, 1, tzinfo=dt.UTC)


def ils(runner, lib, *args, env=None):
    return runner.invoke(cli.main, [*args, "--db", lib.url, "--now", "2026-11-26T10:00"],
                         env={"ILS_STAFF": "s042", "ILS_BRANCH": "central", **(env or {})})


def test_an_error_at_the_counter_is_in_japanese_by_default(runner, lib):
    result = ils(runner, lib, "checkin", "--barcode", "nope", env=JAPANESE)
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("Error: バーコード 'nope' の資料はありません")


def test_the_library_may_choose_english_and_one_person_may_choose_otherwise(runner, lib, tmp_path):
    config = tmp_path / "ils.toml"
    config.write_text('[policy.library]\nstaff_language = "en"\n', encoding="utf-8")
    english = ils(runner, lib, "checkin", "--barcode", "nope", "--config", str(config), env=JAPANESE)
    assert "Error: no copy with barcode 'nope'" in english.stderr
    own = ils(runner, lib, "checkin", "--barcode", "nope", "--config", str(config), env={"ILS_STAFF_LANGUAGE": "ja"})
    assert "Error: バーコード 'nope' の資料はありません" in own.stderr


def test_the_counters_result_reads_in_japanese_and_its_json_keeps_its_keys(runner, lib):
    copy = lib.copy("B1", "central", barcode="111")
    shown = ils(runner, lib, "checkin", "--barcode", copy, env=JAPANESE)
    assert shown.exit_code == 0, shown.output
    header = shown.stdout.splitlines()[0].split()
    assert header[:3] == ["処理", "資料番号", "資料名"] and "書架に戻してください" in shown.stdout
    machine = json.loads(ils(runner, lib, "checkin", "--barcode", copy, "--json", env=JAPANESE).stdout)
    assert set(machine[0]) >= {"action", "barcode", "title", "message"}


def test_dates_read_the_japanese_way_on_the_terminal_and_iso_for_programs(runner, lib):
    copy = lib.copy("B1", "central", barcode="111")
    shown = ils(runner, lib, "checkout", "--card", "3001", "--barcode", copy, env=JAPANESE)
    assert shown.exit_code == 0, shown.output
    assert "2026年12月10日(木)" in shown.stdout  # Kitami lends for two weeks
    lib_copy = lib.copy("B1", "central", barcode="112")
    machine = ils(runner, lib, "checkout", "--card", "3001", "--barcode", lib_copy, "--csv", env=JAPANESE)
    assert "2026-12-10" in machine.stdout and "年" not in machine.stdout.splitlines()[1]


def test_an_error_before_any_database_is_open_is_in_japanese_too(runner, tmp_path):
    missing = tmp_path / "nowhere" / "ils.db"
    result = runner.invoke(cli.main, ["summary", "--db", str(missing)], env=JAPANESE)
    assert result.exit_code == 1 and "Error: データベースのフォルダ" in result.stderr


def test_every_table_a_person_reads_has_its_columns_in_japanese(runner, lib):
    lib.copy("B1", "central", barcode="111")
    commands = [["summary"], ["policy", "show"], ["calendar", "show", "--branch", "central", "--days", "2"],
                ["batch", "runs"], ["request", "list"], ["audit"], ["patron", "show", "3001"]]
    seen: set[str] = set()
    for command in commands:
        result = ils(runner, lib, *command, env=JAPANESE)
        assert result.exit_code == 0, (command, result.output)
    # Every column name the program can print is in the catalog: read them off the JSON of the same commands.
    for command in commands:
        result = ils(runner, lib, *command, "--json", env=JAPANESE)
        for row in json.loads(result.stdout or "[]"):
            seen.update(row)
    untranslated = sorted(name for name in seen if i18n._catalog("ja").pgettext("column", name) == name)
    assert not untranslated, f"columns with no Japanese in data/locale/ja/LC_MESSAGES/ils.po: {untranslated}"


# The catalog -----------------------------------------------------------------------


def _fields(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conversion in string.Formatter().parse(text) if name is not None}


def test_every_message_the_code_marks_has_its_japanese_with_the_same_placeholders():
    template = {m.id for m in messages.extracted() if m.id}
    japanese = {m.id: m.string for m in messages.read("ja") if m.id and m.context is None}
    assert template == set(japanese), (
        f"run `python tools/messages.py` and translate: new {sorted(template - set(japanese))[:5]}, "
        f"gone {sorted(set(japanese) - template)[:5]}")
    empty = [key for key, text in japanese.items() if not text]
    assert not empty, f"untranslated in data/locale/ja/LC_MESSAGES/ils.po: {empty[:5]}"
    wrong = [key for key, text in japanese.items() if _fields(key) != _fields(text)]
    assert not wrong, f"placeholders differ between the English and the Japanese: {wrong[:5]}"


def test_the_compiled_catalog_is_the_one_the_po_file_says():
    with open(messages.catalog_path("ja", "mo"), "rb") as f:
        compiled = gettext.GNUTranslations(f)
    for m in messages.read("ja"):
        if not m.id:
            continue
        got = compiled.pgettext(m.context, m.id) if m.context else compiled.gettext(m.id)
        assert got == m.string, f"ils.mo is older than ils.po ({m.id!r}): run `python tools/messages.py`"


def test_no_module_that_speaks_to_staff_uses_its_underscore_for_anything_else():
    # `for _ in ...` in a function that also calls _() would make _ a local there: the call fails.
    bound = []
    for path in [*(p for p in REPO.joinpath("ils").rglob("*.py") if not p.is_symlink()),  # ils/cli.py: cli.py's link
                 *REPO.joinpath("batch").rglob("*.py"), REPO / "cli.py"]:
        source = path.read_text(encoding="utf-8")
        if not re.search(r"^from ils\.infra\.i18n import .*\b_\b", source, re.M):
            continue
        tree = ast.parse(source)
        bound += [f"{path.relative_to(REPO)}:{node.lineno}" for node in ast.walk(tree)
                  if (isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store))
                  or (isinstance(node, ast.arg) and node.arg == "_")]
    assert not bound, f"these bind _ where _() is the staff's language: {bound}"


def test_an_import_files_reasons_are_in_the_staffs_language(runner, db_url, tmp_path):
    # The file, line and column stay as they are; the reason and the Error line are the staff's.
    runner.invoke(cli.main, ["init", "--profile", "kitami", "--db", db_url])
    bad = tmp_path / "titles.csv"
    bad.write_text("bib_id,title,material_type,catalogued_on\nB1,良い本,book,2026-01-01\n"
                   "B2,悪い日付,book,2026-13-45\nB1,重複,book,\n", encoding="utf-8")
    japanese = runner.invoke(cli.main, ["import", "titles", str(bad), "--db", db_url], env=JAPANESE)
    assert japanese.exit_code == 1
    assert f"{bad}:3: catalogued_on: '2026-13-45' は日付ではありません: 月は1から12までです" in japanese.stderr
    assert f"{bad}:4: bib_id: 'B1' は 2 行目にもあります" in japanese.stderr
    assert japanese.stderr.strip().endswith(f"Error: {bad}: 3 行に 2 件の問題があります。何も取り込んでいません")
    english = runner.invoke(cli.main, ["import", "titles", str(bad), "--db", db_url])
    assert f"{bad}:3: catalogued_on: '2026-13-45' is not a date: month must be in 1..12" in english.stderr
    assert f"{bad}:4: bib_id: 'B1' is also on line 2" in english.stderr
    assert english.stderr.strip().endswith(f"Error: {bad}: 2 problem(s) in 3 row(s); nothing was imported")


@pytest.mark.parametrize("language, cell, reason", [
    ("ja", "2026/02/30", "'2026/02/30' は日付ではありません: その月にない日です"),
    ("en", "2026/02/30", "'2026/02/30' is not a date: day is out of range for month"),  # ours, not Python's words
    ("ja", "H31.5.1", "平成31年5月1日 は平成の日付ではありません(平成は 1989-01-08 から 2019-04-30 まで)"),
    ("en", "R1.4.30", "令和1年4月30日 is not a day of 令和 (2019-05-01 to today)"),
    ("ja", "いつか", "'いつか' は日付ではありません(YYYY-MM-DD、"),
])
def test_a_dates_reason_is_in_the_staffs_language(monkeypatch, language, cell, reason):
    from ils.exchange.dates import parse_date

    monkeypatch.setenv("ILS_STAFF_LANGUAGE", language)
    with pytest.raises(ValueError) as refused:
        parse_date(cell)
    assert str(refused.value).startswith(reason)


def test_the_other_cell_reasons_are_in_japanese_too(monkeypatch):
    from ils.exchange.imports import fields

    monkeypatch.setenv("ILS_STAFF_LANGUAGE", "ja")
    for parse, cell, reason in [(fields.yes_no, "maybe", "'maybe' は yes でも no でもありません"),
                                (fields.integer(0, 9), "12", "12 は 9 より大きい値です"),
                                (fields.one_of(("open", "closed")), "ajar", "'ajar' は open, closed のどれでもありません")]:
        with pytest.raises(ValueError, match=re.escape(reason)):
            parse(cell)
