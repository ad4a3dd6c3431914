"""`ils policy` and `ils calendar`: a library's rules and its branches' open days."""

from __future__ import annotations

import datetime as dt

import click

from ils.cli import output_options, store_options, with_context
from ils.infra.context import open_context
from ils.infra.i18n import _
from ils.infra.output import render
from ils.library.policy import available_profiles


@click.group()
def policy():
    """Library policy profiles."""


@policy.command("list")
@output_options
def policy_list(fmt):
    """List the bundled policy profiles."""
    from ils.library.policy import load_policy

    rows = []
    for name in available_profiles():
        p = load_policy(name)
        rows.append({"profile": name, "library": p.library.name, "hold_limit": p.holds.limit,
                     "series_order": p.series.ordered, "schedule": p.batch.schedule})
    render(rows, fmt)


@policy.command("show")
@click.option("--profile", help="A profile name or TOML path; default: the database's profile with the config's overrides.")
@store_options
@output_options
def policy_show(profile, db_url, config_path, now, fmt):
    """Show every value of the effective policy."""
    from ils.library.policy import dump, load_policy

    if profile:  # a profile named needs no database
        effective = load_policy(profile)
    else:
        with open_context(db_url, config_path, now) as ctx:
            effective = ctx.policy
    dumped = dump(effective)
    rows = [{"key": "profile", "value": dumped.pop("profile")}]
    for section, values in dumped.items():
        rows += [{"key": f"{section}.{k}", "value": v} for k, v in values.items()]
    render(rows, fmt)


@policy.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def policy_check(path):
    """Validate a policy file; exits 1 naming the bad key."""
    from ils.library.policy import load_policy

    loaded = load_policy(path)
    click.echo(_("{path}: valid policy for {library}").format(path=path, library=loaded.library.name))


@click.group()
def calendar():
    """Branch calendars: open and closed days."""


@calendar.command("show")
@click.option("--branch", required=True, help="Branch code.")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day (default: today).")
@click.option("--days", default=14, show_default=True, help="How many days.")
@with_context
@output_options
def calendar_show(branch, start, days, ctx, fmt):
    """Show which days a branch is open, and why it is closed."""
    from ils.library.branches import branch_id

    first = start.date() if start else ctx.today
    cal = ctx.calendars[branch_id(ctx.conn, branch)]
    rows = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        reason = cal.closure_reason(day)
        rows.append({"date": day, "weekday": day.strftime("%a"), "open": reason is None,
                     "closed_because": reason or ""})
    render(rows, fmt)


@calendar.command("open-day")
@click.option("--branch", required=True, help="Branch code.")
@click.option("--after", "after", type=click.DateTime(["%Y-%m-%d"]), help="Count from this day (default: today).")
@click.option("-n", "n", default=1, show_default=True, help="Which open day: 1 = the next one.")
@with_context
def calendar_open_day(branch, after, n, ctx):
    """Print the Nth open day after a date at a branch."""
    from ils.library.branches import branch_id
    from ils.library.calendar import NoOpenDay

    first = after.date() if after else ctx.today
    cal = ctx.calendars[branch_id(ctx.conn, branch)]
    try:
        click.echo(cal.open_day_after(first, n).isoformat())
    except NoOpenDay as exc:
        raise click.ClickException(_("branch {branch}: {why}").format(branch=branch, why=exc)) from exc
