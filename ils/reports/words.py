"""The words printed on the branch reports, in the staff's language: templates_reports/reports.toml
(Japanese) and reports.en.toml (English), the same keys and {names} in both."""

from __future__ import annotations

import string
import tomllib

from ils.errors import WordsError
from ils.infra import i18n
from ils.infra.i18n import _
from ils.infra.resources import report_templates_path

# Each staff language's file (ils.infra.i18n.LANGUAGES). Japanese is the one librarians print.
FILES = {"ja": "reports.toml", "en": "reports.en.toml"}


def _read(name: str) -> dict:
    path = report_templates_path(name)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise WordsError(_("{path}: not readable TOML: {exc}").format(path=path, exc=exc)) from None


def placeholders(text: str) -> set[str]:
    """The {names} a text's report fills in."""
    return {field for _text, field, _spec, _conversion in string.Formatter().parse(text) if field is not None}


def differences(ours: dict, theirs: dict, where: str = "") -> list[str]:
    """How `theirs` departs from `ours`: a key one lacks, other {names} in a text, or another
    setting (the morning PDF's lists are not words: they must be the same in every language)."""
    found = []
    for key in sorted(set(ours) | set(theirs), key=str):
        at = f"{where}.{key}" if where else key
        if key not in theirs or key not in ours:
            found.append(_("{key}: in one language's file only").format(key=at))
        elif isinstance(ours[key], dict) and isinstance(theirs[key], dict):
            found += differences(ours[key], theirs[key], at)
        elif isinstance(ours[key], str) and isinstance(theirs[key], str):
            if placeholders(ours[key]) != placeholders(theirs[key]):
                found.append(_("{key}: the names in braces differ").format(key=at))
        elif ours[key] != theirs[key]:
            found.append(_("{key}: not the same in every language").format(key=at))
    return found


def _read_all() -> dict[str, dict]:
    read = {language: _read(name) for language, name in FILES.items()}
    for language, name in FILES.items():
        if language == "ja":
            continue
        problems = differences(read["ja"], read[language])
        if problems:
            raise WordsError(_("{path}: {problems} (compared with {other})").format(
                path=report_templates_path(name), problems="; ".join(problems), other=FILES["ja"]))
    return read


# Read when the program starts: a broken file stops every command at once (ils/__main__.py).
_WORDS: dict[str, dict] = _read_all()


def words(language: str | None = None) -> dict:
    """The reports' words in `language`, by default the staff's language at this moment.

    Asked when a report is written, not when the program starts: the library's own setting
    (`[library] staff_language`) is known only once its database is opened.
    """
    return _WORDS[language or i18n.language()]
