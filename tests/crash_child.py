"""`ils ...` run in this process, killed by SIGKILL at its Nth SQL statement: crash points that do not depend on the machine's speed.

ILS_KILL_AT_STATEMENT=N kills the process just before it sends its Nth statement (so the
transaction around it dies uncommitted); without it the command runs to the end and, if
ILS_COUNT_STATEMENTS_TO names a file, writes there how many statements it sent, then on
one line each the number of the statement that began each batch step (its batch_steps row).
"""

from __future__ import annotations

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


def main() -> int:
    from ils import cli

    try:
        cli.main.main(sys.argv[1:], prog_name="ils", standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        if COUNT_TO:
            with open(COUNT_TO, "w", encoding="ascii") as fh:
                fh.write("\n".join(map(str, [sent, *step_starts])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
