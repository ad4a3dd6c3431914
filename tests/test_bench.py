"""The benchmark as the README has a user run it: `ils bench night` in a folder, with its default (relative) --workdir."""

from __future__ import annotations

import json
import subprocess
import sys


def test_ils_bench_night_runs_with_the_default_relative_workdir(tmp_path):
    # A child process, as a user starts it: the night it times runs in a grandchild whose
    # working directory is the workdir, which is where a relative path used to break.
    result = subprocess.run(
        [sys.executable, "-m", "cli", "bench", "night", "--preset", "sample", "--json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = {row["figure"]: row["value"] for row in json.loads(result.stdout)}
    assert figures["preset"] == "sample"
    assert float(figures["night_seconds"]) > 0 and int(figures["rows_written"].replace(",", "")) > 0
    assert (tmp_path / "bench").is_dir() and not (tmp_path / "bench" / "bench").exists()
