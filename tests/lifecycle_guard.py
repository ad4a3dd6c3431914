"""The guard that keeps every write of holds.status inside ils.holds.lifecycle.store.

Why a hook and not a grep: a grep for `.values(status=` misses a `text("UPDATE holds ...")`,
an `.values(**values)` or a dict of bound parameters, and trips over copies.state or a
report's `status == "ready"`. Instead every statement SQLAlchemy sends to the database
(`before_cursor_execute` on every Engine: Core, ORM-less text(), executemany alike) is
read as the SQL the server receives. An UPDATE of holds whose SET names `status`, or an
INSERT into holds (a new row always carries its status), must have been executed by
ils/holds/lifecycle/store.py — the innermost frame of this project on the call stack.
Writes made by the tests themselves (tests/, e.g. a scenario's `lib.hold(...)` setting a
hold up in a given status) are the fixture's business and pass.

conftest.py runs every test of the suite under it, on both engines; tests/test_lifecycle.py
shows it catches each kind of write made from outside. Not seen: PostgreSQL COPY on the raw
DBAPI cursor (tools/bulkload.py, which takes its row shape from the lifecycle module).
"""

from __future__ import annotations

import re
import sys
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
OWNER = ROOT / "ils" / "holds" / "lifecycle" / "store.py"
TESTS = ROOT / "tests"
_UPDATE = re.compile(r"^\s*UPDATE\s+holds\s+SET\s+(?P<set>.*?)(\s+WHERE\s|\s+RETURNING\s|$)", re.I | re.S)
_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+holds\s*\((?P<columns>[^)]*)\)", re.I | re.S)
_STATUS = re.compile(r'"?status"?\s*=', re.I)


def writes_hold_status(statement: str) -> bool:
    """Whether this SQL sets holds.status (an UPDATE naming it in SET, or any INSERT into holds)."""
    update = _UPDATE.match(statement)
    if update:
        return any(_STATUS.match(part.strip()) for part in update.group("set").split(","))
    return _INSERT.match(statement) is not None


def _writer() -> Path | None:
    """The innermost frame on the stack that is this project's code (not SQLAlchemy's, not this file)."""
    frame = sys._getframe(1)
    here = Path(__file__).resolve()
    while frame is not None:
        path = Path(frame.f_code.co_filename).resolve()
        if path != here and ROOT in path.parents and ".venv" not in path.parts:
            return path
        frame = frame.f_back
    return None


@contextmanager
def hold_status_guard():
    """Yield a list that collects (writer, SQL) for every holds.status write made outside the lifecycle."""
    caught: list[tuple[str, str]] = []

    def check(conn, cursor, statement, parameters, context, executemany):
        if not writes_hold_status(statement):
            return
        writer = _writer()
        if writer == OWNER or (writer is not None and TESTS in writer.parents):
            return
        where = str(writer.relative_to(ROOT)) if writer is not None else "(no code of this project on the stack)"
        caught.append((where, " ".join(statement.split())[:200]))

    event.listen(Engine, "before_cursor_execute", check)
    try:
        yield caught
    finally:
        event.remove(Engine, "before_cursor_execute", check)
