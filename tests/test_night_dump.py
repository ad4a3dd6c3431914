"""The night's results, pinned: a small generated library's whole night and morning mail, dumped and kept in tests/.

A refactoring must not change what a night does. This test runs the demo day (the night
at 03:00 with its reports, the mail at 10:00) on a small generated library for every
profile, on each engine, and compares a canonical dump of every table — and the reports'
files — with the one kept in tests/data/night_dump/. Both engines must give the same dump.

A commit that changes a night's results on purpose regenerates the dumps
(`ILS_UPDATE_NIGHT_DUMP=1 python -m pytest tests/test_night_dump.py -p no:randomly`)
and says in its message why the results changed.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from conftest import NIGHT
from ils.exchange.imports import files_in, import_files
from ils.frontend.requests import import_request_file
from ils.infra import schema
from ils.library.clock import LIBRARY_TZ
from ils.library.policy import load_policy
from ils.tools.demo import run_demo_day
from ils.tools.sample.generator import SampleSpec, write_files

KEPT = Path(__file__).resolve().parent / "data" / "night_dump"
PROFILES = ("kitami", "kitakyushu", "mito", "kitsuki", "murakami")
# Small enough to keep in the repository, big enough that every kind of request occurs.
SPEC = SampleSpec(titles=150, patrons=60, loans=60, holds=60, requests=160, branches=9, stations=3)
# The .eml bytes are kept as a digest (their text is in the other columns); a change shows as a new digest.
DIGESTED = {"mail_outbox": ("raw",)}
# Columns that name where this test's files happened to be.
PLACES = {"import_runs": ("source",)}
# Columns that hold the wall-clock instant a run happened, not its result.
WALL_CLOCK = {
    "batch_runs": ("started_at", "finished_at"),
    "batch_steps": ("started_at", "finished_at"),
    "import_runs": ("started_at", "finished_at"),
    "batch_lock": ("acquired_at", "heartbeat_at"),
    "mail_lock": ("acquired_at", "heartbeat_at"),
}


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("night_dump_data")
    write_files(SPEC, directory)
    return directory


def _value(value):
    """One spelling per value, whichever engine returned it."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(LIBRARY_TZ)
        return value.isoformat()
    if isinstance(value, (dt.date, decimal.Decimal)):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, bool):
        return int(value)
    return value


def _digest(value) -> str | None:
    return None if value is None else hashlib.sha256(bytes(value) if not isinstance(value, str) else value.encode()).hexdigest()


def canonical_dump(url: str, reports: Path) -> list[str]:
    """Every table's rows (sorted, wall-clock columns left out), then every report file's digest."""
    lines = []
    engine = create_engine(url)
    with engine.connect() as conn:
        for name, table in sorted(schema.metadata.tables.items()):
            skipped, digested, places = WALL_CLOCK.get(name, ()), DIGESTED.get(name, ()), PLACES.get(name, ())
            rows = [
                json.dumps({k: _digest(v) if k in digested else Path(v).name if k in places else _value(v)
                            for k, v in row._mapping.items() if k not in skipped},
                           ensure_ascii=False, sort_keys=True, default=str)
                for row in conn.execute(select(table))
            ]
            lines += [f"{name}\t{row}" for row in sorted(rows)]
    engine.dispose()
    for path in sorted(p for p in reports.rglob("*") if p.is_file()):
        lines.append(f"report\t{path.relative_to(reports)}\t{hashlib.sha256(path.read_bytes()).hexdigest()}")
    return lines


@pytest.mark.parametrize("profile", PROFILES)
def test_the_demo_day_of_a_small_library_gives_the_kept_results(databases, sample_files, profile, tmp_path):
    url = databases.initialised(profile)
    engine = create_engine(url)
    with engine.connect() as conn:
        import_files(conn, files_in(sample_files), load_policy(profile), NIGHT)
        import_request_file(conn, sample_files / "requests.jsonl", NIGHT)
    engine.dispose()
    run_demo_day(url, tmp_path / "mail", tmp_path / "reports")
    got = canonical_dump(url, tmp_path / "reports")

    kept = KEPT / f"{profile}.txt"
    if os.environ.get("ILS_UPDATE_NIGHT_DUMP") and databases.engine == "sqlite":
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text("\n".join(got) + "\n", encoding="utf-8")
    expected = kept.read_text(encoding="utf-8").splitlines()
    missing = [line for line in expected if line not in set(got)]
    extra = [line for line in got if line not in set(expected)]
    assert not missing and not extra, (
        f"{profile} on {databases.engine}: the night's results changed "
        f"({len(missing)} kept lines missing, {len(extra)} new); first missing: {missing[:3]}; first new: {extra[:3]}; tables: {sorted({line.split(chr(9))[0] for line in missing + extra})}"
    )
