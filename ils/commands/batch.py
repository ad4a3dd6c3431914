"""`ils batch`: the nightly (and intraday) batch, its runs and their steps."""

from __future__ import annotations

import click

from ils.batch.runner import STEPS, count_rows, recent_runs, run_steps, run_until_current, step_names
from ils.cli import output_options, with_context
from ils.infra.i18n import _
from ils.infra.output import render


@click.group(help=f"The nightly batch, one module per step in batch/: {', '.join(step_names())}.")
def batch():
    pass


def _counts_text(counts: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in counts.items() if v not in ({}, 0)) or "nothing to do"


def _step_line(step):
    state = _("already done") if step.skipped else f"{step.seconds:.2f}s"
    return f"{step.step:<9} {state:>12}  {_counts_text(step.counts)}"


@batch.command("run", help=f"""Run tonight's batch (cron starts this at 03:00): {', '.join(step_names())}.

    Resumes a crashed or failed run where it stopped, with that run's --now. Quiet
    unless on a terminal; exits 1 with one line when a person must act.
    """)
@click.option("--only", type=click.Choice(list(STEPS)), help="Run this one step.")
@click.option("--intraday", is_flag=True, help="Serve only what changed (Mito's every-10-minutes runs): "
              f"{', '.join(step_names('intraday'))}; no expiry, no full sweep, no rendering, no reports.")
@click.option("--dry-run", is_flag=True, help="Print what the run would do and change nothing.")
@with_context
@click.pass_context
def batch_run(click_ctx, only, intraday, dry_run, ctx):
    from ils.infra import progress

    now_given = click_ctx.get_parameter_source("now") != click.core.ParameterSource.DEFAULT
    on_tty = progress.on_terminal()
    steps = 1 if only else len(step_names("intraday" if intraday else "night"))
    with progress.bar(0 if dry_run else steps, "night") as shown:
        def show(step) -> None:
            shown.say(_step_line(step))
            shown.advance(1, step.step)

        reports = run_until_current(ctx, now_given=now_given, only=only, mode="intraday" if intraday else "night",
                                    dry_run=dry_run, on_step=show)
    for report in reports:
        if dry_run:
            click.echo(_("dry run as of {as_of:%Y-%m-%d %H:%M %Z}: nothing was changed").format(as_of=report.as_of), err=True)
            render([row for st in report.steps for row in count_rows(st.step, st.counts)], "table")
        elif on_tty:
            resumed = _(" (resumed)") if report.resumed else ""
            click.echo(_("batch run {run_id}{resumed} as of {as_of:%Y-%m-%d %H:%M %Z} finished").format(
                run_id=report.run_id, resumed=resumed, as_of=report.as_of), err=True)


@batch.command("runs")
@click.option("--limit", default=10, show_default=True, help="How many runs, newest first.")
@with_context
@output_options
def batch_runs(limit, ctx, fmt):
    """List recent batch runs with their status and duration."""
    render(recent_runs(ctx.conn, limit), fmt)


@batch.command("show")
@click.argument("run_id", required=False, type=int)
@with_context
@output_options
def batch_show(run_id, ctx, fmt):
    """Show a run's steps: counts, rejections by reason, seconds (default: the latest run)."""
    render(run_steps(ctx.conn, run_id), fmt)
