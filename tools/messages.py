"""The staff-language catalog: find every `_()` message in the code, keep data/locale/ in step, compile it.

    python tools/messages.py            # after changing or adding a staff-facing message

It extracts the messages with Babel into data/locale/ils.pot, merges them into each
language's ils.po (a translation already there is kept; a new message gets an empty one,
which tests/test_staff_language.py refuses until someone writes it), drops the messages the
code no longer has, and compiles ils.mo, the file the program reads. A table's column
names (msgctxt "column") are not in the code's `_()` calls: they are kept as they are.
Babel is a development dependency (the `test` extra); the program itself reads ils.mo with
the standard library's gettext.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOCALE = REPO / "data" / "locale"
SOURCES = ("ils", "batch", "cli.py")
COLUMN = "column"
# Fixed, so a run that changes no message changes no file.
HEADER = dict(version="", msgid_bugs_address="https://github.com/ (the project's issues)",
              last_translator="the ils-holds project", language_team="the ils-holds project",
              creation_date=dt.datetime(2026, 11, 30, tzinfo=dt.UTC), revision_date=dt.datetime(2026, 11, 30, tzinfo=dt.UTC))


def extracted():
    """The code's staff-facing messages, as a Babel catalog (the template)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract, extract_from_dir

    template = Catalog(project="ils-holds", fuzzy=False, **HEADER)
    for source in SOURCES:
        path = REPO / source
        if path.is_dir():
            found = ((message, lineno, f"{source}/{name}") for name, lineno, message, _comments, _context in
                     extract_from_dir(path, method_map=[("**.py", "python")], keywords={"_": None}))
        else:
            with open(path, "rb") as f:
                found = [(message, lineno, source) for lineno, message, _comments, _context in
                         extract("python", f, keywords={"_": None})]
        for message, lineno, where in found:
            template.add(message, locations=[(where, lineno)], flags=("python-brace-format",) if "{" in message else ())
    return template


def catalog_path(language: str, suffix: str = "po") -> Path:
    return LOCALE / language / "LC_MESSAGES" / f"ils.{suffix}"


def read(language: str):
    from babel.messages.pofile import read_po

    with open(catalog_path(language), "rb") as f:
        return read_po(f, locale=language)


def merged(template, language: str):
    """The language's catalog with exactly the template's messages (and its columns)."""
    from babel.messages.catalog import Catalog

    old = read(language)
    new = Catalog(locale=language, project="ils-holds", fuzzy=False, **HEADER)
    new.header_comment = old.header_comment
    for message in template:
        if message.id:
            kept = old.get(message.id)
            new.add(message.id, kept.string if kept else "", flags=message.flags)
    for message in old:
        if message.context == COLUMN:
            new.add(message.id, message.string, context=COLUMN)
    return new


def write(catalog, language: str) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import write_po

    with open(catalog_path(language), "wb") as f:
        write_po(f, catalog, width=0, no_location=True, sort_output=True, omit_header=False)
    with open(catalog_path(language, "mo"), "wb") as f:
        write_mo(f, catalog)


def main() -> int:
    from babel.messages.pofile import write_po

    template = extracted()
    with open(LOCALE / "ils.pot", "wb") as f:
        write_po(f, template, width=0, no_location=True, sort_output=True)
    untranslated = 0
    for folder in sorted(p for p in LOCALE.iterdir() if p.is_dir()):
        catalog = merged(template, folder.name)
        write(catalog, folder.name)
        missing = [m.id for m in catalog if m.id and not m.string]
        untranslated += len(missing)
        for message in missing:
            print(f"{folder.name}: untranslated: {message}", file=sys.stderr)
    print(f"{len(template)} messages; {untranslated} untranslated", file=sys.stderr)
    return 1 if untranslated else 0


if __name__ == "__main__":
    sys.exit(main())
