"""What the people who run ils read: every log and Error: line starts with the library's time, and every kind of Error: has its row in docs/operations.md."""

from __future__ import annotations

import ast
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from freezegun import freeze_time

from ils import cli
from ils.infra.logs import LibraryTimeFormatter

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = ROOT / "docs" / "operations.md"
STAMPED = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00"


def test_an_error_line_starts_with_the_time_at_the_library(runner, tmp_path):
    with freeze_time("2026-11-30T18:00:02Z"):  # 03:00:02 the next morning in Tokyo
        result = runner.invoke(cli.main, ["db", "check", "--db", str(tmp_path / "nowhere.db")])
    assert result.exit_code == 1
    assert result.stderr.startswith("2026-12-01T03:00:02+09:00 Error: the database ")


def test_a_usage_error_line_has_the_time_too(runner):
    with freeze_time("2026-11-30T18:00:02Z"):
        result = runner.invoke(cli.main, ["db", "backup"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "2026-12-01T03:00:02+09:00 Error: Missing argument 'DEST'."


def test_a_log_line_starts_with_the_time_at_the_library():
    record = logging.LogRecord("ils.batch.runner", logging.INFO, __file__, 1, "step %s done", ("accept",), None)
    record.created = 1796061602.25  # 2026-11-30T18:00:02.25Z
    formatted = LibraryTimeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s").format(record)
    assert formatted == "2026-12-01T03:00:02+09:00 INFO ils.batch.runner: step accept done"


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_python_m_ils_stamps_its_lines_in_tokyo_whatever_the_hosts_zone(make_db, engine_name, zone, tmp_path):
    if engine_name != "sqlite":
        pytest.skip("one engine is enough for the lines a process writes")
    env = {**os.environ, "TZ": zone}
    checked = subprocess.run([sys.executable, "-m", "ils", "-v", "db", "check", "--db", make_db("kitami")],
                             cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    assert re.fullmatch(rf"{STAMPED} INFO ils: database checked: no problem\n", checked.stderr), checked.stderr
    missing = subprocess.run([sys.executable, "-m", "ils", "batch", "run", "--db", str(tmp_path / "nowhere.db")],
                             cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert missing.returncode == 1
    assert re.fullmatch(rf"{STAMPED} Error: the database .* does not exist: .*\n", missing.stderr), missing.stderr


def _error_kinds() -> set[str]:
    """Every IlsError subclass in the program (by the name of its class)."""
    bases = {"IlsError"}
    classes = [node for path in [*ROOT.glob("ils/**/*.py"), *ROOT.glob("batch/*.py")]
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.ClassDef)]
    grew = True
    while grew:
        before = len(bases)
        bases |= {c.name for c in classes if any(isinstance(b, ast.Name) and b.id in bases for b in c.bases)}
        grew = len(bases) > before
    return bases


def test_every_kind_of_error_line_has_its_row_in_the_operations_guide():
    table = OPERATIONS.read_text(encoding="utf-8").split("## Error lines", 1)[1]
    kinds = {kind for line in table.splitlines() if line.startswith("| ")
             for kind in re.findall(r"\b[A-Z][A-Za-z]+\b", line.split("|")[1])}
    missing = _error_kinds() - kinds
    assert not missing, f"add a row for these to docs/operations.md's Error lines: {sorted(missing)}"
