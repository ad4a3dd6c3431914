"""`ils db check`: SQLite's own integrity check, then the rules the rows must keep between them, one line per problem.

The database enforces some of these itself (a unique index keeps a copy on one active
hold, foreign keys keep holds on real patrons); they are checked all the same, because a
database restored from an old backup, edited by hand or copied with its constraints
switched off no longer proves them. Each rule is one query that returns the rows that
break it; none changes anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import and_, func, not_, or_, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from ils.holds import lifecycle
from ils.infra import schema

h, c, lo, p, t = schema.holds, schema.copies, schema.loans, schema.patrons, schema.titles
WITH_COPY = lifecycle.WITH_COPY
WITHOUT_COPY = tuple(s for s in lifecycle.ACTIVE if s not in WITH_COPY)  # waiting, series_waiting, suspended
OPEN_LOAN_STATES = ("on_loan", "long_overdue")  # a copy out with a patron
# The copy a hold in each status has in hand: allocated (on the pull list: still on a shelf,
# or on a hold shelf after an earlier hold expired), travelling, or on the hold shelf.
COPY_STATES_OF_HOLD = {
    "allocated": ("on_shelf", "on_hold_shelf"),
    "in_transit": ("in_transit",),
    "ready": ("on_hold_shelf",),
}


@dataclass(frozen=True)
class Rule:
    """One thing the rows must keep: the query for the rows that break it, and the line for each."""

    name: str
    query: Callable[[], Select]
    line: Callable[..., str]


def _open_loans():
    return select(lo.c.copy_id).where(lo.c.returned_at.is_(None))


def _active_copy_holds():
    return select(h.c.copy_id).where(h.c.status.in_(WITH_COPY), h.c.copy_id.is_not(None))


RULES = (
    Rule("copy on two active holds",
         lambda: select(h.c.copy_id, func.count().label("n")).where(h.c.status.in_(WITH_COPY), h.c.copy_id.is_not(None))
         .group_by(h.c.copy_id).having(func.count() > 1).order_by(h.c.copy_id),
         lambda r: f"copy {r.copy_id}: held for {r.n} active holds at once"),
    Rule("hold with a copy it should not have, or without one",
         lambda: select(h.c.id, h.c.status, h.c.copy_id).where(or_(
             and_(h.c.status.in_(WITH_COPY), h.c.copy_id.is_(None)),
             and_(h.c.status.in_(WITHOUT_COPY), h.c.copy_id.is_not(None)))).order_by(h.c.id),
         lambda r: f"hold {r.id}: {r.status} " + ("without a copy" if r.copy_id is None else f"but bound to copy {r.copy_id}")),
    Rule("hold whose copy is somewhere else",
         lambda: select(h.c.id, h.c.status, c.c.id.label("copy_id"), c.c.state).join(c, c.c.id == h.c.copy_id)
         .where(or_(*(and_(h.c.status == status, c.c.state.not_in(states)) for status, states in COPY_STATES_OF_HOLD.items())))
         .order_by(h.c.id),
         lambda r: f"hold {r.id}: {r.status} but its copy {r.copy_id} is {r.state}"),
    Rule("copy on loan without an open loan",
         lambda: select(c.c.id, c.c.state).where(c.c.state == "on_loan", c.c.id.not_in(_open_loans())).order_by(c.c.id),
         lambda r: f"copy {r.id}: on_loan but no open loan"),
    Rule("open loan of a copy that is not out",
         lambda: select(lo.c.id, c.c.id.label("copy_id"), c.c.state).join(c, c.c.id == lo.c.copy_id)
         .where(lo.c.returned_at.is_(None), c.c.state.not_in(OPEN_LOAN_STATES)).order_by(lo.c.id),
         lambda r: f"loan {r.id}: open but its copy {r.copy_id} is {r.state}"),
    Rule("copy both lent and held for a hold",
         lambda: select(c.c.id).where(c.c.id.in_(_open_loans()), c.c.id.in_(_active_copy_holds())).order_by(c.c.id),
         lambda r: f"copy {r.id}: on an open loan and held for an active hold"),
    Rule("hold of a patron, title, branch or copy that does not exist",
         lambda: select(h.c.id, h.c.patron_id, h.c.title_id, h.c.pickup_branch_id, h.c.copy_id).where(or_(
             h.c.patron_id.not_in(select(p.c.id)), h.c.title_id.not_in(select(t.c.id)),
             h.c.pickup_branch_id.not_in(select(schema.branches.c.id)),
             and_(h.c.copy_id.is_not(None), h.c.copy_id.not_in(select(c.c.id))))).order_by(h.c.id),
         lambda r: f"hold {r.id}: points at a missing patron {r.patron_id}, title {r.title_id}, "
                   f"branch {r.pickup_branch_id} or copy {r.copy_id}"),
    Rule("loan of a patron or copy that does not exist",
         lambda: select(lo.c.id, lo.c.patron_id, lo.c.copy_id).where(or_(
             lo.c.patron_id.not_in(select(p.c.id)), lo.c.copy_id.not_in(select(c.c.id)))).order_by(lo.c.id),
         lambda r: f"loan {r.id}: points at a missing patron {r.patron_id} or copy {r.copy_id}"),
    Rule("copy of a title that does not exist",
         lambda: select(c.c.id, c.c.title_id).where(not_(c.c.title_id.in_(select(t.c.id)))).order_by(c.c.id),
         lambda r: f"copy {r.id}: of a missing title {r.title_id}"),
)


def sqlite_integrity(conn: Connection) -> Iterator[str]:
    """SQLite's check of its own pages and indexes, then of every foreign key (PRAGMAs integrity_check, foreign_key_check)."""
    for (message,) in conn.execute(text("PRAGMA integrity_check")):
        if message != "ok":
            yield f"integrity_check: {message}"
    for table, rowid, parent, _fk in conn.execute(text("PRAGMA foreign_key_check")):
        yield f"foreign_key_check: {table} row {rowid} points at a missing {parent} row"


def invariant_problems(conn: Connection) -> Iterator[str]:
    """One line per row that breaks one of RULES."""
    for rule in RULES:
        for row in conn.execute(rule.query()):
            yield rule.line(row)


def problems(conn: Connection) -> Iterator[str]:
    """Every problem `ils db check` reports: SQLite's integrity (on SQLite), then the rules."""
    if conn.dialect.name == "sqlite":
        yield from sqlite_integrity(conn)
    yield from invariant_problems(conn)
