"""Shared fixtures: real databases (SQLite and PostgreSQL), one per test, initialised for a chosen profile."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from engines import ENGINES, OPEN, PG_SERVER, Databases, ensure_postgresql
from ils.infra import db
from ils.library.policy import load_policy
from lifecycle_guard import hold_status_guard
from scenario import Library

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "data" / "examples"
# What running Python and pytest leaves in a checkout by design, not a test's output.
CACHES = ("__pycache__", ".pytest_cache", ".hypothesis", ".venv/", ".egg-info/")
NIGHT = dt.datetime.fromisoformat("2026-11-26T03:00:00+09:00")


@pytest.fixture(scope="session", autouse=True)
def _a_cache_of_the_sessions_own(tmp_path_factory):
    """Validated policies are cached under $XDG_CACHE_HOME (ils.library.policy): the suite's go
    to a folder of its own, not the home of whoever runs it; the commands it starts inherit it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="session")
def _open_databases():
    """This process's Databases, one per engine, made when first asked for and closed at the end.

    Kept apart from `databases` so that a worker of pytest-xdist, whose tests of both
    engines may come in any order, makes each engine's templates once, not again each
    time the engine parameter changes."""
    yield OPEN
    try:
        for made in OPEN.values():
            made.close()
    finally:
        OPEN.clear()


@pytest.fixture(scope="session", params=ENGINES)
def databases(request, _open_databases, tmp_path_factory):
    """The engine under test (each database test runs once per engine)."""
    if request.param not in _open_databases:
        if request.param == "postgresql":
            problem = ensure_postgresql()
            if problem:
                pytest.fail(
                    f"PostgreSQL is not reachable at {PG_SERVER} ({problem}); start it, or run "
                    "ILS_TEST_ENGINES=sqlite to test SQLite alone", pytrace=False
                )
        _open_databases[request.param] = Databases(request.param, tmp_path_factory.mktemp(request.param))
    return _open_databases[request.param]


@pytest.fixture(autouse=True)
def _drop_the_tests_own_databases():
    """The databases a test made (its fixtures' or its own) are dropped once it is over; the
    templates and those of wider-scoped fixtures stay until the end of the session."""
    marks = {made: made.mark() for made in OPEN.values()}
    yield
    for made, since in marks.items():
        made.release(since)


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


# Tests that pin, byte for byte, what a Japanese library prints (the night dump keeps a
# digest of every report file): they run in the staff's language of the library, Japanese.
JAPANESE_MODULES = ("test_night_dump.py",)


def pytest_configure(config):
    config.addinivalue_line("markers", "staff_language(language): the test runs with $ILS_STAFF_LANGUAGE "
                                       "set to `language` (the suite's is en), or unset if None")


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in JAPANESE_MODULES:
            item.add_marker(pytest.mark.staff_language("ja"))


@pytest.fixture(autouse=True)
def isolated_environment(request, monkeypatch, tmp_path):
    """No test reads the developer's ils.toml, $ILS_DATABASE_URL or ./ils.db. Staff-facing text
    is in English, the language the suite's messages are written in (ils.infra.i18n: the
    message ids); tests/test_staff_language.py checks the Japanese that staff read by default.
    A test marked `staff_language("ja")` runs in Japanese: those that compare the branch
    reports' printed words (Japanese unless the staff read English); `staff_language(None)`
    leaves the choice to the library's setting."""
    monkeypatch.delenv("ILS_DATABASE_URL", raising=False)
    monkeypatch.delenv("ILS_CONFIG", raising=False)
    chosen = request.node.get_closest_marker("staff_language")
    language = chosen.args[0] if chosen else "en"
    if language is None:  # the library's setting decides, as at a library
        monkeypatch.delenv("ILS_STAFF_LANGUAGE", raising=False)
    else:
        monkeypatch.setenv("ILS_STAFF_LANGUAGE", language)
    monkeypatch.chdir(tmp_path)
    # A library's staff_language is taken when its database is opened, for the rest of the
    # process: one test's library must not choose the next one's language.
    from ils.infra import i18n

    monkeypatch.setattr(i18n, "_setting", None)


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


def _untracked() -> set[str] | None:
    """What git does not track in the checkout (ignored files included), less caches; None outside a git checkout."""
    try:
        listed = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"], cwd=REPO,
                                capture_output=True, text=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    paths = {line[3:] for line in listed.splitlines() if line[:2] in ("??", "!!")}
    return {path for path in paths if not any(cache in path for cache in CACHES)}


def _is_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionstart(session):
    if not _is_xdist_worker(session.config):  # the controller looks, before any worker starts and after all end
        session.config.stash[_BEFORE] = _untracked()


def pytest_sessionfinish(session):
    """The suite leaves nothing in the checkout: a file a test wrote there fails the run, named."""
    if _is_xdist_worker(session.config):
        return
    before = session.config.stash.get(_BEFORE, None)
    after = _untracked() if before is not None else None
    left = sorted(after - before) if after is not None and before is not None else []
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(f"the tests left files in the checkout (write them under tmp_path): {', '.join(left[:20])}",
                                red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_BEFORE = pytest.StashKey[set[str] | None]()
