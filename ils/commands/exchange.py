"""`ils import` and `ils export`: the library's CSV files in, the back office's changes out for the ILS."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from ils.cli import LazyChoice, existing_parent, output_options, with_context
from ils.infra import files
from ils.infra.i18n import _
from ils.infra.output import render

log = logging.getLogger("ils")


def _import_kinds() -> list[str]:
    from ils.exchange.imports import ALL_KINDS

    return list(ALL_KINDS)

@click.command("import")
@click.argument("kind", type=LazyChoice(lambda: [*_import_kinds(), "all", "conflicts"]))
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--encoding", type=click.Choice(["auto", "utf-8", "cp932"]), default="auto", show_default=True,
              help="Text encoding of the files; auto reads UTF-8 and falls back to CP932 (Shift_JIS).")
@click.option("--limit", default=100, show_default=True, help="KIND conflicts: how many, newest first.")
@with_context
@output_options
def import_cmd(kind, path, encoding, limit, ctx, fmt):
    """Import library data from CSV (KIND all: every known file in the directory PATH).

    The ILS's export may be full or incremental: a KIND.deleted.csv lists the keys of rows
    it no longer has (docs/import-formats.md, "Incremental exports").
    A file with any invalid row is refused whole; the problems are listed as
    file:line: column: reason. A field both the ILS and the back office changed is
    printed as one `conflict:` line; KIND conflicts (no PATH) lists them all.
    See docs/import-formats.md and docs/integration.md.
    """
    from ils.exchange.imports import files_in, import_files
    from ils.exchange.imports.ownership import conflict_rows

    if kind == "conflicts":
        render(conflict_rows(ctx.conn, limit), fmt)
        return
    if path is None:
        raise click.UsageError(_("ils import {kind} needs the PATH of the file (or, for all, the folder)").format(kind=kind))
    from ils.infra import progress

    files = files_in(path) if kind == "all" else [(kind, path)]
    total, offsets = 0, {}
    if progress.on_terminal():
        for name, file in files:
            offsets[name] = total
            total += progress.csv_rows(file) if Path(file).is_file() else 0
    with progress.bar(total, "importing") as shown:
        results = import_files(ctx.conn, files, ctx.policy, ctx.now, encoding,
                               progress=lambda name, rows: shown.to(offsets.get(name, 0) + rows, name))
    for r in results:
        log.info("%s: %d rows imported from %s (%s)", r.kind, r.rows_written, r.path, r.encoding)
        for line in r.conflicts:
            click.echo(f"conflict: {line}")


# Changes for the ILS -----------------------------------------------------------


@click.group("export")
def export_group():
    """What the back office changed, for the library's main system (ILS) to apply."""


@export_group.command("changes")
@click.option("--since", required=True,
              help="The last journal id the ILS applied (0 for everything; acknowledges the entries up to it), "
              "or a time (ISO 8601) to look without acknowledging.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--encoding", type=click.Choice(["utf-8", "cp932"]), default="utf-8", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), callback=existing_parent,
              help="Write to this file instead of standard output.")
@with_context
def export_changes(since, fmt, encoding, output, ctx):
    """Every change the back office made after --since (renewals, address and contact changes,
    enrolments, password states, holds), each with a stable id and time. See docs/export-formats.md."""
    from ils.exchange.journal import changes_since, export_bytes, parse_since

    data = export_bytes(changes_since(ctx, parse_since(since)), fmt, encoding)
    if output:
        files.write_private(output, data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
