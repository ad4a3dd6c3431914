"""The intraday run as a whole process, repeated: wall and CPU seconds of `ils batch run --intraday`, start-up included.

The bench (tools/bench.py) times one intraday process per benchmark, after a night that takes
minutes; this times only that process, as often as asked, on a library whose night has run:

    python -m tools.intraday_start sqlite:////tmp/night.db --runs 7

Each round enters `--requests` new web hold requests (as the bench does), then runs the
intraday batch ten minutes later in a child process. The database is written to: use a copy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

from tools.bench import INTRADAY_GAP, _morning, _run_child, compile_package

# After the bench's own two intraday runs (10:10 and 10:20) on the night of 2026-11-26.
FIRST_ENTERED = dt.datetime.fromisoformat("2026-11-26T11:00:00+09:00")


def rounds(url: str, runs: int, requests: int, seed: int, first: dt.datetime) -> list[tuple[float, float]]:
    """(wall seconds, CPU seconds) of each intraday process."""
    compile_package()
    timings = []
    for i in range(runs):
        entered = first + 2 * i * INTRADAY_GAP
        _morning(url, requests, seed + i, entered)
        time.sleep(0.2)  # let the page cache and the scheduler settle after the writes
        wall, _, cpu = _run_child(url, Path.cwd(), entered + INTRADAY_GAP, "--intraday")
        timings.append((wall, cpu))
        print(f"run {i + 1}: {wall:.3f} s wall, {cpu:.3f} s CPU", file=sys.stderr)
    return timings


def summary(name: str, values: list[float]) -> str:
    return (f"{name}: median {statistics.median(values):.3f} s, min {min(values):.3f}, max {max(values):.3f}"
            f" ({len(values)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="database URL of a library whose night has run (a copy: it is written to)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--first", type=dt.datetime.fromisoformat, default=FIRST_ENTERED,
                        help="when the first round's requests are entered (later rounds 20 minutes apart)")
    args = parser.parse_args()
    timings = rounds(args.url, args.runs, args.requests, args.seed, args.first)
    print(summary("wall", [w for w, _ in timings]))
    print(summary("CPU (user+sys)", [c for _, c in timings]))


if __name__ == "__main__":
    main()
