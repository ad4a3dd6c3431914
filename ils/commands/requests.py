"""`ils request`: requests entered as the web front end writes them (for tests, demos and paper forms)."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import click

from ils.cli import output_options, parse_day, with_context
from ils.infra.i18n import _
from ils.infra.output import render

log = logging.getLogger("ils")


@click.group()
def request():
    """Write pending requests as the web/OPAC front end does (see docs/integration.md)."""


def _request_common(f):
    f = click.option("--card", required=True, help="Patron's card number.")(f)
    f = click.option("--channel", type=click.Choice(["web", "mobile", "opac", "paper"]), default="web",
                     show_default=True, help="Where the request came from.")(f)
    f = click.option("--received-at", help="When the library received it (a paper form's receipt time). Default: --now.")(f)
    f = click.option("--client-ref", help="The front end's own id of the submission.")(f)
    return with_context(f)


def _hold_option(f):
    return click.option("--hold", "hold_ref", required=True, help="Hold id, or bib:BIB_ID for the patron's hold on that title.")(f)


def _submit(ctx, requests):
    from ils.frontend.requests import submit_keyed

    with ctx.writing():
        ids = submit_keyed(ctx.conn, requests, now=ctx.now, policy=ctx.policy)
    render([{"request_id": i} for i in ids], "table")


def _base(card, channel, received_at, client_ref, now, kind):
    return {"kind": kind, "card_number": card, "channel": channel,
            "received_at": received_at or now.isoformat(), "client_ref": client_ref}


def _submit_one(ctx, kind, target, card, channel, received_at, client_ref, **more):
    """One request of `kind` about `target` (a hold, a contact method, newsletter subjects)."""
    _submit(ctx, [{**_base(card, channel, received_at, client_ref, ctx.now, kind), "target": target, **more}])


@request.command("hold")
@click.option("--title", "titles", multiple=True, required=True, help="bib_id of a title; repeat for several.")
@click.option("--pickup", required=True, help="Pickup branch code (受取館).")
@click.option("--contact", type=click.Choice(["email", "phone", "none"]), help="Contact method; default the patron's.")
@click.option("--series", is_flag=True, help="Serve the titles strictly in the order given (順番予約).")
@click.option("--receipt-mail", is_flag=True, help="The patron asked for a receipt mail.")
@click.option("--not-needed-after", "not_needed_after", callback=parse_day, metavar="DATE",
              help="有効期限: still waiting after this day, the hold lapses (a not_needed_after row per title).")
@_request_common
def request_hold(titles, pickup, contact, series, receipt_mail, not_needed_after, card, channel, received_at,
                 client_ref, ctx):
    """Request holds (仮予約) on one or more titles."""
    group = f"cli-{uuid.uuid4().hex[:12]}" if series else None
    rows = []
    for position, bib in enumerate(titles, start=1):
        row = _base(card, channel, received_at, client_ref, ctx.now, "hold")
        row.update(target=bib, pickup_branch=pickup, contact_method=contact,
                   receipt_mail="yes" if receipt_mail else None)
        if group:
            row.update(series_group=group, series_position=str(position))
        rows.append(row)
    if not_needed_after:
        from ils.holds.suspension import not_needed_after_rows

        rows += not_needed_after_rows(rows, not_needed_after, ctx.today)
    _submit(ctx, rows)


@request.command("cancel")
@_hold_option
@_request_common
def request_cancel(hold_ref, card, channel, received_at, client_ref, ctx):
    """Request the cancellation of a hold (取消申込)."""
    _submit_one(ctx, "cancel", hold_ref, card, channel, received_at, client_ref)


@request.command("pickup")
@_hold_option
@click.option("--pickup", required=True, help="The new pickup branch code (受取館).")
@_request_common
def request_pickup(hold_ref, pickup, card, channel, received_at, client_ref, ctx):
    """Request a change of a hold's pickup branch (受取館の変更)."""
    _submit_one(ctx, "pickup_change", hold_ref, card, channel, received_at, client_ref, pickup_branch=pickup)


@request.command("contact")
@click.option("--method", required=True, type=click.Choice(["email", "phone", "none"]),
              help="The new contact method (連絡方法): email, phone, or none (自主確認).")
@_request_common
def request_contact(method, card, channel, received_at, client_ref, ctx):
    """Request a change of the patron's contact method (連絡方法の変更)."""
    _submit_one(ctx, "contact_change", method, card, channel, received_at, client_ref)


@request.command("newsletter")
@click.option("--subscribe/--unsubscribe", default=True, help="Subscribe to the subjects, or unsubscribe from them.")
@click.option("--subject", "subjects", multiple=True, required=True,
              help="An NDC class 0-9, or `events` for 行事案内; repeat for several. With --unsubscribe, `all` for everything.")
@_request_common
def request_newsletter(subscribe, subjects, card, channel, received_at, client_ref, ctx):
    """Request a newsletter subscription change (メールマガジンの登録, Kitami's 新着図書案内)."""
    target = f"{'subscribe' if subscribe else 'unsubscribe'}:{','.join(subjects)}"
    _submit_one(ctx, "newsletter", target, card, channel, received_at, client_ref)


@request.command("suspend")
@_hold_option
@click.option("--until", callback=parse_day, metavar="DATE", help="It resumes by itself on this day; default: until resumed.")
@_request_common
def request_suspend(hold_ref, until, card, channel, received_at, client_ref, ctx):
    """Request that a waiting hold be suspended (予約の一時停止); it keeps its place in the queue."""
    target = f"{hold_ref}@{until.isoformat()}" if until else hold_ref
    _submit_one(ctx, "suspend", target, card, channel, received_at, client_ref)


@request.command("resume")
@_hold_option
@_request_common
def request_resume(hold_ref, card, channel, received_at, client_ref, ctx):
    """Request that a suspended hold wait again (予約の一時停止の解除)."""
    _submit_one(ctx, "resume", hold_ref, card, channel, received_at, client_ref)


@request.command("not-needed-after")
@_hold_option
@click.option("--date", "day", callback=parse_day, metavar="DATE", help="The last day the patron needs it (有効期限).")
@click.option("--clear", is_flag=True, help="Remove the hold's not-needed-after date.")
@_request_common
def request_not_needed_after(hold_ref, day, clear, card, channel, received_at, client_ref, ctx):
    """Request a not-needed-after date (有効期限) for a hold, or its removal."""
    if bool(day) == clear:
        raise click.UsageError(_("give --date DATE or --clear"))
    target = f"{hold_ref}@{day.isoformat() if day else 'none'}"
    _submit_one(ctx, "not_needed_after", target, card, channel, received_at, client_ref)


@request.command("renew")
@click.option("--barcode", required=True, help="Barcode of the borrowed copy.")
@_request_common
def request_renew(barcode, card, channel, received_at, client_ref, ctx):
    """Request the renewal of a loan (延長申込)."""
    _submit_one(ctx, "renew", barcode, card, channel, received_at, client_ref)


@request.command("email")
@click.option("--address", default="", help="The new address; empty to delete it.")
@_request_common
def request_email(address, card, channel, received_at, client_ref, ctx):
    """Request a change of the patron's email address."""
    _submit_one(ctx, "email_change", address, card, channel, received_at, client_ref)


@request.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_context
def request_import(path, ctx):
    """Store every request of a JSON-lines or CSV file as pending rows (all or none)."""
    from ils.frontend.requests import import_request_file

    ids = import_request_file(ctx.conn, path, ctx.now)
    log.info("%d requests stored from %s", len(ids), path)


@request.command("list")
@with_context
@output_options
def request_list(ctx, fmt):
    """Count pending-request rows by kind and state."""
    from ils.frontend.requests import counts_by_state

    render(counts_by_state(ctx.conn), fmt, columns=["kind", "state", "requests"])
