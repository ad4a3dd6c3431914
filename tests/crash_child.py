"""`ils ...` run in a process of its own, killed by SIGKILL at its Nth SQL statement: crash points that do not depend on the machine's speed.

ILS_KILL_AT_STATEMENT=N kills the process just before it sends its Nth statement (so the
transaction around it dies uncommitted); without it the command runs to the end and, if
ILS_COUNT_STATEMENTS_TO names a file, writes there how many statements it sent, then on
one line each the number of the statement that began each batch step (its batch_steps row).

`crash_child.py ils-arguments...` runs one command. `crash_child.py --serve` is a fork
server for tests/test_crash.py, which runs the night a few dozen times: it imports ils
once, then for each request (one JSON line on standard input: argv, env, cwd, and the
files for the command's stdout and stderr) forks a child that runs the command as above
and answers one JSON line, {"returncode": ...}, negative for a signal as in subprocess.
Each child is still a process of its own, killed by the kernel and leaving nothing but
what its database committed; the fork only saves re-importing ils and the night's steps
(about 1.3 s of CPU each time). The server itself never opens a database, so a child inherits no connection.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from sqlalchemy import event
from sqlalchemy.engine import Engine

KILL_AT = int(os.environ.get("ILS_KILL_AT_STATEMENT", "0"))
COUNT_TO = os.environ.get("ILS_COUNT_STATEMENTS_TO")
sent = 0
step_starts: list[int] = []


@event.listens_for(Engine, "before_cursor_execute")
def _count(_conn, _cursor, statement, *_args) -> None:
    global sent
    sent += 1
    if statement.lstrip().upper().startswith("INSERT INTO BATCH_STEPS"):
        step_starts.append(sent)
    if sent == KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    from ils import cli

    try:
        cli.main.main(argv, prog_name="ils", standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        if COUNT_TO:
            with open(COUNT_TO, "w", encoding="ascii") as fh:
                fh.write("\n".join(map(str, [sent, *step_starts])))
    return 0


def serve() -> int:
    """Answer requests until standard input closes; in a forked child, run one and return its exit code."""
    global KILL_AT, COUNT_TO
    from ils import cli  # noqa: F401 - imported once here, so that no child pays for it
    from ils.batch.runner import STEPS

    for name in STEPS:  # the steps, which a run imports as it reaches them (jinja, the mail, the reports)
        STEPS[name]

    replies = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        replies.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.environ.clear()
            os.environ.update(request["env"])
            os.chdir(request["cwd"])
            KILL_AT = int(os.environ.get("ILS_KILL_AT_STATEMENT", "0"))
            COUNT_TO = os.environ.get("ILS_COUNT_STATEMENTS_TO")
            for fd, path, mode in ((0, os.devnull, os.O_RDONLY), (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                   (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
                opened = os.open(path, mode, 0o600)
                os.dup2(opened, fd)
                os.close(opened)  # sys.stdout and sys.stderr write through these descriptors (empty: flushed above)
            return main(request["argv"])  # the child leaves the loop and ends like any process
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        replies.flush()
    return 0


if __name__ == "__main__":
    sys.exit(serve() if sys.argv[1:] == ["--serve"] else main(sys.argv[1:]))
