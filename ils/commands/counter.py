"""The counter: `ils checkout`, `checkin`, `renew`, `reshelve`, and the pull list, events and transit."""

from __future__ import annotations

import click

from ils.cli import branch_option, counter_options, output_options, staff_option, with_context
from ils.infra.output import render


def _at_counter(ctx, fmt, branch, action, *args, **kwargs):
    """Run one counter action at the branch, print its outcome."""
    from ils.library.branches import branch_id

    outcome = action(ctx, *args, branch_id(ctx.conn, branch), **kwargs)
    render([outcome.as_row()], fmt)


@click.command()
@click.option("--card", required=True, help="The borrower's card number.")
@click.option("--barcode", required=True, help="The copy's barcode.")
@click.option("--override", "overrides", multiple=True,
              help="A lending rule to set aside (ready_notice_unsent: lend before the ready mail has gone).")
@click.option("--reason", help="Why the rule is set aside (required with --override; audited).")
@counter_options
def checkout(card, barcode, overrides, reason, staff, branch, ctx, fmt):
    """Lend a copy (貸出). A copy on the hold shelf goes only to its patron (at Kitsuki only once
    its ready mail has gone); a pulled copy may go to a walk-in and its hold queues again."""
    from ils.circulation.copies import check_out

    _at_counter(ctx, fmt, branch, check_out, card, barcode, staff=staff,
                overrides=frozenset(overrides), override_reason=reason)


@click.command()
@click.option("--barcode", required=True, help="The returned copy's barcode.")
@counter_options
def checkin(barcode, staff, branch, ctx, fmt):
    """Take a copy back (返却); it is caught for the first waiting hold on its title."""
    from ils.circulation.copies import check_in

    _at_counter(ctx, fmt, branch, check_in, barcode, staff=staff)


@click.command("renew")
@click.option("--barcode", required=True, help="The borrowed copy's barcode.")
@with_context
@staff_option
@output_options
def renew_cmd(barcode, staff, ctx, fmt):
    """Renew a loan at the counter or by phone, by the same rules as the web."""
    from ils.circulation.renewal import renew_at_counter

    render([renew_at_counter(ctx, barcode, staff=staff)], fmt)


@click.group()
def pull():
    """The pull list (資料確保リスト): copies to take off this branch's shelves for holds."""


@pull.command("list")
@branch_option
@with_context
@output_options
def pull_list_cmd(branch, ctx, fmt):
    """This branch's pull list, by shelf mark."""
    from ils.library.branches import branch_id
    from ils.reports.lists import branch_pull_list

    render(branch_pull_list(ctx, branch_id(ctx.conn, branch)), fmt)


@pull.command("confirm")
@click.option("--barcode", required=True, help="The copy taken off the shelf.")
@counter_options
def pull_confirm(barcode, staff, branch, ctx, fmt):
    """The copy was found: ready here, or into the van with a slip."""
    from ils.circulation.copies import confirm_pull

    _at_counter(ctx, fmt, branch, confirm_pull, barcode, staff=staff)


@pull.command("missing")
@click.option("--barcode", required=True, help="The copy that is not on the shelf.")
@counter_options
def pull_missing(barcode, staff, branch, ctx, fmt):
    """The copy is not on the shelf: mark it missing; its hold waits for another copy."""
    from ils.circulation.copies import report_missing

    _at_counter(ctx, fmt, branch, report_missing, barcode, staff=staff)


@click.group()
def events():
    """The library's events (行事), announced in the newsletter to patrons who asked (行事案内)."""


@events.command("add")
@click.option("--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="The day the event is held.")
@click.option("--title", required=True, help="What the event is, as patrons read it (e.g. おはなし会).")
@click.option("--place", help="Where it is held (e.g. 中央図書館 2階).")
@with_context
@output_options
def events_add(day, title, place, ctx, fmt):
    """Record an event; the next newsletter issue announces it to its subscribers."""
    from ils.library.events import record_event

    render([{"event": record_event(ctx, day.date(), title, place)}], fmt)


@events.command("list")
@with_context
@output_options
def events_list(ctx, fmt):
    """Events to come, soonest first."""
    from ils.library.events import list_events

    render(list_events(ctx), fmt, columns=["id", "held_on", "title", "place", "recorded_at"])


@click.group()
def transit():
    """Copies travelling between branches (回送)."""


@transit.command("receive")
@click.option("--barcode", required=True, help="The copy off the van.")
@counter_options
def transit_receive(barcode, staff, branch, ctx, fmt):
    """A copy arrives: on the hold shelf if it is for a hold here, else shelved or sent home."""
    from ils.circulation.copies import receive_transit

    _at_counter(ctx, fmt, branch, receive_transit, barcode, staff=staff)


@click.command("reshelve")
@click.option("--barcode", required=True, help="A copy left on the hold shelf by an expired or cancelled hold.")
@counter_options
def reshelve_cmd(barcode, staff, branch, ctx, fmt):
    """Clear a copy from the hold shelf: to the next hold, the shelf, or home."""
    from ils.circulation.copies import reshelve

    _at_counter(ctx, fmt, branch, reshelve, barcode, staff=staff)
