"""Staff read Japanese at the terminal by default, English by a setting (issue 16): Error lines,
the counter's results, table headers; machines keep their keys. And the catalog behind it is
whole: every message the code marks has its Japanese, with the same placeholders."""

from __future__ import annotations

import ast
import gettext
import json
import os
import re
import string
import subprocess
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


def _texts(message) -> tuple[str, ...]:
    """A message's text, or a plural message's forms (click's ngettext)."""
    return tuple(message) if isinstance(message, (tuple, list)) else (message,)


def _fields(message) -> set[str]:
    return {name for text in _texts(message)
            for _literal, name, _spec, _conversion in string.Formatter().parse(text) if name is not None}


def test_every_message_the_code_marks_has_its_japanese_with_the_same_placeholders():
    template = {_texts(m.id) for m in messages.extracted() if m.id}
    japanese = {_texts(m.id): m.string for m in messages.read("ja") if m.id and m.context is None}
    assert template == set(japanese), (
        f"run `python tools/messages.py` and translate: new {sorted(template - set(japanese))[:5]}, "
        f"gone {sorted(set(japanese) - template)[:5]}")
    empty = [key for key, text in japanese.items() if not all(_texts(text))]
    assert not empty, f"untranslated in data/locale/ja/LC_MESSAGES/ils.po: {empty[:5]}"
    # click formats its messages with every value it has, so its Japanese may leave one out
    # ('{value!r} is not a valid {number_type}.': 'x' は正しい数ではありません); ours say them all.
    clicks = {_texts(message) for message, _where, _line in messages.click_messages()}
    wrong = [key for key, text in japanese.items()
             if not (_fields(text) <= _fields(key) if key in clicks else _fields(text) == _fields(key))]
    assert not wrong, f"placeholders differ between the English and the Japanese: {wrong[:5]}"


def test_the_compiled_catalog_is_the_one_the_po_file_says():
    with open(messages.catalog_path("ja", "mo"), "rb") as f:
        compiled = gettext.GNUTranslations(f)
    for m in messages.read("ja"):
        if not m.id:
            continue
        if isinstance(m.id, (tuple, list)):  # Japanese has one form for every count
            got = tuple(compiled.ngettext(m.id[0], m.id[1], n) for n in (1, 2))
            expected = (_texts(m.string)[0],) * 2
        else:
            got = compiled.pgettext(m.context, m.id) if m.context else compiled.gettext(m.id)
            expected = m.string
        assert got == expected, f"ils.mo is older than ils.po ({m.id!r}): run `python tools/messages.py`"


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


# click's own messages -------------------------------------------------------------

STAMPED_ERROR = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00 Error: (.*)$", re.M)

# A person's mistakes on the command line, and what click says back, in each language.
MISTAKES = [
    (["batch", "run", "--fo"],
     ["使い方: ils batch run [OPTIONS]", "詳しくは 'ils batch run --help' を見てください",
      "Error: オプション '--fo' はありません (もしかして: '--now', '--only')"],
     ["Usage: ils batch run [OPTIONS]", "Try 'ils batch run --help' for help.",
      "Error: No such option '--fo'. (Did you mean one of: '--now', '--only'?)"]),
    (["patron", "show"],
     ["使い方: ils patron show [OPTIONS] CARD", "Error: 必要な引数がありません: 'CARD'."],
     ["Usage: ils patron show [OPTIONS] CARD", "Error: Missing argument 'CARD'."]),
    (["mail", "list", "--state", "lost"],
     ["Error: '--state' の値が正しくありません: 'lost' は 'queued', 'sending', 'sent', 'failed', 'unconfirmed' のどれでもありません"],
     ["Error: Invalid value for '--state': 'lost' is not one of 'queued', 'sending', 'sent', 'failed', 'unconfirmed'."]),
    (["hold", "cancel", "12x"],
     ["使い方: ils hold cancel [OPTIONS] HOLD_ID", "Error: 'HOLD_ID' の値が正しくありません: '12x' は正しい数ではありません"],
     ["Error: Invalid value for 'HOLD_ID': '12x' is not a valid integer."]),
    (["summary", "extra"],
     ["Error: 余分な引数があります: extra"],
     ["Error: Got unexpected extra argument (extra)"]),
]


def _ils_process(*args: str, language: str | None) -> subprocess.CompletedProcess:
    """`ils` as staff run it (the installed command): its own process, the shell's $ILS_STAFF_LANGUAGE (unset: the default)."""
    env = {k: v for k, v in os.environ.items() if k != "ILS_STAFF_LANGUAGE"}
    if language:
        env["ILS_STAFF_LANGUAGE"] = language
    return subprocess.run([str(Path(sys.executable).with_name("ils")), *args], env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=120)


@pytest.mark.parametrize("args, japanese, english", MISTAKES, ids=[" ".join(m[0]) for m in MISTAKES])
def test_clicks_usage_errors_are_in_japanese_by_default_and_english_by_the_variable(args, japanese, english):
    for language, expected in ((None, japanese), ("en", english)):
        done = _ils_process(*args, language=language)
        assert done.returncode == 2, done.stderr  # click's status for a usage error
        assert "Traceback" not in done.stderr and done.stdout == ""
        for line in expected:
            assert line in done.stderr, (language, done.stderr)
        # the one Error line, stamped with the library's time like every other
        errors = STAMPED_ERROR.findall(done.stderr)
        assert len(errors) == 1 and f"Error: {errors[0]}" == expected[-1], done.stderr
        if language is None:
            assert not re.search(r"Usage:|Try '|Error: [A-Z]", done.stderr), done.stderr


def test_a_usage_error_of_ours_follows_the_librarys_setting(runner, lib, tmp_path):
    # Met once the database is open, it is in the library's language, or the person's own.
    config = tmp_path / "english.toml"  # not ./ils.toml, which every command would read
    config.write_text('[policy.library]\nstaff_language = "en"\n', encoding="utf-8")
    asked = ("report", "pull", "--threshold", "2")
    english = ils(runner, lib, *asked, "--config", str(config), env=JAPANESE)
    assert english.exit_code == 2
    assert "Error: --threshold is for holds_per_copy, not pull" in english.stderr
    assert "Usage: main report" in english.stderr and "使い方" not in english.stderr
    japanese = ils(runner, lib, *asked, env=JAPANESE)
    assert japanese.exit_code == 2
    assert "Error: --threshold は holds_per_copy のためのオプションです(pull には使えません)" in japanese.stderr
    assert "使い方: main report" in japanese.stderr
    own = ils(runner, lib, *asked, "--config", str(config), env={"ILS_STAFF_LANGUAGE": "ja"})
    assert "Error: --threshold は holds_per_copy のためのオプションです" in own.stderr


def test_a_click_usage_error_follows_the_variable_whatever_the_database(runner, lib, tmp_path):
    # click parses before anything is opened: its errors are in the variable's language, or Japanese.
    result = ils(runner, lib, "hold", "cancel", "12x", env={"ILS_STAFF_LANGUAGE": "en"})
    assert result.exit_code == 2 and "Error: Invalid value for 'HOLD_ID': '12x' is not a valid integer." in result.stderr
    result = ils(runner, lib, "hold", "cancel", "12x", env=JAPANESE)
    assert result.exit_code == 2 and "'12x' は正しい数ではありません" in result.stderr


def test_every_click_module_that_speaks_looks_in_our_catalog(runner):
    # A click that moved a message to a module of its own, or stopped using gettext's `_`,
    # fails here rather than printing English to staff.
    import click

    assert runner.invoke(cli.main, ["--version"]).exit_code == 0  # what `ils` does when it starts
    folder = Path(click.__file__).parent
    english = set(messages.CLICK_IN_ENGLISH)
    by_file: dict[str, list] = {}
    for message, where, _line in messages.click_messages():
        by_file.setdefault(where.removeprefix("click/"), []).append(message)
    assert by_file, "no message found in the installed click: has it stopped using gettext?"
    for name, said in sorted(by_file.items()):
        module = sys.modules.get(f"click.{Path(name).with_suffix('').as_posix().replace('/', '.')}")
        staff = [m for m in said if _texts(m)[0] not in english]
        if module is None:  # loaded later, by what ils does not do (shell completion, an editor)
            assert not staff, f"click/{name} is not loaded when ils starts, yet staff could read {staff[:3]}"
            continue
        assert (folder / name).is_file()
        if any(not isinstance(m, tuple) for m in said):
            assert module._ is i18n._, f"click/{name} still looks its messages up with gettext's own _"
        if any(isinstance(m, tuple) for m in said):
            assert module.ngettext is i18n.ngettext, f"click/{name} still uses gettext's own ngettext"


def test_clicks_help_stays_english_but_its_usage_line(monkeypatch):
    # The help texts are English (issue 16 leaves them); the usage line is the one an error shows too.
    monkeypatch.delenv("ILS_STAFF_LANGUAGE")
    done = _ils_process("batch", "run", "--help", language=None)
    assert done.returncode == 0
    assert done.stdout.startswith("使い方: ils batch run [OPTIONS]")
    assert "Options:" in done.stdout and "Show this message and exit." in done.stdout


@pytest.mark.parametrize("language, text, reason", [
    ("ja", "12/29", "'12/29' は月日(12-29 のように)ではありません"),
    ("en", "12/29", "'12/29' is not a month and day like 12-29"),
    ("ja", "13-01", "'13-01': 月は1から12までです"),
    ("en", "02-30", "'02-30': month 2 has no day 30"),
    ("ja", "02-30", "'02-30': 2月に30日はありません"),
])
def test_a_year_end_closures_reason_is_ours_in_the_staffs_language(monkeypatch, language, text, reason):
    from ils.library.calendar import parse_year_end

    monkeypatch.setenv("ILS_STAFF_LANGUAGE", language)
    with pytest.raises(ValueError) as refused:
        parse_year_end(f"12-29/{text}")
    assert str(refused.value) == reason
