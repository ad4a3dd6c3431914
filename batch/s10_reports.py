"""Step: every branch's reports for the night, written into the dated reports folder."""

from __future__ import annotations

import logging

from ils.infra.context import Context
from ils.reports.write import report_settings, write_all

NAME = "reports"
INTRADAY = False  # the branches' lists are the night's
IN_DRY_RUN = False  # it writes files, which a rollback cannot undo

log = logging.getLogger(__name__)


def run(ctx: Context) -> dict:
    """Pull lists, transit slips, hold shelves, phone lists... for every branch (docs/reports.md).

    Writing a file again replaces it, so a resumed night simply writes them again.
    """
    settings = report_settings(ctx.settings.reports)
    base = ctx.settings.folder
    files = write_all(ctx, ctx.today, settings, base)
    if settings.morning_pdf:  # each branch's lists as one PDF too: a library that prints it asks for it
        from ils.reports.morning import write_mornings  # reportlab is loaded only then

        files += write_mornings(ctx, ctx.today, settings, base)
    log.info("reports: %d files under %s", files, base / settings.directory / ctx.today.isoformat())
    return {"files": files}
