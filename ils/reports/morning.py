"""The morning PDF of a branch for the command line, and of every branch for the night (ils/reports/pdf.py draws it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from ils.errors import IlsError
from ils.infra.context import Context
from ils.infra.files import private_dir, write_private
from ils.infra.i18n import _
from ils.reports.formats import Sheet
from ils.reports.pdf import morning_lists, morning_pdf
from ils.reports.write import ReportSettings, _folder_name, day_folder, make_sheet, sheets_for_all

FILE_NAME = "morning.pdf"


def branch_morning(ctx: Context, branch_code: str | None, day: dt.date) -> bytes:
    """The morning PDF of one branch (`ils report morning --branch CODE`)."""
    if branch_code is None:
        raise IlsError(_("the morning PDF is made per branch: give --branch"))
    return morning_pdf([make_sheet(ctx, name, branch_code, day) for name in morning_lists()])


def _every_branch(ctx: Context, day: dt.date) -> Iterator[tuple[str, list[Sheet]]]:
    # One query a list for all the branches, as the night's other reports do.
    per_list = [sheets_for_all(ctx, name, day) for name in morning_lists()]
    for code_and_sheets in zip(*per_list, strict=True):
        yield code_and_sheets[0][0], [sheet for _code, sheet in code_and_sheets]


def write_mornings(ctx: Context, day: dt.date, settings: ReportSettings, base: Path) -> int:
    """Every branch's morning PDF, as <directory>/<day>/<branch>/morning.pdf; how many were written."""
    folder = day_folder(settings, base, day)
    written = 0
    for code, sheets in _every_branch(ctx, day):
        write_private(private_dir(folder / _folder_name(code)) / FILE_NAME, morning_pdf(sheets))
        written += 1
    return written
