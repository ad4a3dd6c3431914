"""The staff-language catalog: find every `_()` message in the code, keep data/locale/ in step, compile it.

    python tools/messages.py            # after changing or adding a staff-facing message

It extracts the messages with Babel (the code's `_()`, and click's own messages from the
installed click but for those CLICK_IN_ENGLISH names) into data/locale/ils.pot, merges them into each
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


# click's messages (read from the installed click, whatever its version) are the catalog's too:
# ils.infra.i18n.speak_for_click() has click look them up there. Every one a person at the
# terminal meets on a mistake (a usage error, a bad value, `Usage:`, `Aborted!`) must have
# its Japanese; these stay English, each for the reason above it. A message a new click adds
# lands in the catalog untranslated, and the test fails until it is translated or named here.
CLICK_IN_ENGLISH = frozenset({
    # --help and --version: the help texts are English (docs/words.md)
    "Options", "Positional arguments", "Commands", "Show this message and exit.", "Show the version and exit.",
    "Confirm the action without prompting.", "env var: {var}", "default: {default}", "(dynamic)", "deprecated",
    "%(prog)s, version %(version)s", "Choice({choices})",
    # the name of a click.Path's kind: it is also the metavar --help shows (--config FILE)
    "file", "directory", "path",
    # mistakes in the code, met when an option is defined, not by staff
    "Name '{name}' defined twice", "Boolean option {decl!r} cannot use the same flag for true/false.",
    "Could not determine name for option with declarations {decls!r}",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument instead? "
    "Did you mean to pass '--{name}'?",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.",
    "Invalid start character for option ({option})", "Unknown color {colour!r}", "Unknown standard stream '{name}'",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}",
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}",
    # what ils never does: Windows consoles, shell completion, an editor, a progress bar's ETA in days
    "Windows error: {error}", "Shell completion is not supported for Bash versions older than 4.4.",
    "Couldn't detect Bash version, shell completion is not supported.",
    "{editor}: Editing failed", "{editor}: Editing failed: {e}", "d",
})


def click_messages():
    """click's own `_()` and `ngettext()` messages, from the installed click: (message, file, line),
    a plural message as (singular, plural)."""
    import click
    from babel.messages.extract import extract_from_dir

    folder = Path(click.__file__).parent
    for name, lineno, message, _comments, _context in extract_from_dir(
            folder, method_map=[("**.py", "python")], keywords={"_": None, "ngettext": (1, 2)}):
        yield message, f"click/{name}", lineno


def click_staff_messages():
    """The click messages the catalog must say in Japanese (all but CLICK_IN_ENGLISH)."""
    return [(message, where, lineno) for message, where, lineno in click_messages()
            if (message[0] if isinstance(message, tuple) else message) not in CLICK_IN_ENGLISH]


def _flags(message) -> tuple[str, ...]:
    texts = message if isinstance(message, tuple) else (message,)
    return ("python-brace-format",) if any("{" in text for text in texts) else ()


def extracted():
    """The code's staff-facing messages, and click's, as a Babel catalog (the template)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract, extract_from_dir

    template = Catalog(project="ils-holds", fuzzy=False, **HEADER)
    for source in SOURCES:
        path = REPO / source
        if path.is_dir():
            # ils/cli.py is the link to cli.py, read below under its own name
            found = ((message, lineno, f"{source}/{name}") for name, lineno, message, _comments, _context in
                     extract_from_dir(path, method_map=[("cli.py", "ignore"), ("**.py", "python")], keywords={"_": None}))
        else:
            with open(path, "rb") as f:
                found = [(message, lineno, source) for lineno, message, _comments, _context in
                         extract("python", f, keywords={"_": None})]
        for message, lineno, where in found:
            template.add(message, locations=[(where, lineno)], flags=_flags(message))
    for message, where, lineno in click_staff_messages():
        template.add(message, locations=[(where, lineno)], flags=_flags(message))
    return template


def is_untranslated(message) -> bool:
    """A message with no translation (a plural one: any of its forms)."""
    texts = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
    return not all(texts)


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
        missing = [m.id for m in catalog if m.id and is_untranslated(m)]
        untranslated += len(missing)
        for message in missing:
            print(f"{folder.name}: untranslated: {message}", file=sys.stderr)
    print(f"{len(template)} messages; {untranslated} untranslated", file=sys.stderr)
    return 1 if untranslated else 0


if __name__ == "__main__":
    sys.exit(main())
