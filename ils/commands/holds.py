"""`ils hold`: staff placing, changing and looking at holds."""

from __future__ import annotations

import click

from ils.cli import output_options, parse_day, staff_option, with_context
from ils.holds.acceptance import OVERRIDE_KEYS
from ils.infra.i18n import _
from ils.infra.output import render


@click.group()
def hold():
    """Holds at the counter."""


@hold.command("place")
@click.option("--card", required=True, help="The patron's card number.")
@click.option("--title", "titles", multiple=True, required=True, help="bib_id; repeat for several (in order with --series).")
@click.option("--pickup", required=True, help="Pickup branch code (受取館).")
@click.option("--contact", type=click.Choice(["email", "phone", "none"]), help="Contact method; default the patron's.")
@click.option("--series", is_flag=True, help="Serve the titles strictly in the order given (順番予約).")
@click.option("--override", "overrides", multiple=True, type=click.Choice(OVERRIDE_KEYS), metavar="RULE",
              help=f"A rule to set aside for this patron, one of: {', '.join(OVERRIDE_KEYS)}. Repeat for several.")
@click.option("--reason", help="Why the rule is set aside (required with --override; audited).")
@click.option("--not-needed-after", "not_needed_after", callback=parse_day, metavar="DATE",
              help="有効期限: still waiting after this day, the hold lapses in the night.")
@with_context
@staff_option
@output_options
def hold_place(card, titles, pickup, contact, series, overrides, reason, not_needed_after, staff, ctx, fmt):
    """Place holds at once (no pending stage), by the same rules as the batch; counter-only
    material (課題, 期禁...) is allowed here."""
    from ils.holds.counter import place_holds

    placed = place_holds(ctx, card, list(titles), pickup, staff=staff, contact=contact, series=series,
                         overrides=frozenset(overrides), override_reason=reason, not_needed_after=not_needed_after)
    labels = ctx.policy.labels
    render([{"hold": p.hold_id, "bib_id": p.bib_id, "status": getattr(labels, p.status),
             "overridden": p.overridden or ""} for p in placed], fmt)


@hold.command("cancel")
@click.argument("hold_id", type=int)
@click.option("--reason", help="Why (audited).")
@with_context
@staff_option
@output_options
def hold_cancel(hold_id, reason, staff, ctx, fmt):
    """Cancel a hold for a patron who called, even once it is in transit or ready."""
    from ils.holds.counter import cancel_hold

    render([cancel_hold(ctx, hold_id, staff=staff, why=reason)], fmt)


# Staff changes to a hold (issue 15): ils/holds/staff_actions.py, ils/holds/queue_moves.py.


def reason_option(f):
    return click.option("--reason", required=True, help="Why (the hold's history and the audit log).")(f)


@hold.command("pickup")
@click.argument("hold_id", type=int)
@click.option("--branch", "code", required=True, help="Code of the new pickup branch (受取館).")
@reason_option
@with_context
@staff_option
@output_options
def hold_pickup(hold_id, code, reason, staff, ctx, fmt):
    """Change a hold's pickup branch at any time before pickup; a copy on the old branch's hold
    shelf goes into the van (slip printed) and gets a new deadline when it arrives."""
    from ils.holds.staff_actions import change_pickup

    render([change_pickup(ctx, hold_id, code, staff=staff, reason=reason)], fmt)


@hold.command("extend")
@click.argument("hold_id", type=int)
@click.option("--days", type=int, help="Days to add to the pickup deadline.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="The new pickup deadline (YYYY-MM-DD).")
@reason_option
@with_context
@staff_option
@output_options
def hold_extend(hold_id, days, until, reason, staff, ctx, fmt):
    """Extend the pickup deadline of a ready hold (取置期限の延長), to an open day of the pickup
    branch, at most [pickup] max_extension_days past its first deadline."""
    from ils.holds.staff_actions import extend_deadline

    if (days is None) == (until is None):
        raise click.UsageError(_("give either --days or --until"))
    render([extend_deadline(ctx, hold_id, staff=staff, reason=reason, days=days,
                            until=until.date() if until else None)], fmt)


@hold.command("move")
@click.argument("hold_id", type=int)
@click.option("--to-head", "where", flag_value="head", help="To the head of its title's queue.")
@click.option("--to-end", "where", flag_value="end", help="To the end of its title's queue.")
@click.option("--before", type=int, metavar="HOLD", help="Just before this hold of the same title.")
@click.option("--after", type=int, metavar="HOLD", help="Just after this hold of the same title.")
@reason_option
@with_context
@staff_option
@output_options
def hold_move(hold_id, where, before, after, reason, staff, ctx, fmt):
    """Move a hold that has no copy yet in its title's queue (予約順位)."""
    from ils.holds.queue_moves import move_in_queue

    asked = [w for w, given in (("head", where == "head"), ("end", where == "end"), ("before", before is not None),
                                ("after", after is not None)) if given]
    if len(asked) != 1:
        raise click.UsageError(_("give exactly one of --to-head, --to-end, --before HOLD, --after HOLD"))
    render([move_in_queue(ctx, hold_id, asked[0], staff=staff, reason=reason,
                          anchor=before if before is not None else after)], fmt)


# 予約の一時停止 and 有効期限 (ils/holds/suspension.py) -----------------------------------


@hold.command("suspend")
@click.argument("hold_id", type=int)
@click.option("--until", callback=parse_day, metavar="DATE", help="It resumes by itself on this day (after today); default: until resumed.")
@click.option("--reason", required=True, help="Why, e.g. the patron's call (audited).")
@with_context
@staff_option
@output_options
def hold_suspend(hold_id, until, reason, staff, ctx, fmt):
    """Suspend a waiting hold for the patron (予約の一時停止): it keeps its place, copies go round it."""
    from ils.holds.suspension import suspend_hold

    render([suspend_hold(ctx, hold_id, staff=staff, why=reason, until=until)], fmt)


@hold.command("resume")
@click.argument("hold_id", type=int)
@click.option("--reason", help="Why (audited).")
@with_context
@staff_option
@output_options
def hold_resume(hold_id, reason, staff, ctx, fmt):
    """Resume a suspended hold now: it waits again in the place it kept."""
    from ils.holds.suspension import resume_hold

    render([resume_hold(ctx, hold_id, staff=staff, why=reason)], fmt)


@hold.command("not-needed-after")
@click.argument("hold_id", type=int)
@click.argument("day", required=False, callback=parse_day, metavar="[DATE]")
@click.option("--clear", is_flag=True, help="Remove the hold's not-needed-after date.")
@click.option("--reason", required=True, help="Why, e.g. the patron's call (audited).")
@with_context
@staff_option
@output_options
def hold_not_needed_after(hold_id, day, clear, reason, staff, ctx, fmt):
    """Set the day after which the hold, if it still waits, lapses in the night (有効期限), or --clear it."""
    from ils.holds.suspension import set_not_needed_after

    if bool(day) == clear:
        raise click.UsageError(_("give a DATE or --clear"))
    render([set_not_needed_after(ctx, hold_id, day, staff=staff, why=reason)], fmt)

@hold.command("history")
@click.argument("hold_id", type=int)
@with_context
@output_options
def hold_history_cmd(hold_id, ctx, fmt):
    """Every change of the hold: when, from and to, why, and who (batch run, front end request, staff, import)."""
    from ils.holds.timeline import COLUMNS, hold_history

    render(hold_history(ctx, hold_id), fmt, columns=COLUMNS)
