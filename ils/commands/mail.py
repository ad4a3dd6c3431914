"""`ils mail`: patron mail, rendered, sent, listed, resent; bounces read."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ils.cli import output_options, staff_option, with_context
from ils.infra.i18n import _
from ils.infra.output import render
from ils.library.clock import system_now


@click.group()
def mail():
    """Patron mail: notices rendered into the outbox, delivered once (see docs/mail.md)."""


def _mail_settings(ctx):
    from ils.mail.settings import mail_settings

    return mail_settings(ctx.settings.mail)


def _report_mail(counts, fmt):
    if sys.stderr.isatty() or fmt != "table":
        render([{"what": k, "count": v} for k, v in sorted(counts.items()) if v], fmt)
    if counts.get("unconfirmed"):
        raise click.ClickException(
            _("{count} message(s) may or may not have reached the mail server (no answer came after "
              "the message was sent, or a run stopped while sending): "
              "check the server's log for their Message-IDs (`ils mail list --state unconfirmed`) "
              "and `ils mail resend ID` any it did not receive").format(count=counts["unconfirmed"])
        )


@mail.command("render")
@with_context
@output_options
def mail_render(ctx, fmt):
    """Queue the mail that is due now (and this week's newsletter, where the profile has one)."""
    from ils.mail.run import queue_due

    counts = queue_due(ctx, _mail_settings(ctx))
    _report_mail(counts, fmt)


@mail.command("send")
@with_context
@output_options
def mail_send(ctx, fmt):
    """Deliver queued mail over SMTP or into .eml files; exits 1 if a person must check a message."""
    from ils.mail.deliver import send_due, transport_for

    settings = _mail_settings(ctx)
    counts = send_due(ctx, settings, transport_for(settings, ctx.settings.folder), system_now)
    _report_mail(counts, fmt)


@mail.command("run")
@with_context
@output_options
def mail_run(ctx, fmt):
    """Render what is due, then send it: what cron runs every ten minutes."""
    from ils.mail.deliver import transport_for
    from ils.mail.run import run as run_mail

    settings = _mail_settings(ctx)
    counts = run_mail(ctx, settings, transport_for(settings, ctx.settings.folder), system_now)
    _report_mail(counts, fmt)


@mail.command("list")
@click.option("--state", type=click.Choice(["queued", "sending", "sent", "failed", "unconfirmed"]))
@click.option("--limit", default=50, show_default=True)
@with_context
@output_options
def mail_list(state, limit, ctx, fmt):
    """The outbox, newest first."""
    from ils.mail.deliver import outbox_rows

    render(outbox_rows(ctx, state, limit), fmt)


@mail.command("resend")
@click.argument("message", type=int)
@click.option("--reason", help="Why (audited).")
@with_context
@staff_option
@output_options
def mail_resend(message, reason, staff, ctx, fmt):
    """Queue an unconfirmed or failed message again, once you know the server did not take it."""
    from ils.mail.deliver import requeue

    render([requeue(ctx, message, staff=staff, why=reason)], fmt)


@mail.command("bounces")
@click.option("--mbox", type=click.Path(dir_okay=False, path_type=Path),
              help="An mbox file the relay returns bounces to.")
@click.option("--maildir", type=click.Path(file_okay=False, path_type=Path),
              help="A Maildir folder the relay returns bounces to.")
@with_context
@output_options
def mail_bounces(mbox, maildir, ctx, fmt):
    """Read delivery-status notifications (bounces, RFC 3464) from a mailbox: mark each message
    and address that failed (the contact-problem report lists the patron) and clear an address
    a later message reached. Reading the same mailbox again changes nothing."""
    from ils.mail.bounces import read_bounces

    if (mbox is None) == (maildir is None):
        raise click.UsageError(_("give one of --mbox PATH or --maildir PATH"))
    counts = read_bounces(ctx, mbox or maildir, "mbox" if mbox else "maildir")
    render([{"what": k, "count": v} for k, v in sorted(counts.items())], fmt)
