"""A piece of work run in a forked child process beside the parent's: its result, or why it failed, handed back over a pipe.

POSIX only (os.fork). The child starts as a copy of the parent, open connections included:
it must never use, close or finalise them (SQLite: closing could checkpoint or remove the
WAL the parent relies on; PostgreSQL: psycopg would send Terminate on the parent's socket),
so the work opens its own, and the child leaves by os._exit, which runs no finaliser,
atexit handler or `with` block's exit, whatever happened.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

MAX_WHY = 2_000  # characters of the child's failure passed back (a pipe holds 64 KB before a writer waits)


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity, as taskset or a container sets it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def why_not_fork() -> str | None:
    """Why a piece of work cannot run in a forked child here, or None if it can."""
    if not hasattr(os, "fork"):
        return "this system cannot fork"
    if available_cpus() < 2:
        return "one CPU only"
    if threading.active_count() > 1:
        # A child forked beside other threads gets their locks as they were at that moment,
        # held by threads that do not exist in it (Python 3.12 warns).
        return "other threads are running"
    return None


class ChildFailed(Exception):
    """The work in the child raised, or the child died before it handed its result back."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


@dataclass
class Child:
    """A forked child at work; `result()` waits for it."""

    pid: int
    pipe: int  # the read end
    peak_kb: int = 0  # the child's own peak resident memory, once it has ended (Linux: kilobytes)

    def result(self) -> Any:
        """The work's return value; ChildFailed if it raised, was killed or ended without one."""
        chunks = []
        try:
            while chunk := os.read(self.pipe, 65536):
                chunks.append(chunk)
        finally:
            os.close(self.pipe)
        _, status, usage = os.wait4(self.pid, 0)
        self.peak_kb = usage.ru_maxrss
        if os.WIFSIGNALED(status):
            raise ChildFailed(f"its process {self.pid} was killed by {signal.Signals(os.WTERMSIG(status)).name}")
        try:
            ok, value = pickle.loads(b"".join(chunks))
        except Exception:  # noqa: BLE001 - nothing, or half a message: the child died writing it
            raise ChildFailed(f"its process {self.pid} ended (exit status {os.waitstatus_to_exitcode(status)}) "
                              "without handing back its result") from None
        if not ok:
            raise ChildFailed(value)
        return value

    def stop(self) -> None:
        """Kill the child and reap it (the parent is leaving without its result)."""
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        try:
            os.close(self.pipe)
        except OSError:
            pass


def flush_output() -> None:
    """Write out what Python holds for stdout, stderr and the log handlers, so that neither
    process writes it twice (before fork) or loses it (before os._exit)."""
    for handler in logging.getLogger().handlers:
        try:
            handler.flush()
        except Exception:  # noqa: BLE001, S110 - a handler that cannot flush must not change the outcome
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001, S110
            pass


def fork(work: Callable[[], Any], explain: Callable[[BaseException], str]) -> Child:
    """Run `work()` in a forked child; `explain` turns its exception into the sentence handed back."""
    read_end, write_end = os.pipe()
    flush_output()
    free_heap()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        die_with(parent)
        _run_child(work, explain, write_end)
    os.close(write_end)
    return Child(pid, read_end)


def free_heap() -> None:
    """Hand the free pages of the process's heap back to the system before a fork. A child starts
    with every resident page of its parent's heap counted in its own resident size, shared or not:
    a prefecture's reports started at the batch process's 614 MB, part of it memory that the night's
    millions of rows had left free but not returned. The collector's garbage is freed first, then
    glibc gives back the free pages inside its heap (malloc_trim); elsewhere the heap stays as it is."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with(parent: int) -> None:
    """Linux: have the kernel kill this child if its parent dies (SIGKILL, a crash): a killed
    night leaves no orphan at work beside the run that resumes it. Elsewhere the child finishes
    its work and leaves, its result unread."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


def _run_child(work: Callable[[], Any], explain: Callable[[BaseException], str], pipe: int) -> None:
    code = 1
    try:
        try:
            message = (True, work())
        except BaseException as exc:  # noqa: BLE001 - whatever happens, the parent is told and the child leaves
            log.debug("work in process %d failed", os.getpid(), exc_info=True)
            try:
                why = explain(exc)
            except BaseException:  # noqa: BLE001
                why = f"{type(exc).__name__}: {exc}"
            message = (False, why[:MAX_WHY])
        data = pickle.dumps(message)
        view = memoryview(data)
        while view:
            view = view[os.write(pipe, view):]
        code = 0
    except BaseException:  # noqa: BLE001 - even a result that cannot be sent must not let the child go on
        try:
            traceback.print_exc()
        except BaseException:  # noqa: BLE001, S110
            pass
    finally:
        flush_output()
        os._exit(code)
