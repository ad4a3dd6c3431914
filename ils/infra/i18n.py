"""Staff-facing text in the staff's language: Japanese by default, English by a setting.

What staff read at the terminal — `Error:` lines, the counter's results and their column
names, the command line's messages — is written in the code in English, marked `_()`
(or `column()` for a table's column name), and that English is the message id of a
gettext catalog: `data/locale/ja/LC_MESSAGES/ils.po` gives its Japanese, compiled into
`ils.mo` beside it (docs/words.md says how to change a sentence; tests/test_staff_language.py
keeps the catalog whole).

The language: `$ILS_STAFF_LANGUAGE` (a person's own shell), else the library's
`[library] staff_language` (its profile, or the config file's `[policy.library]`), else
Japanese. A message is put into words when it is made, so the library's setting counts from
the moment the database is opened; an error before that (a config file that cannot be
read) is in the variable's language, or Japanese.

click's own messages (`No such option`, `Missing argument`, `Usage:`, `Try ... for help.`,
a bad value for an INTEGER or a choice) come from the same catalog: click marks them with
gettext's module-level `_`/`ngettext`, which read the POSIX locale variables and the
`messages` domain; `speak_for_click()` (called as `ils` starts) gives those names in click's
modules our functions instead, so click says them in the staff's language, chosen as above.
Its help texts and definition-time errors stay English (tools/messages.py lists them).

Patron-facing words are elsewhere: data/words/ (refusal reasons), templates_mail/, the
profiles' [labels].
"""

from __future__ import annotations

import gettext
import os
import sys
from functools import lru_cache

from ils.infra.resources import data_path

LANGUAGES = ("ja", "en")
DEFAULT = "ja"
ENVIRONMENT = "ILS_STAFF_LANGUAGE"
DOMAIN = "ils"

_setting: str | None = None  # the library's, once its database is opened


def use(language: str | None) -> None:
    """Take the library's setting (None: forget it)."""
    global _setting
    _setting = language


def language() -> str:
    chosen = os.environ.get(ENVIRONMENT) or _setting or DEFAULT
    return chosen if chosen in LANGUAGES else DEFAULT


@lru_cache(maxsize=None)
def _catalog(lang: str) -> gettext.NullTranslations:
    if lang == "en":  # the message ids are the English
        return gettext.NullTranslations()
    with open(data_path("locale", lang, "LC_MESSAGES", f"{DOMAIN}.mo"), "rb") as f:
        return gettext.GNUTranslations(f)


def _(message: str) -> str:
    """`message` (English, the message id) in the staff's language."""
    return _catalog(language()).gettext(message)


def column(name: str) -> str:
    """A table's column name in the staff's language (JSON and CSV keep the name itself)."""
    return _catalog(language()).pgettext("column", name)


def ngettext(singular: str, plural: str, n: int) -> str:
    """`singular` or `plural` (English, the message id) for `n`, in the staff's language."""
    return _catalog(language()).ngettext(singular, plural, n)


def speak_for_click() -> None:
    """Make click's modules look their messages up in our catalog, in the staff's language.

    click binds `from gettext import gettext as _` (and `ngettext`) in each module and calls
    them when a message is made, so rebinding those names is enough; a module click loads
    later (shell completion, the editor) keeps gettext's, and its messages are among those
    left in English (tools/messages.py, tests/test_staff_language.py)."""
    for name, module in list(sys.modules.items()):
        if name != "click" and not name.startswith("click."):
            continue
        if getattr(module, "_", None) is gettext.gettext:
            module._ = _  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) is gettext.ngettext:
            module.ngettext = ngettext  # type: ignore[attr-defined]
