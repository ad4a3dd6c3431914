"""`ils summary`, `ils sample` and `ils demo`: looking at the data, the sample library, the demo."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import click

from ils.batch.runner import step_names
from ils.cli import output_options, with_context
from ils.infra import db
from ils.infra.context import open_context
from ils.infra.output import render
from ils.library.clock import library_date

log = logging.getLogger("ils")


@click.command()
@with_context
@output_options
def summary(ctx, fmt):
    """Count what the database holds: branches, catalogue, patrons, loans, holds, requests."""
    from ils.infra.summary import summarise

    render(summarise(ctx.conn, ctx.today), fmt)


@click.group()
def sample():
    """The sample library system (a fictional city) and its generator."""


@sample.command("generate")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Directory to write.")
@click.option("--preset", type=click.Choice(["sample", "city", "prefecture"]), default="sample", show_default=True)
@click.option("--seed", type=int, help="Random seed (default: the sample's fixed seed).")
def sample_generate(out, preset, seed):
    """Write the import files of a generated library system."""
    from ils.tools.sample import generator

    spec = generator.SampleSpec.preset(preset)
    if seed is not None:
        spec = spec.with_seed(seed)
    counts = generator.write_files(spec, out)
    for name, count in counts.items():
        log.info("%s: %d rows", name, count)


@click.command()
@click.option("--db", "target", default="demo.db", show_default=True,
              help="SQLite file, or database URL (postgresql+psycopg://...; the database must exist), to (re)create; "
              "an existing database is replaced only if it is a demo database.")
@click.option("--profile", default="kitami", show_default=True, help="Which library's rules the demo follows.")
def demo(target, profile):
    """Build the sample city, run its night (with its reports) and its morning mail, and show them."""
    from ils.infra import progress
    from ils.infra.installation import DEMO_NIGHT, build_demo
    from ils.infra.summary import summarise
    from ils.reports.write import encoded, make_sheet
    from ils.tools.demo import run_demo_day

    # Mail and reports go beside an SQLite file, or into the working directory.
    path = Path(target) if "://" not in target else Path("demo")
    here = path.parent.resolve()
    mail_dir, reports_dir = here / f"{path.stem}-mail", here / f"{path.stem}-reports"
    # The building, the night's steps, a mail run or two: a bar on a terminal.
    with progress.bar(len(step_names("night")) + 3, "demo") as shown:
        def say(line: str) -> None:  # what the demo is doing, on stderr: stdout stays the result
            if progress.on_terminal():
                shown.say(line)
            else:
                click.echo(line, err=True)
            shown.advance(1)

        say(f"Building the sample city under the {profile} rules in {target}…")
        url = build_demo(target, profile)
        for old in (mail_dir, reports_dir):
            shutil.rmtree(old, ignore_errors=True)
        day = run_demo_day(url, mail_dir, reports_dir, say, on_step=lambda step: shown.advance(1, step.step))
    shown = db.display_url(url) if "://" in target else target
    with open_context(url, None, DEMO_NIGHT) as ctx:
        click.echo(f"The sample city on the night of {DEMO_NIGHT:%Y-%m-%d} under {ctx.policy.library.name}'s rules "
                   f"(database {shown}):\n")
        sys.stdout.write(encoded(make_sheet(ctx, "summary", None, DEMO_NIGHT.date()), "text").decode())
        click.echo(f"\nEvery branch's reports (pull lists, transit slips, hold shelves...): {day.reports_dir}/")
        runs = ", ".join(f"{at:%m-%d %H:%M}" for at in day.mail_runs)
        click.echo(f"The morning's mail (mail runs at {runs}): {day.mail.get('sent', 0)} messages in {mail_dir}/ "
                   "(open them in any mail client):\n")
        render([{"notices": k, "count": v} for k, v in sorted(day.mail.items()) if v])
        click.echo("\nWhat the database holds now:\n")
        render(summarise(ctx.conn, library_date(DEMO_NIGHT)))
