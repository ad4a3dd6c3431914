"""`ils staff` and `ils title`: staff accounts and their roles, a title's queue."""

from __future__ import annotations

import click

from ils.cli import output_options, with_context
from ils.infra.output import render


@click.group("staff")
def staff_group():
    """Staff accounts and their roles (counter < supervisor < systems): who --staff may name."""


@staff_group.command("add")
@click.argument("staff_id")
@click.option("--role", required=True, type=click.Choice(["counter", "supervisor", "systems"]),
              help="What the account may do (docs/counter.md: who may do what).")
@click.option("--name", help="The person's name, as colleagues know it.")
@click.option("--staff", "by", help="Your own systems account (no $ILS_STAFF here). Only the installation's "
              "very first account is added without it, and it must be a systems account.")
@with_context
@output_options
def staff_add(staff_id, role, name, by, ctx, fmt):
    """Add a staff account, or enable a disabled one again with this role; audited."""
    from ils.library.staff import add

    added = add(ctx, staff_id, role, by=by, name=name)
    render([{"staff_id": added.staff_id, "name": added.name, "role": added.role}], fmt)


@staff_group.command("list")
@with_context
@output_options
def staff_list(ctx, fmt):
    """Every staff account, active and disabled."""
    from ils.library.staff import accounts

    render(accounts(ctx), fmt, columns=["staff_id", "name", "role", "created_at", "disabled_at"])


@staff_group.command("disable")
@click.argument("staff_id")
@click.option("--staff", "by", required=True, help="Your own systems account (no $ILS_STAFF here).")
@with_context
@output_options
def staff_disable(staff_id, by, ctx, fmt):
    """Disable a staff account: it can no longer act; its past rows keep its id. Audited."""
    from ils.library.staff import disable

    render([disable(ctx, staff_id, by=by)], fmt)


@click.group()
def title():
    """A title's holds."""


@title.command("holds")
@click.argument("bib_id")
@click.option("--show-cards", is_flag=True, help="Full card numbers instead of ****1234 (a supervisor; audited).")
@click.option("--staff", envvar="ILS_STAFF", help="Your staff id, needed with --show-cards [env ILS_STAFF].")
@with_context
@output_options
def title_holds_cmd(bib_id, show_cards, staff, ctx, fmt):
    """Every active hold of the title in queue order: rank, status, pickup, placed, channel, suspended until."""
    from ils.holds.title_queue import COLUMNS, title_holds

    render(title_holds(ctx, bib_id, show_cards=show_cards, staff=staff), fmt, columns=COLUMNS)
