"""A small run starts quickly: a command loads only what it uses, and the front end can run the intraday batch in-process."""

from __future__ import annotations

import dataclasses
import gc
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from ils.frontend import api as frontend
from ils.infra import collector, compiled, db
from ils.infra.context import Context
from scenario import at


def test_the_schema_version_is_read_without_alembic_and_agrees_with_it():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    assert db.head_revision() == script.get_current_head()
    assert set(db._revisions()) == {revision.revision for revision in script.walk_revisions()}


def _modules_in_memory_after(folder: Path, *args: str) -> set[str]:
    """Every module in memory when the command `ils ARGS` ends (run in `folder`). Unlike
    -X importtime, this sees the modules the runner loads with importlib, the steps."""
    listing = folder / "modules.txt"
    program = ("import atexit, pathlib, sys; from ils.__main__ import main\n"
               f"atexit.register(lambda: pathlib.Path({str(listing)!r}).write_text('\\n'.join(sys.modules)))\n"
               "main()")
    subprocess.run([sys.executable, "-c", program, *args], cwd=folder, capture_output=True, text=True, check=True)
    return set(listing.read_text().split("\n"))


def test_a_batch_run_loads_no_migrations_importer_reports_or_mail(tmp_path):
    loaded = _modules_in_memory_after(tmp_path, "batch", "run", "--help")
    assert "ils.cli" in loaded and "ils.batch.runner" in loaded
    for absent in ("alembic", "jinja2", "tabulate", "ils.exchange.imports", "ils.reports", "ils.mail.deliver",
                   "ils.batch.s01_accept", "ils.batch.s10_reports", "ils.batch.s11_render"):
        assert absent not in loaded, absent


# What Mito's every-ten-minutes run has no use for: migrations, the importer, the reports,
# the mail (its templates, delivery, the newsletter's issue), the PDF, the night-only steps, and pydantic and
# the constraints only it reads (the policy validated by an earlier command is read from its cache,
# ils.library.policy). Each would be paid for by every run as a process (a tenth of a second is a third of
# the 0.3 s it may take).
NOT_FOR_AN_INTRADAY_RUN = (
    "alembic", "jinja2", "tabulate", "reportlab", "email_validator", "pydantic", "annotated_types",
    "ils.exchange.imports", "ils.reports", "ils.mail", "ils.batch.s08_expire", "ils.batch.s10_reports",
    "ils.batch.s11_render",
)
# Each engine's run leaves the other's dialect alone.
OTHER_DIALECT = {"sqlite": "sqlalchemy.dialects.postgresql", "postgresql": "sqlalchemy.dialects.sqlite"}


def _mito_with_a_web_hold_request(new_library):
    """Mito's library with one hold request for a title whose only copy is out: an intraday run accepts it."""
    lib = new_library("mito")
    lib.branch("chuo")
    lib.patron("5001")
    lib.title("B1")
    lib.copy("B1", "chuo", state="on_loan")
    lib.request("hold", "5001", "B1", received="2026-11-26 09:58", pickup="chuo")
    lib.conn.commit()
    return lib


def test_a_batch_run_loads_the_batch_s_commands_and_no_other_command(tmp_path):
    """Defining every command's options was 2% of an intraday run as a process (ils.cli.COMMANDS)."""
    loaded = _modules_in_memory_after(tmp_path, "-v", "batch", "run", "--help")
    assert {m for m in loaded if m.startswith("ils.commands")} == {"ils.commands", "ils.commands.batch"}


def test_the_command_a_line_names_is_loaded_with_the_start_up_and_frozen_with_it(tmp_path):
    """Loaded as click parsed the line, its modules' objects were left to the collector."""
    listing = tmp_path / "tracked.txt"
    program = ("import atexit, gc, pathlib, sys; from ils.__main__ import main\n"
               "def tracked(): return any(o is sys.modules['ils.commands.batch'].batch for o in gc.get_objects())\n"
               f"atexit.register(lambda: pathlib.Path({str(listing)!r}).write_text(str(tracked())))\n"
               "main()")
    subprocess.run([sys.executable, "-c", program, "batch", "runs", "--help"], cwd=tmp_path, capture_output=True, text=True,
                   check=True)
    assert listing.read_text() == "False"  # gc.get_objects() leaves out what is frozen


def test_an_intraday_run_as_a_process_loads_only_the_steps_it_runs(new_library, engine_name, tmp_path):
    lib = _mito_with_a_web_hold_request(new_library)
    loaded = _modules_in_memory_after(tmp_path, "batch", "run", "--db", lib.url, "--now", "2026-11-26T10:00:00+09:00",
                                      "--intraday")
    assert {"ils.batch.s01_accept", "ils.batch.s09_allocate"} <= loaded  # the run did serve the request
    unused = set(NOT_FOR_AN_INTRADAY_RUN) | {OTHER_DIALECT[engine_name]}
    assert not loaded & unused, sorted(loaded & unused)



def test_each_dataclass_an_intraday_run_makes_has_a_docstring_of_its_own(new_library, tmp_path):
    """@dataclass gives a class without a docstring one written from its signature, which
    inspect.signature works out as the class is made: 26 such classes were 0.9% of an intraday
    run's instructions (callgrind)."""
    lib = _mito_with_a_web_hold_request(new_library)
    loaded = _modules_in_memory_after(tmp_path, "batch", "run", "--db", lib.url, "--now", "2026-11-26T10:00:00+09:00",
                                      "--intraday")
    made_up = []
    for name in sorted(module for module in loaded if module.startswith("ils.")):
        for value in vars(importlib.import_module(name)).values():
            if (isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == name
                    and (value.__doc__ or "").startswith(f"{value.__name__}(")):
                made_up.append(f"{name}.{value.__name__}")
    assert not made_up


def test_an_intraday_run_that_allocates_many_holds_at_once_does_not_load_postgresql_on_sqlite(new_library, engine_name,
                                                                                               tmp_path):
    """From store.STAGED_FROM moves on, a step stages them in a temporary table; its definition
    once named a PostgreSQL option, which made SQLAlchemy load that dialect on SQLite too."""
    from ils.holds.lifecycle.store import STAGED_FROM

    lib = new_library("mito")
    lib.branch("chuo")
    for n in range(STAGED_FROM + 1):
        lib.patron(f"50{n:02d}")
        lib.title(f"B{n}")
        lib.copy(f"B{n}", "chuo")
        lib.request("hold", f"50{n:02d}", f"B{n}", received="2026-11-26 09:58", pickup="chuo", channel="opac")
    lib.conn.commit()
    loaded = _modules_in_memory_after(tmp_path, "batch", "run", "--db", lib.url, "--now", "2026-11-26T10:00:00+09:00",
                                      "--intraday")
    allocated = lib.conn.execute(text("SELECT count(*) FROM holds WHERE status = 'allocated'")).scalar()
    assert allocated > STAGED_FROM  # the staged path did run
    assert ("sqlalchemy.dialects.postgresql" in loaded) == (engine_name == "postgresql")


def test_the_runner_plans_each_step_as_its_module_declares_it():
    from ils.batch import runner

    for planned in runner.PLAN:
        module = importlib.import_module(f"ils.batch.{planned.module}")
        assert (module.NAME, module.INTRADAY, module.IN_DRY_RUN) == (planned.name, planned.intraday, planned.in_dry_run)


def test_a_run_leaves_the_collector_as_it_found_it():
    from ils.batch import runner

    before = gc.get_threshold()
    with runner.batch_gc():
        assert gc.get_threshold() == runner.BATCH_GC_THRESHOLDS and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def _collector_at_exit(folder: Path, *args: str) -> tuple[int, int]:
    """How many objects are frozen out of the collector, and how many full collections it made,
    when the command `ils ARGS` ends."""
    program = ("import atexit, gc; from ils.__main__ import main\n"
               "atexit.register(lambda: print(gc.get_freeze_count(), gc.get_stats()[2]['collections']))\n"
               "main()")
    shown = subprocess.run([sys.executable, "-c", program, *args], cwd=folder, capture_output=True, text=True,
                           check=True).stdout.split("\n")[-2]
    frozen, full_collections = map(int, shown.split())
    return frozen, full_collections


def test_a_start_up_that_froze_is_not_counted_again_by_the_run(monkeypatch):
    """gc.get_freeze_count() reads every frozen object: 11-15 ms of CPU after an intraday run's start-up."""
    monkeypatch.setattr(collector, "_start_up_frozen", False)
    monkeypatch.setattr(gc, "freeze", lambda: None)
    collector.freeze_start_up()
    monkeypatch.setattr(gc, "get_freeze_count", lambda: pytest.fail("the frozen objects were counted"))
    assert not collector.nothing_frozen()


def test_a_front_end_that_froze_objects_of_its_own_finds_them_frozen_after_a_run():
    from ils.batch import runner

    gc.freeze()
    try:
        with runner.batch_gc():
            pass
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_what_start_up_loads_is_frozen_out_of_the_collector(tmp_path):
    """ils.__main__ pauses the collector while the modules load and freezes what they made: without
    it the collector went over those 60,000 objects 148 times, an eighth of the imports' CPU time."""
    frozen, full_collections = _collector_at_exit(tmp_path, "--help")
    assert frozen > 20_000 and full_collections == 0


class _NoCli:
    def find_spec(self, name, path=None, target=None):
        if name == "ils.cli":
            raise RuntimeError("ils.cli cannot load")
        return None


def test_a_command_that_fails_to_load_leaves_the_collector_running_and_nothing_frozen(monkeypatch):
    import ils.__main__ as entry

    monkeypatch.delitem(sys.modules, "ils.cli", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_NoCli(), *sys.meta_path])
    monkeypatch.setattr(compiled, "keep_between_processes", lambda: None)  # the suite's dataclasses compile as Python's
    monkeypatch.setattr(sys, "argv", ["ils", "--help"])
    with pytest.raises(SystemExit):
        entry.main()
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_an_intraday_run_as_a_process_ends_with_its_start_up_still_frozen(new_library, tmp_path):
    """Thawed after the run, the start-up's objects were all gone over again as Python exits (ils.batch.runner.batch_gc)."""
    lib = _mito_with_a_web_hold_request(new_library)
    frozen, _ = _collector_at_exit(tmp_path, "batch", "run", "--db", lib.url, "--now", "2026-11-26T10:00:00+09:00",
                                   "--intraday")
    assert frozen > 20_000


def test_a_mito_web_hold_is_waiting_after_the_front_end_runs_the_intraday_batch_in_process(new_library):
    lib = new_library("mito")
    lib.branch("chuo")
    lib.patron("5001")
    lib.title("B1")
    lib.copy("B1", "chuo", state="on_loan")
    ctx = Context(conn=lib.conn, policy=lib.policy, now=at("2026-11-26 10:00"))
    rid = frontend.submit_request(ctx, {"kind": "hold", "card_number": "5001", "target": "B1", "channel": "web",
                                        "pickup_branch": "chuo", "received_at": "2026-11-26T09:58:00+09:00"})
    counts = frontend.run_intraday(ctx)
    assert "expire" not in counts and "reports" not in counts and counts["accept"]
    assert lib.verdict(rid) == ("accepted", None)
    assert [h["status"] for h in frontend.my_holds(ctx, "5001")] == ["予約中"]  # Mito's label for a waiting hold



def _leaving(*args: str) -> subprocess.CompletedProcess:
    program = ("import atexit; from ils.__main__ import main\n"
               "atexit.register(print, 'atexit ran')\n"
               "main()")
    return subprocess.run([sys.executable, "-c", program, *args], capture_output=True, text=True)


def test_a_command_that_has_ended_leaves_with_its_status_its_output_and_the_atexit_handlers_run():
    """ils.__main__._leave_at_once ends the process by os._exit, past Python's teardown: what
    the teardown would have done that matters (the handlers, the flush, the status) is done."""
    shown = _leaving("--help")
    assert shown.returncode == 0
    assert "Commands:" in shown.stdout and shown.stdout.rstrip().endswith("atexit ran")
    refused = _leaving("no-such-command")
    assert refused.returncode == 2 and "no-such-command" in refused.stderr and "atexit ran" in refused.stdout


def test_a_command_run_under_cprofile_still_gets_its_profile_written(tmp_path):
    """cProfile writes its file after the command's SystemExit: a process being profiled leaves as Python does."""
    written = tmp_path / "version.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(written), "-m", "ils", "--version"], cwd=tmp_path,
                   capture_output=True, check=True)
    assert written.stat().st_size > 0



def _record_class():
    """A frozen dataclass with each method @dataclass writes (__init__, __repr__, __eq__, __hash__,
    __setattr__, __delattr__), made afresh at each call."""

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Record:
        x: int
        name: str = "a"

    return Record


DATACLASS_METHODS = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")


def test_a_dataclass_made_from_kept_code_is_the_one_python_makes(tmp_path, monkeypatch):
    """ils.infra.compiled: the methods made from code read back from its file are those Python
    compiles, down to their annotations (objects, as Python makes them: that module's
    `from __future__ import annotations` must not reach what it compiles)."""
    first = compiled.CompiledTexts({})
    monkeypatch.setattr(dataclasses, "exec", first.exec, raising=False)
    _record_class()
    assert first.added and len(first.used) == len(DATACLASS_METHODS)
    kept = tmp_path / "kept.marshal"
    compiled.write(kept, first)
    again = compiled.CompiledTexts(compiled.read(kept))
    monkeypatch.setattr(dataclasses, "exec", again.exec)
    from_file = _record_class()
    assert not again.added and len(again.used) == len(DATACLASS_METHODS)  # nothing compiled
    monkeypatch.delattr(dataclasses, "exec")
    by_python = _record_class()
    for name in DATACLASS_METHODS:
        ours, theirs = getattr(from_file, name), getattr(by_python, name)
        ours, theirs = getattr(ours, "__wrapped__", ours), getattr(theirs, "__wrapped__", theirs)  # __repr__'s guard
        assert ours.__code__.co_code == theirs.__code__.co_code, name
        assert ours.__annotations__ == theirs.__annotations__, name
    assert from_file.__init__.__annotations__ == {"x": "int", "name": "str", "return": None}
    record = from_file(x=1)
    assert record == from_file(x=1, name="a") and record != from_file(x=2)
    assert hash(record) == hash(by_python(x=1)) and repr(record).endswith("Record(x=1, name='a')")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.x = 2


def _dataclass_texts_at_exit(folder: Path, cache: Path, *args: str) -> tuple[int, bool]:
    """(how many dataclass method texts the command `ils ARGS` used, whether it compiled any)."""
    program = ("import atexit, dataclasses; from ils.__main__ import main\n"
               "atexit.register(lambda: print(len(dataclasses.exec.__self__.used), dataclasses.exec.__self__.added))\n"
               "main()")
    shown = subprocess.run([sys.executable, "-c", program, *args], cwd=folder, capture_output=True, text=True,
                           check=True, env={**os.environ, "XDG_CACHE_HOME": str(cache)}).stdout.split("\n")[-2]
    used, added = shown.split()
    return int(used), added == "True"


def test_a_command_compiles_no_dataclass_method_an_earlier_command_compiled(tmp_path):
    cache = tmp_path / "cache"
    used, added = _dataclass_texts_at_exit(tmp_path, cache, "--version")
    assert used > 30 and added
    assert _dataclass_texts_at_exit(tmp_path, cache, "--version") == (used, False)


def test_a_damaged_file_of_compiled_code_is_compiled_again_and_written_anew(tmp_path):
    cache = tmp_path / "cache"
    kept = compiled.cache_file(cache / "ils")
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"\xe3 not marshal")
    used, added = _dataclass_texts_at_exit(tmp_path, cache, "--version")
    assert added and len(compiled.read(kept)) == used
