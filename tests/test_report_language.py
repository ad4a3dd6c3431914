"""The branch reports speak the staff's language (issue 16): Japanese by default, English when the
library's staff read English; the two words files say the same keys with the same {names}."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from ils import cli
from ils.library.clock import english_date, japanese_date, staff_date
from ils.reports.formats import page_counter
from ils.reports.words import FILES, differences, placeholders

REPORTS = Path(__file__).resolve().parent.parent / "templates_reports"
NIGHT = ["batch", "run", "--now", "2026-11-26T03:00"]


def _texts(table: dict, where: str = "") -> dict[str, object]:
    """Every value of a words file by its dotted key (pull.columns.title)."""
    found: dict[str, object] = {}
    for key, value in table.items():
        at = f"{where}.{key}" if where else key
        found.update(_texts(value, at) if isinstance(value, dict) else {at: value})
    return found


def _read(name: str) -> dict[str, object]:
    return _texts(tomllib.loads((REPORTS / name).read_text(encoding="utf-8")))


def test_every_japanese_key_is_in_the_english_file_and_back_with_the_same_names_in_braces():
    ja, en = _read(FILES["ja"]), _read(FILES["en"])
    assert sorted(ja) == sorted(en)
    for key, text in ja.items():
        if isinstance(text, str):
            assert placeholders(text) == placeholders(en[key]), key
        else:
            assert text == en[key], key  # the morning PDF's lists: a setting, not words
    assert placeholders(ja["summary.words.run"]) == {"run", "time", "status"}


def test_the_program_refuses_words_files_that_depart_from_each_other():
    ja = {"sheet": {"page": "{number}/{pages} ページ", "empty": "(該当なし)"}, "morning": {"lists": ["pull", "transit"]}}
    assert differences(ja, {"sheet": {"page": "page {number} of {pages}", "empty": "(none)"},
                            "morning": {"lists": ["pull", "transit"]}}) == []
    assert differences(ja, {"sheet": {"page": "page {number}", "empty": "(none)"}, "morning": {"lists": ["pull", "transit"]}}) \
        == ["sheet.page: the names in braces differ"]
    assert differences(ja, {"sheet": {"page": "page {number} of {pages}"}, "morning": {"lists": ["transit", "pull"]}}) \
        == ["morning.lists: not the same in every language", "sheet.empty: in one language's file only"]


def test_one_function_writes_a_date_for_staff_in_either_language():
    day = dt.date(2026, 12, 1)
    assert staff_date(day, "ja") == japanese_date(day) == "2026年12月1日(火)"
    assert staff_date(day, "ja", year=False) == "12月1日(火)"
    assert staff_date(day, "en") == english_date(day) == "Tue 1 Dec 2026"
    assert staff_date(day, "en", year=False) == "Tue 1 Dec"


def test_the_html_page_line_is_the_words_page_line_counted_by_the_browser():
    assert page_counter("{number}/{pages} ページ") == 'counter(page) "/" counter(pages) " ページ"'
    assert page_counter("page {number} of {pages}") == '"page " counter(page) " of " counter(pages)'
    assert page_counter('p. {number} "<') == '"p. " counter(page) " \\22 \\3c "'


@pytest.fixture
def requested(new_library):
    """A Kitami library with one hold request for a copy on 中央's shelf: the night puts it on the pull list."""
    lib = new_library("kitami")
    lib.branch("central").patron("1001", email="taro@example.jp").title("B1")
    lib.copy("B1", "central", barcode="C1")
    lib.request("hold", "1001", "B1", pickup="central")
    return lib


def _night(runner, lib, folder: Path, language: str | None) -> Path:
    folder.mkdir()
    config = folder / "ils.toml"
    chosen = f'[policy.library]\nstaff_language = "{language}"\n' if language else ""
    config.write_text(f'{chosen}[reports]\nmorning_pdf = true\n', encoding="utf-8")
    result = runner.invoke(cli.main, [*NIGHT, "--db", lib.url, "--config", str(config)])
    assert result.exit_code == 0, result.output
    return folder / "reports" / "2026-11-26"


@pytest.mark.staff_language(None)
def test_a_night_of_a_library_whose_staff_read_english_writes_english_reports(runner, requested, tmp_path):
    day = _night(runner, requested, tmp_path / "en", "en")
    pull = (day / "central" / "pull.txt").read_text(encoding="utf-8")
    assert pull.splitlines()[0].endswith("central  Pull list    Thu 26 Nov 2026    page 1 of 1")
    assert pull.splitlines()[3].split() == ["Shelf", "mark", "Barcode", "Title", "Pickup", "Hold"]
    summary = (day / "summary.txt").read_text(encoding="utf-8")
    assert "All branches  The night's results    Thu 26 Nov 2026" in summary
    assert "Night run 1 (03:00): running, seconds" in summary  # the reports are written during the run
    assert "Hold requests: accepted" in summary
    assert (day / "central" / "pull.csv").read_bytes().decode("utf-8-sig").startswith("Shelf mark,Barcode,Title,Pickup,Hold\r\n")
    html = (day / "central" / "holdshelf.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "<p class=\"empty\">None</p>" in html
    assert 'content: "page " counter(page) " of " counter(pages);' in html
    assert "Thu 26 Nov 2026 ・ 0 listed" in html
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(day / "central" / "morning.pdf"), "-"],
                              capture_output=True, text=True, check=True).stdout
        assert "Pull list" in text and "Thu 26 Nov 2026" in text and "Stacks" in text and "1 listed" in text


@pytest.mark.staff_language(None)
def test_a_night_of_a_library_that_keeps_the_default_writes_japanese_reports(runner, requested, tmp_path):
    day = _night(runner, requested, tmp_path / "ja", None)
    pull = (day / "central" / "pull.txt").read_text(encoding="utf-8")
    assert pull.splitlines()[0].endswith("central  資料確保リスト    2026年11月26日(木)    1/1 ページ")
    summary = (day / "summary.txt").read_text(encoding="utf-8")
    assert "夜間処理 1(03:00): 実行中、所要秒数" in summary
    assert "予約受付: 受付" in summary
    html = (day / "central" / "holdshelf.html").read_text(encoding="utf-8")
    assert '<html lang="ja">' in html and '<p class="empty">該当なし</p>' in html
    assert 'content: counter(page) "/" counter(pages) " ページ";' in html


@pytest.mark.staff_language("en")
def test_one_persons_english_prints_the_librarys_japanese_reports_in_english(runner, requested, tmp_path):
    day = _night(runner, requested, tmp_path / "mine", None)  # the library's setting: Japanese
    assert "Pull list" in (day / "central" / "pull.txt").read_text(encoding="utf-8")
