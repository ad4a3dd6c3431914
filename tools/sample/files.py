"""The import files: every kind generated in order, written as CSV and JSON lines."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from ils.tools.sample.circulation import hold_rows, loan_rows
from ils.tools.sample.formats import COLUMNS, FILE_NAMES
from ils.tools.sample.patrons import patron_rows
from ils.tools.sample.plan import Plan
from ils.tools.sample.request_day import request_rows
from ils.tools.sample.spec import SampleSpec
from ils.tools.sample.titles import copy_rows, title_rows
from ils.tools.sample.town import branch_rows, calendar_rows, route_rows


def generate(spec: SampleSpec) -> dict[str, Iterator[dict]]:
    """Every kind of file, in import order, as a lazy iterator of row dicts."""
    p = Plan(spec)
    return {
        "branches": _later(lambda: branch_rows(p.town)),
        "calendar": _later(lambda: calendar_rows(spec, p.town)),
        "routes": _later(lambda: route_rows(p.town)),
        "titles": _later(lambda: title_rows(spec, p.catalogue)),
        "copies": _later(lambda: copy_rows(spec, p.catalogue, p.circulation, p.town)),
        "patrons": _later(lambda: patron_rows(spec, p.readers, p.town)),
        "loans": _later(lambda: loan_rows(p.circulation, p.town)),
        "holds": _later(lambda: hold_rows(spec, p.circulation, p.town)),
        "requests": _later(lambda: request_rows(spec, p.town, p.catalogue, p.readers, p.circulation)),
    }


def _later(rows: Callable[[], Iterator[dict]]) -> Iterator[dict]:
    """The rows, with the plan's parts they need built only when the first row is asked for."""
    yield from rows()


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
