"""docs/files.md's way into a SQLite library, sqlite-utils, shows what ils holds after a night."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlite_utils.cli import cli as sqlite_utils_cli

from ils.infra import schema
from scenario import two_title_library

DOC = Path(__file__).resolve().parent.parent / "docs" / "files.md"


def _documented_commands() -> list[list[str]]:
    """The sqlite-utils lines of the doc's "Looking into a SQLite library" section, as argv."""
    section = DOC.read_text(encoding="utf-8").split("## Looking into a SQLite library", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "docs/files.md lost its sqlite-utils examples"
    return [shlex.split(line) for line in block.group(1).splitlines() if line.startswith("sqlite-utils ")]


@pytest.fixture
def library(new_library, engine_name) -> tuple[str, dict[str, int]]:
    """A SQLite library after a night with one accepted hold; its file and each table's row count (read by ils)."""
    if engine_name != "sqlite":
        pytest.skip("sqlite-utils reads SQLite files; docs/files.md points PostgreSQL users to psql")
    lib = two_title_library(new_library)
    lib.request("hold", "1001", "B2", pickup="central")
    lib.night()
    counts = {name: lib.conn.execute(select(func.count()).select_from(table)).scalar_one()
              for name, table in schema.metadata.tables.items()}
    lib.conn.rollback()
    path = make_url(lib.url).database
    assert path is not None
    return path, counts


def test_every_documented_command_runs_on_a_library(library):
    path, _ = library
    commands = _documented_commands()
    assert len(commands) >= 3
    for argv in commands:
        args = [path if word == "ils.db" else word for word in argv[1:]]
        result = CliRunner().invoke(sqlite_utils_cli, args)
        assert result.exit_code == 0, f"{' '.join(argv)}: {result.output}"
        assert result.output.strip(), f"{' '.join(argv)} printed nothing"


def test_sqlite_utils_sees_every_table_with_the_rows_ils_wrote(library):
    path, counts = library
    found = sqlite_utils.Database(path)
    assert {name: found[name].count for name in counts} == counts
    assert counts["holds"] == 1 and set(found.table_names()) >= set(counts)
