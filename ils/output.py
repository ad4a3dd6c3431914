"""The one renderer: every command that prints records prints them here, as a table, JSON or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from tabulate import tabulate

from ils.clock import LIBRARY_TZ

FORMATS = ("table", "json", "csv")


def _plain(value):
    if isinstance(value, dt.datetime):
        # instants are stored in UTC; people read them in the library's time zone
        return value.astimezone(LIBRARY_TZ).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def render(
    rows: Sequence[dict],
    fmt: str = "table",
    columns: Sequence[str] | None = None,
    stream: TextIO | None = None,
) -> None:
    stream = stream or sys.stdout
    columns = list(columns or (rows[0].keys() if rows else []))
    records = [{c: _plain(row.get(c)) for c in columns} for row in rows]
    if fmt == "json":
        stream.write(json.dumps(records, ensure_ascii=False, indent=2) + "\n")
    elif fmt == "csv":
        writer = csv.DictWriter(stream, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    elif fmt == "table":
        if records:
            # tabulate measures East Asian wide characters with wcwidth, so Japanese
            # titles line up.
            stream.write(tabulate(records, headers="keys", disable_numparse=True) + "\n")
    else:
        raise ValueError(f"unknown format {fmt!r}")
