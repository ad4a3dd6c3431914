"""Command line of the holds back office: `ils` (parses options, calls one function, prints through one renderer)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import shutil
import sys
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path

import click

from ils.batch.runner import STEPS, count_rows, recent_runs, run_steps, run_until_current, step_names
from ils.errors import CannotWrite, ImportFailed
from ils.holds.acceptance import OVERRIDE_KEYS
from ils.infra import db, faults, files, logs
from ils.infra.config import database_url, read_settings
from ils.infra.context import open_context
from ils.infra.i18n import _, speak_for_click
from ils.infra.logs import StampedErrors
from ils.infra.output import render
from ils.library.clock import library_date, parse_instant, system_now
from ils.library.policy import available_profiles

log = logging.getLogger("ils")
MAX_PROBLEMS_SHOWN = 50


class IlsGroup(click.Group):
    """Turns every failure into one clear `Error:` line and exit status 1; the traceback only with -v."""

    def main(self, *args, **kwargs):
        # click's usage errors (No such option, Missing argument, Usage:) in the staff's
        # language, like ours. Here, not at import: click.Path names its kind (FILE) when the
        # options are made, and that name is the metavar --help shows, which stays English.
        speak_for_click()
        return super().main(*args, **kwargs)

    def make_context(self, *args, **kwargs):
        with _stamped_error_line():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _stamped_error_line():
            return self._invoke(ctx)

    def _invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except ImportFailed as exc:
            for problem in exc.problems[:MAX_PROBLEMS_SHOWN]:
                click.echo(str(problem), err=True)
            if len(exc.problems) > MAX_PROBLEMS_SHOWN:
                click.echo(_("... and {count} more").format(count=len(exc.problems) - MAX_PROBLEMS_SHOWN), err=True)
            raise click.ClickException(str(exc)) from exc
        except Exception as exc:  # noqa: BLE001 - the one place every failure reaches the terminal
            if ctx.params.get("verbose"):
                click.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)
            raise click.ClickException(_one_line(exc)) from exc


@contextlib.contextmanager
def _stamped_error_line():
    """The `Error:` line click prints for a failure starts with the time (ils.infra.logs)."""
    try:
        yield
    except click.ClickException as exc:
        exc.__dict__["show"] = functools.partial(exc.show, file=StampedErrors(sys.stderr))
        raise


def _one_line(exc: Exception) -> str:
    """What a person must do, for a domain error or a fault of the machine; for a bug, where to look."""
    found = faults.explain(exc)
    if found is not None:
        return str(found)
    first = (str(exc).strip().splitlines() or [""])[0]
    return _("unexpected {kind}: {first} (a bug: run again with -v for the traceback, and report it)").format(
        kind=type(exc).__name__, first=first)


# Shared options -------------------------------------------------------------


class LazyChoice(click.Choice):
    """A choice whose list comes from a module loaded only when a command that takes it
    runs or shows its help: each command imports what it uses, so `ils batch run` does not
    load the importer, the reports or the mail (start-up is most of an intraday run)."""

    def __init__(self, load: Callable[[], list[str]]):
        self._load = load
        super().__init__([])

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self._load())

    @choices.setter
    def choices(self, _value) -> None:
        pass  # click.Choice sets it in __init__; the list is the loader's


def _import_kinds() -> list[str]:
    from ils.exchange.imports import ALL_KINDS

    return list(ALL_KINDS)


def _reports() -> list[str]:
    from ils.reports import REPORTS
    from ils.reports.acquisitions import LIBRARY_REPORTS

    return [*REPORTS, *LIBRARY_REPORTS]


def _presets() -> list[str]:
    from ils.tools.sample.spec import PRESET_NAMES

    return PRESET_NAMES


def _report_formats() -> list[str]:
    from ils.reports.formats import FORMATS

    return list(FORMATS)



def db_option(f):
    return click.option(
        "--db",
        "db_url",
        envvar="ILS_DATABASE_URL",
        help="Database URL (sqlite:///path, postgresql+psycopg://...) or SQLite file path. "
        "Default: $ILS_DATABASE_URL, the config file, then ./ils.db.",
    )(f)


# One for every command's --config: click.Path looks its metavar's word up in gettext's
# catalogues as it is made, some 60 lookups of the same word as the command line is built.
CONFIG_FILE = click.Path(dir_okay=False)


def config_option(f):
    return click.option(
        "--config",
        "config_path",
        envvar="ILS_CONFIG",
        type=CONFIG_FILE,
        help="Installation config file (TOML). Default: $ILS_CONFIG, then ./ils.toml if present.",
    )(f)


def _parse_now(_ctx, _param, value):
    if value is None:
        return system_now()
    try:
        return parse_instant(value)
    except ValueError:
        raise click.BadParameter(_("{value!r} is not an ISO 8601 time, e.g. 2026-11-26T03:00").format(value=value)) from None


def _parse_day(_ctx, _param, value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(_("{value!r} is not a date, e.g. 2026-12-20").format(value=value)) from None


def now_option(f):
    return click.option(
        "--now",
        callback=_parse_now,
        help="Act as if it were this time (ISO 8601; without an offset, Asia/Tokyo). Default: now.",
    )(f)


def output_options(f):
    f = click.option("--csv", "fmt", flag_value="csv", help="Output CSV.")(f)
    f = click.option("--json", "fmt", flag_value="json", help="Output JSON.")(f)
    return click.option("--table", "fmt", flag_value="table", default=True, help="Output a table (default).")(f)


def store_options(f):
    """--db, --config and --now: what every command that opens the database takes."""
    return db_option(config_option(now_option(f)))


def with_context(f):
    """--db, --config and --now, and the Context opened from them given to the command as
    `ctx` (closed when it ends): the one place a command gets its database, policy and time."""

    @functools.wraps(f)
    def command(*args, db_url, config_path, now, **kwargs):
        with open_context(db_url, config_path, now) as ctx:
            return f(*args, ctx=ctx, **kwargs)

    return store_options(command)


def _existing_parent(_ctx, param, value: Path | None) -> Path | None:
    """An --output whose folder is missing is refused before anything is opened or written."""
    if value is not None:
        _existing_folder(value.parent, f"--{param.name}")
    return value


# The group -----------------------------------------------------------------


@click.group(cls=IlsGroup)
@click.version_option(package_name="ils-holds")
@click.option("-v", "--verbose", count=True, help="Log progress to stderr (-vv for debug).")
def main(verbose):
    """Holds back office for Japanese public libraries.

    Turns web and OPAC requests into holds overnight, keeps the queues, and serves
    the counter. Logs go to stderr; commands are quiet on success unless -v.
    """
    # Patron data is written owner-only whatever the caller's umask (docs/files.md).
    files.use(files.OWNER_ONLY)
    logs.configure(logging.WARNING - 10 * min(verbose, 2))


@main.command()
@click.option("--profile", required=True, help=f"Library policy profile: {', '.join(available_profiles())}, or a TOML path.")
@db_option
@config_option
def init(profile, db_url, config_path):
    """Create the database schema and record which library's rules it follows."""
    from ils.infra.installation import initialise

    settings = read_settings(config_path)
    files.use(files.privacy_for(settings.files))  # the new database file gets the [files] group
    url = database_url(db_url, settings)
    with faults.translated(db.location(url)):
        result = initialise(url, profile)
    if result.schema_before is None:
        said = _("database {url} created, profile {profile}")
    else:
        said = _("database {url} at {schema}, profile {profile}")
    click.echo(said.format(url=db.display_url(url), schema=result.schema_after, profile=profile))


@main.group("db")
def db_group():
    """Schema version and migrations."""


@db_group.command("upgrade")
@db_option
@config_option
def db_upgrade(db_url, config_path):
    """Migrate the database schema to this version of ils."""
    url = database_url(db_url, read_settings(config_path))
    with faults.translated(db.location(url)):
        before, after = db.upgrade(db.open_engine(url))
    if before == after:
        log.info("schema already at %s", after)
    else:
        click.echo(_("schema migrated from {before} to {after}").format(before=before or _("empty"), after=after))


@db_group.command("status")
@db_option
@config_option
@output_options
def db_status(db_url, config_path, fmt):
    """Show the schema version of the database and of this program."""
    url = database_url(db_url, read_settings(config_path))
    engine = db.open_engine(url)
    try:
        with faults.translated(db.location(url)), engine.connect() as conn:
            current = db.current_revision(conn)
            profile = db.get_setting(conn, "profile") if current else None
    finally:
        engine.dispose()
    head = db.head_revision()
    render(
        [{"database": engine.url.render_as_string(hide_password=True), "schema": current or "(none)",
          "expected": head, "up_to_date": current == head, "profile": profile}],
        fmt,
    )


@db_group.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace DEST if it exists.")
@db_option
@config_option
def db_backup(dest, force, db_url, config_path):
    """Copy the SQLite database into DEST while the counter works (PostgreSQL: prints the pg_dump command)."""
    from ils.infra.backup import backup_sqlite, pg_dump_command

    settings = read_settings(config_path)
    url = database_url(db_url, settings)
    path = db.sqlite_path(url)
    if path is None:
        click.echo(_("PostgreSQL is backed up with the server's pg_dump (docs/operations.md):"))
        click.echo(pg_dump_command(url, str(dest)))
        return
    files.use(files.privacy_for(settings.files))
    with faults.translated(str(dest)):
        size = backup_sqlite(path, dest, force=force)
    log.info("backed up %s into %s (%d bytes)", path, dest, size)


@db_group.command("check")
@db_option
@config_option
def db_check(db_url, config_path):
    """Check the database (SQLite's integrity check, and the rules between holds, copies and loans); one line per problem."""
    from ils.infra.dbcheck import problems

    url = database_url(db_url, read_settings(config_path))
    with faults.translated(db.location(url)), db.connect(url) as conn:
        if conn.dialect.name != "sqlite":
            click.echo(_("integrity_check: skipped on PostgreSQL (the server checks its own pages; pg_amcheck goes deeper)"))
        found = 0
        for line in problems(conn):
            click.echo(line)
            found += 1
    if found:
        raise click.ClickException(_("{count} problem(s) in the database, listed above; see docs/operations.md").format(count=found))
    log.info("database checked: no problem")


@main.command("import")
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


@main.group("export")
def export_group():
    """What the back office changed, for the library's main system (ILS) to apply."""


@export_group.command("changes")
@click.option("--since", required=True,
              help="The last journal id the ILS applied (0 for everything; acknowledges the entries up to it), "
              "or a time (ISO 8601) to look without acknowledging.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--encoding", type=click.Choice(["utf-8", "cp932"]), default="utf-8", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), callback=_existing_parent,
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


# Requests, as the front end writes them ------------------------------------


@main.group()
def request():
    """Write pending requests as the web/OPAC front end does (see docs/integration.md)."""


def _request_common(f):
    f = click.option("--card", required=True, help="Patron's card number.")(f)
    f = click.option("--channel", type=click.Choice(["web", "mobile", "opac", "paper"]), default="web",
                     show_default=True, help="Where the request came from.")(f)
    f = click.option("--received-at", help="When the library received it (a paper form's receipt time). Default: --now.")(f)
    f = click.option("--client-ref", help="The front end's own id of the submission.")(f)
    return with_context(f)


def _submit(ctx, requests):
    from ils.frontend.requests import submit_keyed

    with ctx.writing():
        ids = submit_keyed(ctx.conn, requests, now=ctx.now, policy=ctx.policy)
    render([{"request_id": i} for i in ids], "table")


def _base(card, channel, received_at, client_ref, now, kind):
    return {"kind": kind, "card_number": card, "channel": channel,
            "received_at": received_at or now.isoformat(), "client_ref": client_ref}


@request.command("hold")
@click.option("--title", "titles", multiple=True, required=True, help="bib_id of a title; repeat for several.")
@click.option("--pickup", required=True, help="Pickup branch code (受取館).")
@click.option("--contact", type=click.Choice(["email", "phone", "none"]), help="Contact method; default the patron's.")
@click.option("--series", is_flag=True, help="Serve the titles strictly in the order given (順番予約).")
@click.option("--receipt-mail", is_flag=True, help="The patron asked for a receipt mail.")
@click.option("--not-needed-after", "not_needed_after", callback=_parse_day, metavar="DATE",
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
@click.option("--hold", "hold_ref", required=True, help="Hold id, or bib:BIB_ID for the patron's hold on that title.")
@_request_common
def request_cancel(hold_ref, card, channel, received_at, client_ref, ctx):
    """Request the cancellation of a hold (取消申込)."""
    _submit(ctx, [{**_base(card, channel, received_at, client_ref, ctx.now, "cancel"), "target": hold_ref}])


@request.command("pickup")
@click.option("--hold", "hold_ref", required=True, help="Hold id, or bib:BIB_ID for the patron's hold on that title.")
@click.option("--pickup", required=True, help="The new pickup branch code (受取館).")
@_request_common
def request_pickup(hold_ref, pickup, card, channel, received_at, client_ref, ctx):
    """Request a change of a hold's pickup branch (受取館の変更)."""
    row = {**_base(card, channel, received_at, client_ref, ctx.now, "pickup_change"), "target": hold_ref, "pickup_branch": pickup}
    _submit(ctx, [row])


@request.command("contact")
@click.option("--method", required=True, type=click.Choice(["email", "phone", "none"]),
              help="The new contact method (連絡方法): email, phone, or none (自主確認).")
@_request_common
def request_contact(method, card, channel, received_at, client_ref, ctx):
    """Request a change of the patron's contact method (連絡方法の変更)."""
    _submit(ctx, [{**_base(card, channel, received_at, client_ref, ctx.now, "contact_change"), "target": method}])


@request.command("newsletter")
@click.option("--subscribe/--unsubscribe", default=True, help="Subscribe to the subjects, or unsubscribe from them.")
@click.option("--subject", "subjects", multiple=True, required=True,
              help="An NDC class 0-9, or `events` for 行事案内; repeat for several. With --unsubscribe, `all` for everything.")
@_request_common
def request_newsletter(subscribe, subjects, card, channel, received_at, client_ref, ctx):
    """Request a newsletter subscription change (メールマガジンの登録, Kitami's 新着図書案内)."""
    target = f"{'subscribe' if subscribe else 'unsubscribe'}:{','.join(subjects)}"
    _submit(ctx, [{**_base(card, channel, received_at, client_ref, ctx.now, "newsletter"), "target": target}])


@request.command("suspend")
@click.option("--hold", "hold_ref", required=True, help="Hold id, or bib:BIB_ID for the patron's hold on that title.")
@click.option("--until", callback=_parse_day, metavar="DATE", help="It resumes by itself on this day; default: until resumed.")
@_request_common
def request_suspend(hold_ref, until, card, channel, received_at, client_ref, ctx):
    """Request that a waiting hold be suspended (予約の一時停止); it keeps its place in the queue."""
    target = f"{hold_ref}@{until.isoformat()}" if until else hold_ref
    _submit(ctx, [{**_base(card, channel, received_at, client_ref, ctx.now, "suspend"), "target": target}])


@request.command("resume")
@click.option("--hold", "hold_ref", required=True, help="Hold id, or bib:BIB_ID for the patron's hold on that title.")
@_request_common
def request_resume(hold_ref, card, channel, received_at, client_ref, ctx):
    """Request that a suspended hold wait again (予約の一時停止の解除)."""
    _submit(ctx, [{**_base(card, channel, received_at, client_ref, ctx.now, "resume"), "target": hold_ref}])


@request.command("not-needed-after")
@click.option("--hold", "hold_ref", required=True, help="Hold id, or bib:BIB_ID for the patron's hold on that title.")
@click.option("--date", "day", callback=_parse_day, metavar="DATE", help="The last day the patron needs it (有効期限).")
@click.option("--clear", is_flag=True, help="Remove the hold's not-needed-after date.")
@_request_common
def request_not_needed_after(hold_ref, day, clear, card, channel, received_at, client_ref, ctx):
    """Request a not-needed-after date (有効期限) for a hold, or its removal."""
    if bool(day) == clear:
        raise click.UsageError(_("give --date DATE or --clear"))
    target = f"{hold_ref}@{day.isoformat() if day else 'none'}"
    _submit(ctx, [{**_base(card, channel, received_at, client_ref, ctx.now, "not_needed_after"), "target": target}])


@request.command("renew")
@click.option("--barcode", required=True, help="Barcode of the borrowed copy.")
@_request_common
def request_renew(barcode, card, channel, received_at, client_ref, ctx):
    """Request the renewal of a loan (延長申込)."""
    _submit(ctx, [{**_base(card, channel, received_at, client_ref, ctx.now, "renew"), "target": barcode}])


@request.command("email")
@click.option("--address", default="", help="The new address; empty to delete it.")
@_request_common
def request_email(address, card, channel, received_at, client_ref, ctx):
    """Request a change of the patron's email address."""
    _submit(ctx, [{**_base(card, channel, received_at, client_ref, ctx.now, "email_change"), "target": address}])


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


# The nightly batch ------------------------------------------------------------


@main.group(help=f"The nightly batch, one module per step in batch/: {', '.join(step_names())}.")
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


@main.group()
def bench():
    """Benchmarks (long; not part of the test suite)."""


@bench.command("night")
@click.option("--preset", type=LazyChoice(_presets), default="city", show_default=True,
              help="Size of the generated library (city: 2M copies, 200k holds, 20k requests; quarter-city, "
              "half-city...: that size scaled).")
@click.option("--profile", default="kitami", show_default=True, help="Library rules to run the night under.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("bench"), show_default=True,
              help="Where the generated library and its database are kept between runs.")
@click.option("--seed", type=int, help="Generator seed (default: the sample's).")
@click.option("--intraday", "intraday", default=200, show_default=True, help="New requests for the intraday run.")
@click.option("--engine", type=click.Choice(["sqlite", "postgresql"]), default="sqlite", show_default=True,
              help="Database engine to run the night on.")
@click.option("--pg-server", envvar="ILS_BENCH_PG", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
              show_default=True, help="PostgreSQL server for --engine postgresql (a role that may create databases) "
              "[env ILS_BENCH_PG].")
@click.option("--growth/--no-growth", default=True, show_default=True,
              help="Also run the night at a quarter and half the size and show how each step grows.")
@output_options
def bench_night(preset, profile, workdir, seed, intraday, engine, pg_server, growth, fmt):
    """Time one night at scale: wall time, each step, peak memory, rows written, and the ratio to
    the night's honest floor (its own writes replayed as plain batched statements, checked equal).

    The library is generated and loaded once and reused: on SQLite imported into a file in
    WORKDIR, on PostgreSQL loaded by COPY into a database ils_bench_PRESET_SEED_PROFILE.
    Each benchmark runs the night on a fresh copy, in a child process, then an intraday run
    (as a process and in-process), then (unless --no-growth) the night at 1/4 and 1/2 size.
    """
    from ils.infra import progress
    from ils.tools.bench import PHASES, PHASES_OF_GROWTH, benchmark, figure_rows

    with progress.bar(PHASES + (PHASES_OF_GROWTH if growth else 0), "bench") as shown:
        def tell(message: str) -> None:
            shown.say(f"... {message}")
            shown.advance(1)

        figures = benchmark(preset, profile, workdir, seed=seed, intraday=intraday, growth=growth,
                            pg_server=pg_server if engine == "postgresql" else None, progress=tell)
    render(figure_rows(figures), fmt)


# The counter ------------------------------------------------------------------


def staff_option(f):
    return click.option("--staff", envvar="ILS_STAFF", required=True,
                        help="Your staff id, for the history and the audit log [env ILS_STAFF].")(f)


def branch_option(f):
    return click.option("--branch", envvar="ILS_BRANCH", required=True,
                        help="Code of the branch you work at [env ILS_BRANCH].")(f)


def counter_options(f):
    return with_context(staff_option(branch_option(output_options(f))))


def _at_counter(ctx, fmt, branch, action, *args, **kwargs):
    """Run one counter action at the branch, print its outcome."""
    from ils.library.branches import branch_id

    outcome = action(ctx, *args, branch_id(ctx.conn, branch), **kwargs)
    render([outcome.as_row()], fmt)


@main.command()
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


@main.command()
@click.option("--barcode", required=True, help="The returned copy's barcode.")
@counter_options
def checkin(barcode, staff, branch, ctx, fmt):
    """Take a copy back (返却); it is caught for the first waiting hold on its title."""
    from ils.circulation.copies import check_in

    _at_counter(ctx, fmt, branch, check_in, barcode, staff=staff)


@main.command("renew")
@click.option("--barcode", required=True, help="The borrowed copy's barcode.")
@with_context
@staff_option
@output_options
def renew_cmd(barcode, staff, ctx, fmt):
    """Renew a loan at the counter or by phone, by the same rules as the web."""
    from ils.circulation.renewal import renew_at_counter

    render([renew_at_counter(ctx, barcode, staff=staff)], fmt)


@main.group()
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


@main.group()
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


@main.group()
def transit():
    """Copies travelling between branches (回送)."""


@transit.command("receive")
@click.option("--barcode", required=True, help="The copy off the van.")
@counter_options
def transit_receive(barcode, staff, branch, ctx, fmt):
    """A copy arrives: on the hold shelf if it is for a hold here, else shelved or sent home."""
    from ils.circulation.copies import receive_transit

    _at_counter(ctx, fmt, branch, receive_transit, barcode, staff=staff)


@main.command("reshelve")
@click.option("--barcode", required=True, help="A copy left on the hold shelf by an expired or cancelled hold.")
@counter_options
def reshelve_cmd(barcode, staff, branch, ctx, fmt):
    """Clear a copy from the hold shelf: to the next hold, the shelf, or home."""
    from ils.circulation.copies import reshelve

    _at_counter(ctx, fmt, branch, reshelve, barcode, staff=staff)


@main.group()
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
@click.option("--not-needed-after", "not_needed_after", callback=_parse_day, metavar="DATE",
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
@click.option("--until", callback=_parse_day, metavar="DATE", help="It resumes by itself on this day (after today); default: until resumed.")
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
@click.argument("day", required=False, callback=_parse_day, metavar="[DATE]")
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


@main.group()
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


@main.group()
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


@main.command("audit")
@click.option("--card", help="Only this patron's entries.")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@with_context
@output_options
def audit_cmd(card, limit, ctx, fmt):
    """The staff audit log: password resets, overrides, counter cancellations."""
    from ils.infra.audit import audit_rows
    from ils.patrons.view import patron_id_of

    render(audit_rows(ctx, limit, patron_id_of(ctx, card) if card else None), fmt)


# Staff accounts, a title's queue, a hold's history -------------------------------------


@main.group("staff")
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


@main.group()
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


@hold.command("history")
@click.argument("hold_id", type=int)
@with_context
@output_options
def hold_history_cmd(hold_id, ctx, fmt):
    """Every change of the hold: when, from and to, why, and who (batch run, front end request, staff, import)."""
    from ils.holds.timeline import COLUMNS, hold_history

    render(hold_history(ctx, hold_id), fmt, columns=COLUMNS)


@patron.command("history")
@click.argument("card")
@with_context
@output_options
def patron_history_cmd(card, ctx, fmt):
    """Every change of every hold the patron has had, oldest first, with why and who."""
    from ils.holds.timeline import COLUMNS, patron_history

    render(patron_history(ctx, card), fmt, columns=COLUMNS)


# Patron mail ------------------------------------------------------------------


@main.group()
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


# Branch reports ---------------------------------------------------------------


@main.command("report")
@click.argument("name", type=LazyChoice(lambda: [*_reports(), "morning", "all"]))
@click.option("--branch", envvar="ILS_BRANCH", help="Branch code; the summary without it covers the whole system.")
@click.option("--format", "fmt", type=LazyChoice(_report_formats), default="text", show_default=True)
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="The day (default: today).")
@click.option("--csv-encoding", type=click.Choice(["utf-8-sig", "cp932"]), default=None,
              help="CSV for Excel: UTF-8 with BOM (default) or CP932.")
@click.option("--output", type=click.Path(dir_okay=True, path_type=Path), callback=_existing_parent,
              help="Write to this file (NAME all: this folder) instead of standard output.")
@click.option("--threshold", type=click.FloatRange(min=0), default=None,
              help="holds_per_copy: list titles with more active holds than this per loanable copy "
                   "(default: [reports] holds_per_copy_threshold, 5).")
@with_context
def report(name, branch, fmt, day, csv_encoding, output, threshold, ctx):
    """Print a branch report: pull, transit, holdshelf, expired, phone, problems, summary;
    or the library-wide holds_per_copy (予約多数資料, for acquisitions; on demand, not written by the night).

    NAME morning is the branch's morning PDF: its lists in the order staff work them
    (--format is ignored; give --output, or redirect standard output to a file).
    NAME all writes every report of every branch, and the system summary, into a dated
    folder (what `ils batch run` does at the end of the night).
    """
    from ils.reports.acquisitions import LIBRARY_REPORTS, library_sheet
    from ils.reports.write import encoded, make_sheet, report_settings, write_all

    settings = report_settings(ctx.settings.reports)
    the_day = day.date() if day else ctx.today
    if name == "all":
        base = output or ctx.settings.folder
        settings = settings if not output else settings.model_copy(update={"directory": "."})
        written = write_all(ctx, the_day, settings, base)
        if settings.morning_pdf:
            from ils.reports.morning import write_mornings

            written += write_mornings(ctx, the_day, settings, base)
        log.info("%d report files written", written)
        return
    if threshold is not None and name not in LIBRARY_REPORTS:
        raise click.UsageError(_("--threshold is for {reports}, not {name}").format(reports=", ".join(LIBRARY_REPORTS), name=name))
    if name == "morning":
        from ils.reports.morning import branch_morning

        data = branch_morning(ctx, branch, the_day)
    elif name in LIBRARY_REPORTS:  # the whole library's: --branch (or ILS_BRANCH) does not narrow it
        limit = settings.holds_per_copy_threshold if threshold is None else threshold
        data = encoded(library_sheet(ctx, name, the_day, limit), fmt, csv_encoding or settings.csv_encoding)
    else:
        data = encoded(make_sheet(ctx, name, branch, the_day), fmt, csv_encoding or settings.csv_encoding)
    if output:
        files.write_private(output, data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def _existing_folder(folder: Path, option: str) -> None:
    """A mistyped path must not become a new folder tree somewhere: the folder must be there."""
    if not folder.is_dir():
        raise CannotWrite(_("the folder {folder} does not exist: create it, or give {option} a folder that does").format(folder=folder.resolve(), option=option))


# Policy and calendars ------------------------------------------------------


@main.group()
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


@main.group()
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


# Looking at the data --------------------------------------------------------


@main.command()
@with_context
@output_options
def summary(ctx, fmt):
    """Count what the database holds: branches, catalogue, patrons, loans, holds, requests."""
    from ils.infra.summary import summarise

    render(summarise(ctx.conn, ctx.today), fmt)


@main.group()
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


@main.command()
@click.option("--db", "target", default="demo.db", show_default=True,
              help="SQLite file, or database URL (postgresql+psycopg://...; the database must exist), to (re)create; "
              "an existing database is replaced only if it is a demo database.")
@click.option("--profile", default="kitami", show_default=True, help="Which library's rules the demo follows.")
def demo(target, profile):
    """Build the sample city, run its night (with its reports) and its morning mail, and show them."""
    from ils.batch.runner import step_names
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


if __name__ == "__main__":
    main()
