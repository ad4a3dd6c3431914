"""`ils patron`, `ils password` and `ils audit`: a patron's record, loans, holds and history."""

from __future__ import annotations

import click

from ils.cli import output_options, staff_option, with_context
from ils.infra.output import render


@click.group()
def patron():
    """A patron's record, loans and holds."""


@patron.command("show")
@click.argument("card")
@with_context
@output_options
def patron_show(card, ctx, fmt):
    """The patron's details: contact method, email state, password state (never the password)."""
    from ils.patrons.view import patron_details

    render(patron_details(ctx, card), fmt)


@patron.command("loans")
@click.argument("card")
@with_context
@output_options
def patron_loans_cmd(card, ctx, fmt):
    """The patron's open loans, with due dates and renewals."""
    from ils.patrons.view import patron_loans

    render(patron_loans(ctx, card), fmt)


@patron.command("holds")
@click.argument("card")
@with_context
@output_options
def patron_holds_cmd(card, ctx, fmt):
    """The patron's holds: status as the patron reads it, queue rank (an estimate), pickup, deadline."""
    from ils.patrons.view import patron_holds

    render(patron_holds(ctx, card), fmt)


@patron.command("enrol")
@click.option("--card", required=True, help="The patron's card number.")
@click.option("--reason", help="Why, e.g. the application form's number (audited).")
@with_context
@staff_option
@output_options
def patron_enrol(card, reason, staff, ctx, fmt):
    """Enrol a patron for the web service as the profile says (the application form, a
    counter-issued password: none for the patron to set, the birth-date initial value, or a
    temporary one shown this once); audited, and sent to the ILS in the change export."""
    from ils.patrons.enrolment import enrol

    done = enrol(ctx, card, staff=staff, why=reason)
    row = {"card": done.card, "web_registered": True, "password": done.password}
    if done.shown_once:
        row["temporary_password"] = done.shown_once
    render([row], fmt)


@click.group()
def password():
    """Web-service passwords."""


@password.command("reset")
@click.option("--card", required=True, help="The patron's card number.")
@click.option("--reason", help="Why (audited).")
@with_context
@staff_option
@output_options
def password_reset(card, reason, staff, ctx, fmt):
    """Reset a forgotten password as the profile says (clear, birth-date initial value, or a
    random temporary one shown this once); unlocks the account; audited."""
    from ils.patrons.passwords import reset

    done = reset(ctx, card, staff=staff, why=reason)
    row = {"card": done.card, "reset_to": done.mode, "state": done.state}
    if done.shown_once:
        row["temporary_password"] = done.shown_once
    render([row], fmt)


@click.command("audit")
@click.option("--card", help="Only this patron's entries.")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@with_context
@output_options
def audit_cmd(card, limit, ctx, fmt):
    """The staff audit log: password resets, overrides, counter cancellations."""
    from ils.infra.audit import audit_rows
    from ils.patrons.view import patron_id_of

    render(audit_rows(ctx, limit, patron_id_of(ctx, card) if card else None), fmt)

@patron.command("history")
@click.argument("card")
@with_context
@output_options
def patron_history_cmd(card, ctx, fmt):
    """Every change of every hold the patron has had, oldest first, with why and who."""
    from ils.holds.timeline import COLUMNS, patron_history

    render(patron_history(ctx, card), fmt, columns=COLUMNS)
