"""Branches: libraries, branch rooms and bookmobile stations, looked up by their codes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ils.errors import UnknownBranch
from ils.infra import schema
from ils.infra.i18n import _


def branch_id(conn: Connection, code: str) -> int:
    """The id of the branch with this code, or UnknownBranch."""
    found = conn.execute(select(schema.branches.c.id).where(schema.branches.c.code == code)).scalar()
    if found is None:
        raise UnknownBranch(_("no branch with code {code!r}").format(code=code))
    return found
