"""`ils init` and `ils db`: creating the database, its schema version, backups and checks."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from ils.cli import config_option, db_option, output_options
from ils.infra import db, faults, files
from ils.infra.config import database_url, read_settings
from ils.infra.i18n import _
from ils.infra.output import render
from ils.library.policy import available_profiles

log = logging.getLogger("ils")


@click.command()
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


@click.group("db")
def db_group():
    """Schema version and migrations."""


@db_group.command("upgrade")
@db_option
@config_option
def db_upgrade(db_url, config_path):
    """Migrate the database schema to this version of ils."""
    url = database_url(db_url, read_settings(config_path))
    engine = db.open_engine(url)
    try:
        with faults.translated(db.location(url)):
            before, after = db.upgrade(engine)
    finally:
        # Closed before the command ends: SQLite then writes the migration from its log into
        # the file, so a copy of the file alone (made the simple, wrong way) is not one schema behind.
        engine.dispose()
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
