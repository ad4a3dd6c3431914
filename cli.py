"""Command line of the holds back office: `ils` (parses options, calls one function, prints through one renderer)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import importlib
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import click

from ils.errors import CannotWrite, ImportFailed
from ils.infra import faults, files, logs
from ils.infra.context import open_context
from ils.infra.i18n import _, speak_for_click
from ils.infra.logs import StampedErrors
from ils.library.clock import parse_instant, system_now

log = logging.getLogger("ils")
MAX_PROBLEMS_SHOWN = 50


class IlsGroup(click.Group):
    """Turns every failure into one clear `Error:` line and exit status 1; the traceback only with -v.
    Its commands are loaded as they are asked for (COMMANDS), in click's lazy group's way."""

    def main(self, *args, **kwargs):
        # click's usage errors (No such option, Missing argument, Usage:) in the staff's
        # language, like ours. click.Path names its kind (FILE) when an option is made, and
        # that name is the metavar --help shows, which stays English: the commands' options
        # are made after this (get_command), so the catalog must not translate click's
        # "file", "directory" or "path" (tests/test_cli.py checks a metavar in Japanese).
        speak_for_click()
        return super().main(*args, **kwargs)

    def list_commands(self, ctx):
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx, cmd_name):
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, name = COMMANDS[cmd_name].rsplit(".", 1)
            self.add_command(getattr(importlib.import_module(f"ils.commands.{module}"), name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def load_named(self, args: list[str]) -> None:
        """Load the command a command line names (its first word that is not an option), as the
        module is loaded (ils.__main__ pauses the collector for both), not as it is parsed."""
        named = next((arg for arg in args if not arg.startswith("-")), None)
        if named is not None:
            self.get_command(None, named)

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


def parse_day(_ctx, _param, value):
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


def existing_parent(_ctx, param, value: Path | None) -> Path | None:
    """An --output whose folder is missing is refused before anything is opened or written."""
    if value is not None:
        _existing_folder(value.parent, f"--{param.name}")
    return value


def staff_option(f):
    return click.option("--staff", envvar="ILS_STAFF", required=True,
                        help="Your staff id, for the history and the audit log [env ILS_STAFF].")(f)


def branch_option(f):
    return click.option("--branch", envvar="ILS_BRANCH", required=True,
                        help="Code of the branch you work at [env ILS_BRANCH].")(f)


def counter_options(f):
    return with_context(staff_option(branch_option(output_options(f))))


def _existing_folder(folder: Path, option: str) -> None:
    """A mistyped path must not become a new folder tree somewhere: the folder must be there."""
    if not folder.is_dir():
        raise CannotWrite(_("the folder {folder} does not exist: create it, or give {option} a folder that does").format(folder=folder.resolve(), option=option))


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


# Each command of `ils` and where it is defined (ils/commands/): a command line loads the module
# of the command it runs, and `ils --help` all of them (IlsGroup.get_command). Defining every
# command's options (some 500) was 35 million instructions, 2% of an intraday run as a process.
COMMANDS = {
    "audit": "patrons.audit_cmd",
    "batch": "batch.batch",
    "bench": "bench.bench",
    "calendar": "policy.calendar",
    "checkin": "counter.checkin",
    "checkout": "counter.checkout",
    "db": "database.db_group",
    "demo": "data.demo",
    "events": "counter.events",
    "export": "exchange.export_group",
    "hold": "holds.hold",
    "import": "exchange.import_cmd",
    "init": "database.init",
    "mail": "mail.mail",
    "password": "patrons.password",
    "patron": "patrons.patron",
    "policy": "policy.policy",
    "pull": "counter.pull",
    "renew": "counter.renew_cmd",
    "report": "reports.report",
    "request": "requests.request",
    "reshelve": "counter.reshelve_cmd",
    "sample": "data.sample",
    "staff": "staff.staff_group",
    "summary": "data.summary",
    "title": "staff.title",
    "transit": "counter.transit",
}

if __name__ == "__main__":
    main()
