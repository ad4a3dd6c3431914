"""`ils report`: a branch's printed and exported lists."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from ils.cli import LazyChoice, existing_parent, with_context
from ils.infra import files
from ils.infra.i18n import _

log = logging.getLogger("ils")


def _reports() -> list[str]:
    from ils.reports import REPORTS
    from ils.reports.acquisitions import LIBRARY_REPORTS

    return [*REPORTS, *LIBRARY_REPORTS]


def _report_formats() -> list[str]:
    from ils.reports.formats import FORMATS

    return list(FORMATS)


@click.command("report")
@click.argument("name", type=LazyChoice(lambda: [*_reports(), "morning", "all"]))
@click.option("--branch", envvar="ILS_BRANCH", help="Branch code; the summary without it covers the whole system.")
@click.option("--format", "fmt", type=LazyChoice(_report_formats), default="text", show_default=True)
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="The day (default: today).")
@click.option("--csv-encoding", type=click.Choice(["utf-8-sig", "cp932"]), default=None,
              help="CSV for Excel: UTF-8 with BOM (default) or CP932.")
@click.option("--output", type=click.Path(dir_okay=True, path_type=Path), callback=existing_parent,
              help="Write to this file (NAME all: this folder) instead of standard output.")
@click.option("--threshold", type=click.FloatRange(min=0), default=None,
              help="holds_per_copy: list titles with more active holds than this per loanable copy "
                   "(default: [reports] holds_per_copy_threshold, 5).")
@with_context
def report(name, branch, fmt, day, csv_encoding, output, threshold, ctx):
    """Print a branch report: pull, transit, holdshelf, expired, phone, problems, summary;
    or the library-wide holds_per_copy (予約多数資料, for acquisitions; on demand, not written by the night).

    NAME morning is the branch's morning PDF: its lists in the order staff work them
    (--format is ignored; give --output, or redirect standard output to a file).
    NAME all writes every report of every branch, and the system summary, into a dated
    folder (what `ils batch run` does at the end of the night).
    """
    from ils.reports.acquisitions import LIBRARY_REPORTS, library_sheet
    from ils.reports.write import encoded, make_sheet, report_settings, write_all

    settings = report_settings(ctx.settings.reports)
    the_day = day.date() if day else ctx.today
    if name == "all":
        base = output or ctx.settings.folder
        settings = settings if not output else settings.model_copy(update={"directory": "."})
        written = write_all(ctx, the_day, settings, base)
        if settings.morning_pdf:
            from ils.reports.morning import write_mornings

            written += write_mornings(ctx, the_day, settings, base)
        log.info("%d report files written", written)
        return
    if threshold is not None and name not in LIBRARY_REPORTS:
        raise click.UsageError(_("--threshold is for {reports}, not {name}").format(reports=", ".join(LIBRARY_REPORTS), name=name))
    if name == "morning":
        from ils.reports.morning import branch_morning

        data = branch_morning(ctx, branch, the_day)
    elif name in LIBRARY_REPORTS:  # the whole library's: --branch (or ILS_BRANCH) does not narrow it
        limit = settings.holds_per_copy_threshold if threshold is None else threshold
        data = encoded(library_sheet(ctx, name, the_day, limit), fmt, csv_encoding or settings.csv_encoding)
    else:
        data = encoded(make_sheet(ctx, name, branch, the_day), fmt, csv_encoding or settings.csv_encoding)
    if output:
        files.write_private(output, data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
