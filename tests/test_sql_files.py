"""The named SQL of sql/, read as a DBA reads it: documented, packaged, and with only the values the schema allows."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

from sqlalchemy import CheckConstraint

from ils.infra import schema
from ils.infra.sqlfiles import sql_names, sql_text, statement

ROOT = Path(__file__).resolve().parent.parent
ALIASED = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)\s+(?:AS\s+)?(\w+)", re.IGNORECASE)
EQUALS = re.compile(r"\b(\w+)\.(\w+)\s*(?:=|<>|!=)\s*'([^']*)'")
IN_LIST = re.compile(r"\b(\w+)\.(\w+)\s+(?:NOT\s+)?IN\s*\(([^)]*)\)", re.IGNORECASE)


def _allowed(table: str, column: str) -> tuple[str, ...] | None:
    """The values a CHECK (column IN (...)) of the schema allows, or None if the column has no such check."""
    for constraint in schema.metadata.tables[table].constraints:
        if isinstance(constraint, CheckConstraint):
            found = re.fullmatch(rf"{column} IN \((.*)\)", str(constraint.sqltext))
            if found:
                return tuple(re.findall(r"'([^']*)'", found.group(1)))
    return None


def _literals(sql: str):
    """(table, column, literal) for every `alias.column = 'x'` and `alias.column IN ('x', …)`."""
    aliases = {alias: table for table, alias in ALIASED.findall(sql) if table in schema.metadata.tables}
    for alias, column, value in EQUALS.findall(sql):
        yield aliases[alias], column, value
    for alias, column, values in IN_LIST.findall(sql):
        for value in re.findall(r"'([^']*)'", values):
            yield aliases[alias], column, value


def test_every_status_written_in_sql_is_one_the_schema_allows():
    """A status renamed or dropped (ils/holds/lifecycle/ owns them) must not leave a report silently empty."""
    checked = set()
    for name in sql_names():
        for table, column, value in _literals(statement(name)):
            allowed = _allowed(table, column)
            if allowed is not None:  # e.g. notice_events.delivery has no check: nothing to hold it to
                assert value in allowed, f"sql/{name}.sql: {table}.{column} is never {value!r} (it is one of {allowed})"
                checked.add((table, column))
    assert {("holds", "status"), ("copies", "state"), ("mail_outbox", "state")} <= checked


def test_each_file_says_what_it_lists_its_parameters_and_its_columns():
    for name in sql_names():
        header = "\n".join(line for line in sql_text(name).splitlines() if line.startswith("--"))
        assert header.startswith(f"-- {name}.sql: "), f"sql/{name}.sql: begin with '-- {name}.sql: what it is'"
        assert "Parameters" in header and "Columns" in header, f"sql/{name}.sql: say its parameters and columns"
        for parameter in set(re.findall(r"(?<![:\w]):(\w+)", statement(name))):
            assert f":{parameter}" in header, f"sql/{name}.sql: explain :{parameter} in the header"


def test_the_readme_and_the_packaging_name_exactly_the_files_there_are():
    readme = (ROOT / "sql" / "README.md").read_text(encoding="utf-8")
    assert set(re.findall(r"`(\w+)\.sql`", readme)) == set(sql_names())
    layout = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "| `sql/` |" in layout and "branch report" in layout.split("| `sql/` |")[1].splitlines()[0]
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    for folder, package in (("sql", "ils.sql"), ("templates_reports", "ils.templates_reports")):
        for path in (ROOT / folder).iterdir():
            assert any(fnmatch.fnmatch(path.name, p) for p in data[package]), f"{folder}/{path.name} is not shipped"
