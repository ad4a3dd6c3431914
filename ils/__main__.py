"""`ils` and `python -m ils`: the command line, with a failure while it loads told in one `Error:` line like any other.

Some files are read as the program starts: the words people read (data/words/) and the
reports' words. A broken one must stop every command at once, but it fails while `ils.cli`
is imported, before the command's own error path (ils.cli.IlsGroup) exists; this is where
it is caught.

A command that has ended (click ends every one by SystemExit, its status set) leaves without
Python's teardown (_leave_at_once).
"""

from __future__ import annotations

import atexit
import gc
import os
import sys


def main() -> None:
    try:
        command = _load_command()
    except Exception as exc:  # noqa: BLE001 - the command's own error path does not exist yet
        if any(arg in ("--verbose",) or (arg.startswith("-v") and set(arg[1:]) == {"v"}) for arg in sys.argv[1:]):
            raise
        from ils.infra.logs import error_line

        sys.exit(error_line(_one_line(exc)))
    try:
        command()
    except SystemExit as ended:
        if sys.getprofile() is None and sys.gettrace() is None:  # a profiler's or coverage's report comes after
            _leave_at_once(ended.code)
        raise


def _leave_at_once(code: object) -> None:
    """End the process as Python would after a command's SystemExit, but without its teardown
    (clearing every module, a last collection of what the command made): 20-30 ms of CPU that
    changes nothing, a tenth of an intraday run as a process.

    What Python does first as it exits is done here: the atexit handlers (logging's flush
    among them), a message given as the status printed, stdout and stderr flushed. Nothing else
    is left to the teardown: the command's files and database connections are closed when it
    ends (`with` blocks, ils.infra.db.connect). A command that raised instead of ending (a
    bug, an interrupt), or one run under a profiler (`python -m cProfile`) or coverage, whose
    report is written after the command returns, goes through Python's own exit."""
    status = code if isinstance(code, int) else 0 if code is None else 1
    atexit._run_exitfuncs()
    if not isinstance(code, int | None):
        print(code, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _load_command():
    """ils.cli's command group and the command the line names (ils/commands/), loaded with the
    cyclic garbage collector paused, and what loading made frozen out of every later collection.

    Importing SQLAlchemy, pydantic and ils makes some 60,000 objects the collector tracks,
    nearly all kept as long as the process lives; the collector, run after every 700 new
    objects, went over them 148 times: 50-60 ms of CPU, an eighth of the imports' time, paid by
    every command (an intraday run is mostly start-up). Only paused, it would go over them all
    at its next run, and again as Python exits: they are frozen (the batch keeps them so,
    ils.batch.runner.batch_gc). A load that fails ends the process, frozen nothing."""
    from ils.infra import collector, compiled

    compiled.keep_between_processes()
    gc.disable()
    try:
        from ils.cli import main as command

        command.load_named(sys.argv[1:])
    finally:
        gc.enable()
    collector.freeze_start_up()
    return command


def _one_line(exc: Exception) -> str:
    from ils.errors import IlsError

    first = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, IlsError):
        return first
    return f"unexpected {type(exc).__name__}: {first} (a bug: run again with -v for the traceback, and report it)"


if __name__ == "__main__":
    main()
