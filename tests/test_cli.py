"""The command line as staff type it: exit codes, messages, and every command documented."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from sqlalchemy import create_engine, select

from ils import cli
from ils.infra import schema
from lines import unstamped

DOCS = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def _commands(group, prefix=("ils",)):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        path = (*prefix, name)
        yield path, command
        if isinstance(command, click.Group):
            yield from _commands(command, path)


def test_every_command_has_help_and_is_in_the_docs():
    docs = DOCS.read_text(encoding="utf-8")
    for path, command in _commands(cli.main):
        assert command.help and command.help.strip(), f"{' '.join(path)} has no help text"
        assert f"`{' '.join(path)}" in docs, f"{' '.join(path)} is missing from docs/cli.md"


def test_each_command_is_loaded_from_the_module_the_group_names_under_its_own_name():
    ctx = click.Context(cli.main)
    assert cli.main.list_commands(ctx) == sorted(cli.COMMANDS)
    for name, where in cli.COMMANDS.items():
        command = cli.main.get_command(ctx, name)
        assert command.name == name
        assert command.callback.__module__ == f"ils.commands.{where.rsplit('.', 1)[0]}"


def test_a_command_loaded_after_click_speaks_japanese_keeps_its_metavar_in_english(tmp_path):
    """click.Path names its metavar (FILE) as the option is made; `ils export` is made after
    speak_for_click(), so the catalog must leave click's "file" alone."""
    done = subprocess.run([sys.executable, "-m", "ils", "export", "changes", "--help"], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, "ILS_STAFF_LANGUAGE": "ja"}, check=True)
    assert "--output FILE" in done.stdout


def test_init_then_import_then_summary(runner, tmp_path, examples, db_url):
    db = db_url
    result = runner.invoke(cli.main, ["init", "--profile", "murakami", "--db", db])
    assert result.exit_code == 0, result.output
    assert "profile murakami" in result.stdout
    result = runner.invoke(cli.main, ["import", "all", str(examples), "--db", db])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # quiet on success
    result = runner.invoke(cli.main, ["summary", "--db", db, "--json"])
    rows = json.loads(result.stdout)
    assert {"area": "holds", "what": "series_waiting", "count": 1} in rows


def test_a_refused_import_lists_the_lines_and_exits_1(runner, tmp_path, db_url):
    db = db_url
    runner.invoke(cli.main, ["init", "--profile", "kitami", "--db", db])
    bad = tmp_path / "branches.csv"
    bad.write_text("code,name,kind\ncentral,中央,library\nbm,BM,station\n", encoding="utf-8")
    result = runner.invoke(cli.main, ["import", "branches", str(bad), "--db", db])
    assert result.exit_code == 1
    assert f"{bad}:3: parent: a bookmobile station needs the library that serves it" in result.stderr
    assert unstamped(result.stderr).strip().splitlines()[-1] == (
        f"Error: {bad}: 1 problem(s) in 2 row(s); nothing was imported"
    )


def test_a_command_on_an_uninitialised_database_says_what_to_do(runner, db_url):
    result = runner.invoke(cli.main, ["summary", "--db", db_url])
    assert result.exit_code == 1
    assert "has no ils schema: run `ils init` first" in result.stderr


def test_init_refuses_to_switch_library(runner, tmp_path, db_url):
    db = db_url
    runner.invoke(cli.main, ["init", "--profile", "kitami", "--db", db])
    result = runner.invoke(cli.main, ["init", "--profile", "mito", "--db", db])
    assert result.exit_code == 1
    assert "follows profile 'kitami'" in result.stderr


def test_request_commands_write_pending_rows(runner, tmp_path, db_url):
    db = db_url
    runner.invoke(cli.main, ["init", "--profile", "murakami", "--db", db])
    base = ["--db", db, "--now", "2026-11-25T10:00"]
    result = runner.invoke(cli.main, ["request", "hold", "--card", "10000001", "--title", "B1", "--title", "B2",
                                      "--pickup", "BM-吉浦", "--series", "--receipt-mail", *base])
    assert result.exit_code == 0, result.output
    runner.invoke(cli.main, ["request", "cancel", "--card", "10000001", "--hold", "bib:B9", "--channel", "mobile", *base])
    runner.invoke(cli.main, ["request", "renew", "--card", "10000001", "--barcode", "1000000002", *base])
    runner.invoke(cli.main, ["request", "email", "--card", "10000001", "--address", "a@example.jp",
                             "--channel", "paper", "--received-at", "2026-11-24T16:00", *base])
    engine = create_engine(db)
    with engine.connect() as conn:
        rows = conn.execute(select(schema.pending_requests).order_by(schema.pending_requests.c.id)).all()
    engine.dispose()
    assert [r.kind for r in rows] == ["hold", "hold", "cancel", "renew", "email_change"]
    assert rows[0].series_group == rows[1].series_group and rows[0].series_group
    assert (rows[0].series_position, rows[1].series_position) == ("1", "2")
    assert rows[0].received_at == "2026-11-25T10:00:00+09:00"
    assert rows[4].received_at == "2026-11-24T16:00"  # the form's time, stored as keyed
    result = runner.invoke(cli.main, ["request", "list", *base, "--csv"])
    assert "hold,pending,2" in result.stdout


def test_calendar_commands(runner, tmp_path, examples, db_url):
    db = db_url
    runner.invoke(cli.main, ["init", "--profile", "kitakyushu", "--db", db])
    runner.invoke(cli.main, ["import", "branches", str(examples / "branches.csv"), "--db", db])
    result = runner.invoke(cli.main, ["calendar", "show", "--branch", "central", "--from", "2026-11-22",
                                      "--days", "3", "--db", db, "--json"])
    days = json.loads(result.stdout)
    assert [(d["date"], d["open"], d["closed_because"]) for d in days] == [
        ("2026-11-22", True, ""), ("2026-11-23", True, ""), ("2026-11-24", False, "substitute")]
    result = runner.invoke(cli.main, ["calendar", "open-day", "--branch", "central", "--after", "2026-12-27", "--db", db])
    assert result.stdout.strip() == "2027-01-05"
    result = runner.invoke(cli.main, ["calendar", "show", "--branch", "nowhere", "--db", db])
    assert result.exit_code == 1 and "no branch with code 'nowhere'" in result.stderr


def test_policy_commands(runner, tmp_path):
    result = runner.invoke(cli.main, ["policy", "show", "--profile", "mito", "--json"])
    values = {row["key"]: row["value"] for row in json.loads(result.stdout)}
    assert values["holds.limit"] == 15 and values["notices.mode"] == "digest"
    bad = tmp_path / "p.toml"
    bad.write_text('extends = "mito"\n[holds]\nlimt = 3\n', encoding="utf-8")
    result = runner.invoke(cli.main, ["policy", "check", str(bad)])
    assert result.exit_code == 1 and "holds.limt: unknown key" in result.stderr


def test_config_file_overrides_reach_commands(runner, tmp_path, db_url):
    config = tmp_path / "ils.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n[policy.holds]\nlimit = 30\n', encoding="utf-8")
    runner.invoke(cli.main, ["init", "--profile", "kitami", "--config", str(config)])
    result = runner.invoke(cli.main, ["policy", "show", "--config", str(config), "--json"])
    values = {row["key"]: row["value"] for row in json.loads(result.stdout)}
    assert values["holds.limit"] == 30 and values["profile"] == "kitami"


def test_demo_builds_the_sample_city_runs_its_night_and_can_be_run_again(runner, tmp_path):
    db = tmp_path / "demo.db"
    for _ in range(2):
        result = runner.invoke(cli.main, ["demo", "--db", str(db)])
        assert result.exit_code == 0, result.output
    out = result.stdout
    # the night summary in the staff's language, the suite's English (reports.en.toml)
    assert "北見市立図書館  All branches  The night's results" in out and "What the database holds now" in out
    assert "Hold requests: refused, overdue loans" in out  # Kitami: 返却期限日が過ぎているときは、予約できません
    assert "Copies allocated: allocated" in out
    reports = tmp_path / "demo-reports" / "2026-11-26"
    branches = [p.name for p in reports.iterdir() if p.is_dir()]
    assert len(branches) == 14 and "BM-桜台" in branches and "central" in branches
    assert all(len(list((reports / b).glob("*.txt"))) == 7 for b in branches)


@pytest.mark.parametrize("profile", ["kitami", "kitakyushu", "mito", "kitsuki", "murakami"])
def test_every_librarys_demo_shows_its_mail_and_says_what_it_is_doing(runner, tmp_path, profile):
    # Mito's digest goes the morning of the next open day (seed 002): its demo follows the mail
    # to that slot instead of showing an empty 10:00 run.
    db = tmp_path / "demo.db"
    result = runner.invoke(cli.main, ["demo", "--db", str(db), "--profile", profile])
    assert result.exit_code == 0, result.output
    sent = int(re.search(r"\): (\d+) messages in", result.stdout).group(1))
    assert sent > 0 and len(list((tmp_path / "demo-mail").glob("*.eml"))) == sent
    assert "Running the night of 2026-11-26" in result.stderr and "Mail run at 2026-11-26 10:00" in result.stderr


def test_demo_will_not_replace_a_database_that_is_not_a_demo(runner, tmp_path):
    db = str(tmp_path / "real.db")
    runner.invoke(cli.main, ["init", "--profile", "kitami", "--db", db])
    result = runner.invoke(cli.main, ["demo", "--db", db])
    assert result.exit_code == 1 and "is not a demo database" in result.stderr


def test_batch_commands(runner, tmp_path):
    db = str(tmp_path / "demo.db")
    runner.invoke(cli.main, ["demo", "--db", db])
    result = runner.invoke(cli.main, ["batch", "runs", "--db", db, "--json"])
    [run] = json.loads(result.stdout)
    assert run["status"] == "succeeded" and run["as_of"].startswith("2026-11-26T03:00")
    result = runner.invoke(cli.main, ["batch", "show", "--db", db, "--csv"])
    assert "1,accept,accepted," in result.stdout
    result = runner.invoke(cli.main, ["batch", "run", "--db", db, "--now", "2026-11-27T03:00", "--dry-run"])
    assert result.exit_code == 0 and "nothing was changed" in result.stderr
    assert "expire,expired" not in result.stdout and "expired" in result.stdout
    result = runner.invoke(cli.main, ["batch", "runs", "--db", db, "--json"])
    assert len(json.loads(result.stdout)) == 1  # the dry run left no trace
    result = runner.invoke(cli.main, ["batch", "run", "--db", db, "--now", "2026-11-27T03:00"])
    assert result.exit_code == 0 and result.stdout == ""  # quiet when not on a terminal


def test_demo_runs_on_either_engine_given_a_url(runner, db_url, tmp_path, monkeypatch, engine_name):
    monkeypatch.chdir(tmp_path)  # a URL's mail and reports go into the working directory
    for _ in range(2):  # the second run replaces the first demo in place
        result = runner.invoke(cli.main, ["demo", "--db", db_url])
        assert result.exit_code == 0, result.output
    assert "Copies allocated: allocated" in result.stdout and "What the database holds now" in result.stdout
    assert len(list((tmp_path / "demo-mail").glob("*.eml"))) > 10
    assert (tmp_path / "demo-reports" / "2026-11-26" / "central").is_dir()
    if engine_name == "postgresql":
        assert "postgresql+psycopg://postgres@127.0.0.1:5432/" in result.stdout


def test_a_bad_mail_or_reports_setting_is_refused_naming_its_key():
    from ils.errors import ConfigError
    from ils.mail.settings import mail_settings
    from ils.reports.write import report_settings

    with pytest.raises(ConfigError, match=r"invalid \[mail\] settings: mail\.port: "):
        mail_settings({"port": "not a port"})
    with pytest.raises(ConfigError, match=r"invalid \[reports\] settings: reports\.csv_encoding: "):
        report_settings({"csv_encoding": "latin-1"})
    assert report_settings({}).csv_encoding == "utf-8-sig" and mail_settings(None).port > 0


def test_without_db_or_config_the_library_is_ils_db_in_the_current_folder(runner, tmp_path):
    # isolated_environment has moved the test into tmp_path with no $ILS_DATABASE_URL or ils.toml
    result = runner.invoke(cli.main, ["init", "--profile", "kitami"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ils.db").is_file()
