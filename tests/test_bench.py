"""The benchmark as the README has a user run it (`ils bench night` in a folder, default relative --workdir), and its honest floor."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import text

from ils.infra import db, forked
from ils.tools import floor
from ils.tools.bench import beside_peaks, growth_exponent


def test_ils_bench_night_runs_with_the_default_relative_workdir(tmp_path):
    # A child process, as a user starts it: the night it times runs in a grandchild whose
    # working directory is the workdir, which is where a relative path used to break.
    result = subprocess.run(
        [sys.executable, "-m", "ils", "bench", "night", "--preset", "sample", "--json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = {row["figure"]: row["value"] for row in json.loads(result.stdout)}
    number = lambda key: float(str(figures[key]).replace(",", ""))  # noqa: E731
    assert figures["preset"] == "sample"
    assert number("night_seconds") > 0 and number("rows_written") > 0
    # The floor replayed the night's own rows and files and found the same tables (or the run failed).
    assert number("floor_rows") > 0 and number("floor_files") > 0 and number("ratio_to_floor") > 0
    assert number("bare_append_seconds") > 0 and number("intraday_in_process_seconds") > 0
    assert number("step accept seconds") > 0 and number("step render seconds") > 0
    assert figures["growth allocate (1/4, 1/2, 1 size, s)"].count("/") == 2
    if forked.why_not_fork() is None:  # the reports ran in a second process: its peak is added, not hidden
        assert number("night_reports_process_peak_mb") > 0
        assert number("night_peak_mb") == pytest.approx(
            number("night_batch_process_peak_mb") + number("night_reports_process_peak_mb"), abs=0.01)
    assert (tmp_path / "bench").is_dir() and not (tmp_path / "bench" / "bench").exists()
    assert list((tmp_path / "bench").glob("quarter-sample-*-kitami.db"))


def test_the_nights_peak_is_both_processes_peaks_added_when_the_reports_ran_beside_render():
    said = ("2026-12-01T03:00:09+09:00 INFO ils.batch.runner: reports: ran in process 4242 beside render, "
            "3.01 s; peak memory 310 MB there, 505 MB here\n")
    assert beside_peaks(said, 505.2) == (815.0, 505.0, 310.0)
    assert beside_peaks("", 505.2) == (505.2, 505.2, 0.0)  # one process: the kernel's figure


def _write_a_night(url: str) -> None:
    """What a night does to tables, in little: a row added, a row changed, a row gone."""
    engine = db.open_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO system_settings (key, value) VALUES ('bench_added', 'yes')"))
        conn.execute(text("INSERT INTO system_settings (key, value) VALUES ('bench_gone', 'soon')"))
        conn.execute(text("UPDATE system_settings SET value = 'changed' WHERE key = 'profile'"))
        conn.execute(text("INSERT INTO titles (id, bib_id, title, material_type, category) "
                          "VALUES (7, 'B7', 'の', 'book', 'normal')"))
    engine.dispose()


def test_the_floor_replays_exactly_what_the_night_changed(make_db, tmp_path):
    before, night, replica = make_db(), make_db(), make_db()
    for url in (before, replica):  # both start where the night started
        engine = db.open_engine(url)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO system_settings (key, value) VALUES ('bench_gone', 'soon')"))
        engine.dispose()
    _write_a_night(night)
    engine = db.open_engine(night)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM system_settings WHERE key = 'bench_gone'"))
    engine.dispose()
    engines = [db.open_engine(u) for u in (before, night, replica)]
    files = {floor.Path("central/pull_list.csv"): "書名\n".encode()}
    try:
        measured = floor.measure(engines[0], engines[1], engines[2], files, tmp_path / "again")
        assert measured.by_table == {"system_settings": 3, "titles": 1}
        assert floor.diff_database(engines[2], engines[1]) == []
    finally:
        for engine in engines:
            engine.dispose()
    assert (tmp_path / "again" / "central" / "pull_list.csv").read_bytes() == files[floor.Path("central/pull_list.csv")]


def test_a_replay_that_does_not_give_the_nights_tables_stops_the_benchmark(make_db, tmp_path):
    before, night, replica = make_db(), make_db(), make_db()
    _write_a_night(night)
    engine = db.open_engine(replica)
    with engine.begin() as conn:  # the copy was not the night's starting point
        conn.execute(text("INSERT INTO system_settings (key, value) VALUES ('stray', 'row')"))
    engine.dispose()
    engines = [db.open_engine(u) for u in (before, night, replica)]
    try:
        with pytest.raises(floor.FloorMismatch, match="system_settings differs in 1 rows"):
            floor.measure(engines[0], engines[1], engines[2], {}, tmp_path / "again")
    finally:
        for engine in engines:
            engine.dispose()


def test_a_step_growing_as_n_squared_has_exponent_2_and_a_tiny_step_none():
    assert growth_exponent(1.0, 16.0) == pytest.approx(2.0)
    assert growth_exponent(0.001, 0.004) is None


def test_the_growth_sizes_are_the_preset_scaled_with_the_same_branches():
    from ils.tools.sample.spec import SampleSpec

    city, quarter, eighth = (SampleSpec.preset(n) for n in ("city", "quarter-city", "half-quarter-city"))
    assert (quarter.titles, quarter.patrons, quarter.holds, quarter.requests) == (200_000, 75_000, 50_000, 5_000)
    assert eighth.holds == city.holds // 8 and (quarter.branches, quarter.stations) == (city.branches, city.stations)
    with pytest.raises(ValueError, match="unknown preset 'quarter-village'"):
        SampleSpec.preset("quarter-village")
