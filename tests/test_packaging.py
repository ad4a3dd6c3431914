"""What `pip install .` ships: every Python package and every data file the program reads, all inside `ils`."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What a build reads; left out: the checkout's own venv, caches and build leftovers.
NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", ".pytest_cache",
                                     ".hypothesis", "bench", "*.db", "*.db-wal", "*.db-shm")


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_python_package_in_the_tree_is_shipped():
    listed = set(_config()["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "ils").rglob("__init__.py")
    } | {  # batch/ and tools/ are installed as ils.batch and ils.tools
        ".".join(("ils", *init.parent.relative_to(ROOT).parts))
        for top in ("batch", "tools")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found <= listed, f"add to pyproject.toml packages: {sorted(found - listed)}"


def test_data_directories_are_mapped_into_the_package():
    config = _config()
    for name in ("sql", "data", "templates_mail", "templates_reports", "tools", "batch"):
        assert config["package-dir"][f"ils.{name}"] == name
    patterns = config["package-data"]["ils.data"]
    for sub in ("profiles", "words", "examples", "sample"):
        assert any(p.startswith(f"{sub}/") for p in patterns)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The wheel `pip install .` would install, built from a copy of the checkout (a build
    writes build/ and *.egg-info beside its sources, and the suite leaves nothing in the tree)."""
    where = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, where / "src", symlinks=True, ignore=NOT_SOURCES)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(where / "dist"),
                            str(where / "src")], capture_output=True, text=True, check=False)
    if built.returncode != 0 and "No matching distribution found for setuptools" in built.stderr:
        pytest.skip("pip cannot fetch setuptools to build the wheel (no package index reachable)")
    assert built.returncode == 0, built.stderr
    [path] = (where / "dist").glob("ils_holds-*.whl")
    with zipfile.ZipFile(path) as opened:
        yield opened


def test_the_wheel_puts_nothing_but_ils_at_the_top_of_site_packages(wheel):
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"ils"}
    assert "cli.py" not in tops and "batch" not in tops


def test_the_command_line_and_the_batch_are_inside_ils(wheel):
    names = set(wheel.namelist())
    assert wheel.read("ils/cli.py") == (ROOT / "cli.py").read_bytes()  # the file, not the link
    steps = {f"ils/batch/{path.name}" for path in (ROOT / "batch").glob("*.py")}
    assert steps <= names and "ils/batch/runner.py" in names
    entry = wheel.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "ils = ils.__main__:main" in entry
