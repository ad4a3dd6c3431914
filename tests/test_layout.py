"""The README's layout table is true: every folder of the tree is in it, and everything in it exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _table() -> dict[str, str]:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Layout", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([^`]+)` \| (.+) \|$", section, flags=re.M))


def test_every_path_in_the_layout_table_exists():
    missing = [path for path in _table() if not (ROOT / path).exists()]
    assert not missing, f"README's layout table names what is not there: {missing}"


def _ignored_folders() -> set[str]:
    """The folders .gitignore keeps out of the tree: what the README's demo, the bench and a
    build write into a clone (`ils demo` then the test command must pass)."""
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return {line.strip().strip("/") for line in lines if line.strip().endswith("/") and "*" not in line}


def test_every_package_of_ils_and_every_top_level_folder_is_in_the_layout_table():
    listed = {path.rstrip("/").split("/")[0] if not path.startswith("ils/") else path.rstrip("/") for path in _table()}
    packages = {f"ils/{p.parent.name}" for p in (ROOT / "ils").glob("*/__init__.py")} - {"ils/sql", "ils/data"}
    folders = {p.name for p in ROOT.iterdir()
               if p.is_dir() and not p.name.startswith(".") and p.name not in ("ils", "build") and not p.name.endswith(".egg-info")}
    folders -= _ignored_folders()
    assert packages <= listed, f"add to README's layout table: {sorted(packages - listed)}"
    assert folders <= listed, f"add to README's layout table: {sorted(folders - listed)}"
