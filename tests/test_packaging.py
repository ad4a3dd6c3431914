"""What `pip install .` ships: every Python package and every data file the program reads."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_python_package_in_the_tree_is_shipped():
    listed = set(_config()["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("ils", "batch")
        for init in (ROOT / top).rglob("__init__.py")
    } | {  # tools/ is installed as ils.tools
        ".".join(("ils", *init.parent.relative_to(ROOT).parts))
        for init in (ROOT / "tools").rglob("__init__.py")
    }
    assert found <= listed, f"add to pyproject.toml packages: {sorted(found - listed)}"


def test_data_directories_are_mapped_into_the_package():
    config = _config()
    for name in ("sql", "data", "templates_mail", "templates_reports", "tools"):
        assert config["package-dir"][f"ils.{name}"] == name
    patterns = config["package-data"]["ils.data"]
    for sub in ("profiles", "words", "examples", "sample"):
        assert any(p.startswith(f"{sub}/") for p in patterns)
