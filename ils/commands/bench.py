"""`ils bench`: the benchmark of a night at scale."""

from __future__ import annotations

from pathlib import Path

import click

from ils.cli import LazyChoice, output_options
from ils.infra.output import render


def _presets() -> list[str]:
    from ils.tools.sample.spec import PRESET_NAMES

    return PRESET_NAMES


@click.group()
def bench():
    """Benchmarks (long; not part of the test suite)."""


@bench.command("night")
@click.option("--preset", type=LazyChoice(_presets), default="city", show_default=True,
              help="Size of the generated library (city: 2M copies, 200k holds, 20k requests; quarter-city, "
              "half-city...: that size scaled).")
@click.option("--profile", default="kitami", show_default=True, help="Library rules to run the night under.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("bench"), show_default=True,
              help="Where the generated library and its database are kept between runs.")
@click.option("--seed", type=int, help="Generator seed (default: the sample's).")
@click.option("--intraday", "intraday", default=200, show_default=True, help="New requests for the intraday run.")
@click.option("--engine", type=click.Choice(["sqlite", "postgresql"]), default="sqlite", show_default=True,
              help="Database engine to run the night on.")
@click.option("--pg-server", envvar="ILS_BENCH_PG", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
              show_default=True, help="PostgreSQL server for --engine postgresql (a role that may create databases) "
              "[env ILS_BENCH_PG].")
@click.option("--growth/--no-growth", default=True, show_default=True,
              help="Also run the night at a quarter and half the size and show how each step grows.")
@output_options
def bench_night(preset, profile, workdir, seed, intraday, engine, pg_server, growth, fmt):
    """Time one night at scale: wall time, each step, peak memory, rows written, and the ratio to
    the night's honest floor (its own writes replayed as plain batched statements, checked equal).

    The library is generated and loaded once and reused: on SQLite imported into a file in
    WORKDIR, on PostgreSQL loaded by COPY into a database ils_bench_PRESET_SEED_PROFILE.
    Each benchmark runs the night on a fresh copy, in a child process, then an intraday run
    (as a process and in-process), then (unless --no-growth) the night at 1/4 and 1/2 size.
    """
    from ils.infra import progress
    from ils.tools.bench import PHASES, PHASES_OF_GROWTH, benchmark, figure_rows

    with progress.bar(PHASES + (PHASES_OF_GROWTH if growth else 0), "bench") as shown:
        def tell(message: str) -> None:
            shown.say(f"... {message}")
            shown.advance(1)

        figures = benchmark(preset, profile, workdir, seed=seed, intraday=intraday, growth=growth,
                            pg_server=pg_server if engine == "postgresql" else None, progress=tell)
    render(figure_rows(figures), fmt)
