"""Shared fixtures: real databases (SQLite and PostgreSQL), one per test, initialised for a chosen profile."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from engines import ENGINES, PG_SERVER, Databases, ensure_postgresql
from ils.infra import db
from ils.library.policy import load_policy
from lifecycle_guard import hold_status_guard
from scenario import Library

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "examples"
NIGHT = dt.datetime.fromisoformat("2026-11-26T03:00:00+09:00")


@pytest.fixture(scope="session", params=ENGINES)
def databases(request, tmp_path_factory):
    """The engine under test (each database test runs once per engine)."""
    if request.param == "postgresql":
        problem = ensure_postgresql()
        if problem:
            pytest.fail(
                f"PostgreSQL is not reachable at {PG_SERVER} ({problem}); start it, or run "
                "ILS_TEST_ENGINES=sqlite to test SQLite alone", pytrace=False
            )
    made = Databases(request.param, tmp_path_factory.mktemp(request.param))
    yield made
    made.close()


@pytest.fixture
def engine_name(databases) -> str:
    return databases.engine


@pytest.fixture
def db_url(databases) -> str:
    """A blank database (no schema)."""
    return databases.blank()


@pytest.fixture
def make_db(databases):
    """Create an initialised database for a profile; returns its URL."""

    def make(profile: str = "kitami") -> str:
        return databases.initialised(profile)

    return make


@pytest.fixture
def conn_for(make_db):
    """An open connection and the policy, for a database of the given profile."""
    engines, connections = [], []

    def open_(profile: str = "kitami"):
        engine = db.open_engine(make_db(profile))
        engines.append(engine)
        connections.append(engine.connect())
        return connections[-1], load_policy(profile)

    yield open_
    # Closed, not left to the garbage collector: a connection finalised in the middle of
    # CPython 3.11's ast.parse makes it fail ("AST constructor recursion depth mismatch").
    for conn in connections:
        conn.close()
    for engine in engines:
        engine.dispose()


@pytest.fixture
def new_library(databases):
    """Library(profile, overrides): a library system in a database of its own, closed afterwards."""
    made = []

    def new(profile: str, overrides: dict | None = None) -> Library:
        lib = Library(databases.initialised(profile), profile, overrides)
        made.append(lib)
        return lib

    yield new
    for lib in made:
        lib.close()


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def examples() -> Path:
    return EXAMPLES


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path):
    """No test reads the developer's ils.toml, $ILS_DATABASE_URL or ./ils.db. Staff-facing text
    is in English, the language the suite's messages are written in (ils.infra.i18n: the
    message ids); tests/test_staff_language.py checks the Japanese that staff read by default."""
    monkeypatch.delenv("ILS_DATABASE_URL", raising=False)
    monkeypatch.delenv("ILS_CONFIG", raising=False)
    monkeypatch.setenv("ILS_STAFF_LANGUAGE", "en")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def holds_move_only_through_their_lifecycle():
    """Every test fails if code outside ils/holds/lifecycle/store.py writes holds.status (tests/lifecycle_guard.py)."""
    with hold_status_guard() as caught:
        yield caught
    assert not caught, "holds.status written outside ils.holds.lifecycle.store: " + "; ".join(
        f"{where}: {sql}" for where, sql in caught)


def pytest_terminal_summary(terminalreporter):
    """One line per engine, so a CI log shows that both passes ran and how they ended."""
    for engine in ENGINES:
        counts = {
            outcome: sum(f"[{engine}" in getattr(report, "nodeid", "") for report in terminalreporter.stats.get(outcome, []))
            for outcome in ("passed", "failed", "error", "skipped")
        }
        shown = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n) or "no tests"
        terminalreporter.write_line(f"{engine} pass: {shown}")
