"""The words printed on the branch reports, read from templates_reports/reports.toml."""

from __future__ import annotations

import tomllib

from ils.errors import WordsError
from ils.infra.i18n import _
from ils.infra.resources import report_templates_path


def _read() -> dict:
    path = report_templates_path("reports.toml")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise WordsError(_("{path}: not readable TOML: {exc}").format(path=path, exc=exc)) from None


# Read when the program starts: a broken file stops every command at once (ils/__main__.py).
WORDS: dict = _read()
