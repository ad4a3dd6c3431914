"""The import files: every kind generated in order, written as CSV and JSON lines, and the command line."""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ils.tools.sample.circulation import hold_rows, loan_rows
from ils.tools.sample.formats import COLUMNS, FILE_NAMES
from ils.tools.sample.patrons import patron_rows
from ils.tools.sample.plan import Plan
from ils.tools.sample.request_day import request_rows
from ils.tools.sample.spec import DEFAULT_SEED, PRESETS, SampleSpec
from ils.tools.sample.titles import copy_rows, title_rows
from ils.tools.sample.town import branch_rows, calendar_rows, route_rows


def generate(spec: SampleSpec) -> dict[str, Iterator[dict]]:
    """Every kind of file, in import order, as a lazy iterator of row dicts."""
    plan = Plan(spec)
    return {
        "branches": branch_rows(plan),
        "calendar": calendar_rows(plan),
        "routes": route_rows(plan),
        "titles": title_rows(plan),
        "copies": copy_rows(plan),
        "patrons": patron_rows(plan),
        "loans": loan_rows(plan),
        "holds": hold_rows(plan),
        "requests": request_rows(plan),
    }


def write_files(spec: SampleSpec, out_dir) -> dict[str, int]:
    """Write the import files into out_dir; returns the number of rows per file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {FILE_NAMES[kind]: write_kind(out, kind, rows) for kind, rows in generate(spec).items()}


def write_kind(out_dir: Path, kind: str, rows) -> int:
    """Write one kind's rows as its import file in out_dir; returns the number of rows."""
    path = Path(out_dir) / FILE_NAMES[kind]
    if kind == "requests":
        return _write_jsonl(path, rows)
    return _write_csv(path, COLUMNS[kind], rows)


def _write_csv(path: Path, columns: tuple[str, ...], rows) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row[c] for c in columns])
            count += 1
    return count


def _write_jsonl(path: Path, rows) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the import files of a generated library system.")
    parser.add_argument("--preset", choices=tuple(PRESETS), default="sample")
    parser.add_argument("--out", required=True, help="directory to write")
    parser.add_argument("--seed", type=int, help=f"random seed (default {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    spec = SampleSpec.preset(args.preset)
    if args.seed is not None:
        spec = spec.with_seed(args.seed)
    started = time.perf_counter()
    counts = write_files(spec, args.out)
    for name, count in counts.items():
        print(f"{name}\t{count}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.preset}: {time.perf_counter() - started:.1f} s, peak memory {peak_mb:.0f} MB", file=sys.stderr)
    return 0
