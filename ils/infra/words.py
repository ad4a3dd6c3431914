"""The words people read, per language, from data/words/<language>.toml: each section checked whole when first read."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from ils.errors import WordsError
from ils.infra.i18n import _
from ils.infra.resources import data_path

# The languages a patron's mail is written in (ils.mail.compose.language_of): Japanese, the
# library's own, and English for patrons who chose it. Each has one file, and each file
# says every key: a sentence missing in one language is an error at start-up, not at 3 a.m.
LANGUAGES = ("ja", "en")


def section(name: str, keys: Iterable[str], directory: Path | None = None) -> dict[str, dict[str, str]]:
    """One section's texts in every language, {language: {key: text}}.

    WordsError, naming the file and the keys, unless every language gives every key of
    `keys` a non-empty text and no key the program does not use (a mistyped code would
    otherwise be a sentence nobody ever reads).
    """
    wanted = list(keys)
    return {language: _texts(language, name, wanted, directory or data_path("words")) for language in LANGUAGES}


def _texts(language: str, name: str, wanted: list[str], directory: Path) -> dict[str, str]:
    path = directory / f"{language}.toml"
    found = _read(path).get(name)
    if not isinstance(found, dict):
        raise WordsError(_("{path}: no [{name}] section").format(path=path, name=name))
    missing = [key for key in wanted if key not in found]
    if missing:
        raise WordsError(_("{path}: [{name}] has no text for {missing} (every language must say every key)").format(path=path, name=name, missing=', '.join(missing)))
    unknown = sorted(set(found) - set(wanted))
    if unknown:
        raise WordsError(_("{path}: [{name}] {unknown}: no such key in the program (mistyped?)").format(path=path, name=name, unknown=', '.join(unknown)))
    empty = [key for key in wanted if not isinstance(found[key], str) or not found[key].strip()]
    if empty:
        raise WordsError(_("{path}: [{name}] {empty}: the text must be a non-empty string").format(path=path, name=name, empty=', '.join(empty)))
    return {key: found[key] for key in wanted}


@lru_cache(maxsize=None)
def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WordsError(_("{path}: missing (each language in {languages} needs its words file)").format(path=path, languages=', '.join(LANGUAGES))) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise WordsError(_("{path}: not readable TOML: {exc}").format(path=path, exc=exc)) from None
