"""The words people read live in data and templates a librarian edits; a file that lacks one is refused at once."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from ils.circulation.slips import transit_slip, transit_slips
from ils.errors import WordsError
from ils.infra import words
from ils.mail import compose
from ils.mail.newsletter import NDC_CLASSES, NDC_NAMES
from lines import unstamped

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "data" / "words"


def _write(directory: Path, ja: str, en: str) -> Path:
    (directory / "ja.toml").write_text(ja, encoding="utf-8")
    (directory / "en.toml").write_text(en, encoding="utf-8")
    return directory


def test_every_language_file_has_the_same_sections_and_keys():
    files = {language: tomllib.loads((SHIPPED / f"{language}.toml").read_text(encoding="utf-8"))
             for language in words.LANGUAGES}
    shapes = {language: {name: set(keys) for name, keys in data.items()} for language, data in files.items()}
    assert shapes["en"] == shapes["ja"]
    # every section is read by the program: reasons (ils/frontend/reasons.py), ndc (ils/mail/newsletter.py),
    # expected_wait (ils/holds/wait.py)
    assert set(shapes["ja"]) == {"reasons", "ndc", "expected_wait"}


def test_a_section_comes_in_every_language(tmp_path):
    found = words.section("greetings", ["hello"], _write(tmp_path, 'greetings.hello = "こんにちは"\n',
                                                          'greetings.hello = "hello"\n'))
    assert found == {"ja": {"hello": "こんにちは"}, "en": {"hello": "hello"}}


def test_a_key_missing_in_one_language_is_refused_naming_the_file_and_the_key(tmp_path):
    directory = _write(tmp_path, '[reasons]\noverdue = "延滞"\nlimit_reached = "上限"\n',
                       '[reasons]\noverdue = "overdue"\n')
    with pytest.raises(WordsError, match=r"en\.toml: \[reasons\] has no text for limit_reached"):
        words.section("reasons", ["overdue", "limit_reached"], directory)


def test_a_key_no_code_uses_is_refused_as_a_likely_typo(tmp_path):
    directory = _write(tmp_path, '[reasons]\noverdue = "延滞"\noverdeu = "延滞"\n', '[reasons]\noverdue = "overdue"\n')
    with pytest.raises(WordsError, match=r"ja\.toml: \[reasons\] overdeu: no such key in the program"):
        words.section("reasons", ["overdue"], directory)


@pytest.mark.parametrize("ja, problem", [
    ('[reasons]\noverdue = ""\n', "must be a non-empty string"),
    ('[reasons]\noverdue = 3\n', "must be a non-empty string"),
    ('[reasons\noverdue = "延滞"\n', "not readable TOML"),
    ('overdue = "延滞"\n', r"no \[reasons\] section"),
])
def test_an_empty_text_a_number_or_broken_toml_is_refused(tmp_path, ja, problem):
    directory = _write(tmp_path, ja, '[reasons]\noverdue = "overdue"\n')
    with pytest.raises(WordsError, match=problem):
        words.section("reasons", ["overdue"], directory)


def test_a_missing_language_file_is_refused(tmp_path):
    (tmp_path / "ja.toml").write_text('[reasons]\noverdue = "延滞"\n', encoding="utf-8")
    with pytest.raises(WordsError, match=r"en\.toml: missing"):
        words.section("reasons", ["overdue"], tmp_path)


def test_the_newsletter_names_each_ndc_class_in_each_language():
    assert [NDC_NAMES["ja"][c] for c in NDC_CLASSES][:3] == ["総記", "哲学", "歴史"]
    assert NDC_NAMES["en"]["9"] == "Literature"


def test_the_transit_slip_is_one_line_for_a_hold_or_for_going_home():
    # The counter's scan (ils/circulation/copies.py) and the 回送リスト (ils/reports/lists.py) print this.
    assert transit_slip("中央図書館", 812, "1000003433", "銀河鉄道の夜") == "中央図書館 行き / 予約 812 / 1000003433 銀河鉄道の夜"
    assert transit_slip("東分館", None, "1000003815", "坊っちゃん") == "東分館 行き / 返却 / 1000003815 坊っちゃん"


def test_every_subject_carries_the_librarys_name_as_the_template_writes_it():
    library = {"name": "北見市立図書館", "name_en": "Kitami City Library"}
    assert compose.subject_line("ja", library, "予約資料のご用意ができました") == "【北見市立図書館】予約資料のご用意ができました"
    assert compose.subject_line("en", library, "Your hold is ready") == "[Kitami City Library] Your hold is ready"



class _BrokenWords:
    """A meta-path finder under which importing `cli` fails as a broken words file makes it fail."""

    def find_spec(self, name, path=None, target=None):
        if name == "ils.cli":
            raise WordsError("data/words/en.toml: [reasons] has no text for limit_reached")
        return None


@pytest.mark.parametrize("verbose", [False, True])
def test_a_words_file_broken_stops_the_command_with_one_error_line(monkeypatch, verbose):
    # The words are read as `ils.cli` is imported, before ils.cli.IlsGroup can catch anything:
    # the entry point (ils/__main__.py) says it in one line; -v shows the traceback.
    import ils.__main__ as entry

    monkeypatch.delitem(sys.modules, "ils.cli", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_BrokenWords(), *sys.meta_path])
    monkeypatch.setattr(sys, "argv", ["ils", *(["-v"] if verbose else []), "batch", "run"])
    if verbose:
        with pytest.raises(WordsError):
            entry.main()
    else:
        with pytest.raises(SystemExit) as exited:
            entry.main()
        assert unstamped(exited.value.code) == "Error: data/words/en.toml: [reasons] has no text for limit_reached"


def test_the_transit_list_writes_each_copys_slip_as_the_counter_does():
    # transit_slips shares one template context between lines: no line may keep another's hold.
    copies = [("中央図書館", 812, "1000003433", "銀河鉄道の夜"), ("東分館", None, "1000003815", "坊っちゃん"),
              ("中央図書館", 0, "1000003816", "こころ")]
    assert transit_slips(copies) == [transit_slip(*copy) for copy in copies]
    assert transit_slips(copies)[1] == "東分館 行き / 返却 / 1000003815 坊っちゃん"
