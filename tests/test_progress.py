"""Long work shows where it is on a terminal (a bar with the total and the time left) and says
nothing when stderr is not one, so cron mails no noise (issue 16)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from ils import cli
from ils.infra.progress import csv_rows


def _on_a_terminal(args: list[str], cwd) -> tuple[int, str]:
    """Run `python -m ils ARGS` with stderr on a pseudo-terminal; what the terminal showed."""
    main, child = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "ils", *args], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=child, cwd=cwd)
    os.close(child)
    shown = bytearray()
    while True:
        try:
            block = os.read(main, 65536)
        except OSError:  # the child closed its end
            break
        if not block:
            break
        shown += block
    os.close(main)
    return process.wait(), shown.decode("utf-8", "replace")


def test_an_import_on_a_terminal_shows_a_bar_with_the_total_and_the_time_left(tmp_path, examples, db_url):
    subprocess.run([sys.executable, "-m", "ils", "init", "--profile", "kitami", "--db", db_url], check=True)
    status, shown = _on_a_terminal(["import", "all", str(examples), "--db", db_url], tmp_path)
    total = sum(csv_rows(examples / f"{kind}.csv") for kind in
                ("branches", "calendar", "routes", "titles", "copies", "patrons", "loans", "holds"))
    assert status == 0, shown
    assert f"/{total}" in shown and "100%" in shown  # position of the total, to its end
    assert "importing" in shown or "holds" in shown


def test_an_import_not_on_a_terminal_says_nothing(runner, examples, db_url):
    runner.invoke(cli.main, ["init", "--profile", "kitami", "--db", db_url])
    result = runner.invoke(cli.main, ["import", "all", str(examples), "--db", db_url])
    assert result.exit_code == 0 and result.stderr == ""


def test_a_night_run_by_hand_shows_each_step_and_a_bar(tmp_path, examples, db_url):
    subprocess.run([sys.executable, "-m", "ils", "init", "--profile", "kitami", "--db", db_url], check=True)
    subprocess.run([sys.executable, "-m", "ils", "import", "all", str(examples), "--db", db_url], check=True)
    status, shown = _on_a_terminal(["batch", "run", "--db", db_url, "--now", "2026-11-26T03:00:00+09:00"], tmp_path)
    assert status == 0, shown
    from ils.batch.runner import step_names

    assert "accept" in shown and "allocate" in shown and f"/{len(step_names())}" in shown and "100%" in shown


def test_a_csv_files_rows_are_counted_without_the_header(tmp_path):
    f = tmp_path / "x.csv"
    f.write_bytes(b"a,b\n1,2\n3,4")  # no line break at the end
    assert csv_rows(f) == 2
    f.write_bytes(b"a,b\n")
    assert csv_rows(f) == 0
