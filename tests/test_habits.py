"""The house rules the suite enforces: ruff's rule set and mypy's types, as configured in pyproject.toml."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess:
    """A tool from this environment, run from the top of the checkout as a developer would."""
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def _mypy_cache() -> Path:
    """A cache outside the checkout, one per checkout, kept between runs so a run after the
    first checks only what changed (two checkouts never share one)."""
    checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"ils-holds-mypy-{checkout}"


def test_ruff_finds_nothing_in_the_tree():
    # --no-cache: nothing is written into the checkout (or anywhere else).
    done = _run("ruff", "check", "--no-cache", "--output-format", "concise", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_no_type_error_in_ils_batch_and_the_cli():
    done = _run("mypy", "--config-file", "pyproject.toml", "--cache-dir", str(_mypy_cache()))
    assert done.returncode == 0, done.stdout + done.stderr
