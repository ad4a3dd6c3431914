"""What a database holds, counted: branches, catalogue, patrons, loans, holds, requests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ils.circulation.overdue import overdue_loans
from ils.infra import schema


def _grouped(conn, area, column, where=None):
    query = select(column, func.count()).group_by(column).order_by(column)
    if where is not None:
        query = query.where(where)
    return [{"area": area, "what": str(value), "count": count} for value, count in conn.execute(query)]


def _count(conn, area, what, table, where=None):
    query = select(func.count()).select_from(table)
    if where is not None:
        query = query.where(where)
    return {"area": area, "what": what, "count": conn.execute(query).scalar_one()}


def summarise(conn: Connection, today: dt.date) -> list[dict]:
    """One row per (area, what): the shape of the library system in this database."""
    b, t, c, p = schema.branches, schema.titles, schema.copies, schema.patrons
    lo, h = schema.loans, schema.holds
    open_loan = lo.c.returned_at.is_(None)
    rows = []
    rows += _grouped(conn, "branches", b.c.kind)
    rows += _grouped(conn, "titles", t.c.material_type)
    rows += _grouped(conn, "titles", t.c.category, t.c.category != "normal")
    rows.append(_count(conn, "titles", "in a series", t, t.c.series_id.is_not(None)))
    rows += _grouped(conn, "copies", c.c.state)
    rows += _grouped(conn, "patrons", p.c.contact_method)
    rows.append(_count(conn, "patrons", "with email", p, p.c.email.is_not(None)))
    rows.append(_count(conn, "patrons", "web registered", p, p.c.web_registered.is_(True)))
    rows.append(_count(conn, "loans", "open", lo, open_loan))
    rows.append(_count(conn, "loans", "overdue", lo, overdue_loans(today)))
    rows += _grouped(conn, "holds", h.c.status)
    rows += _requests(conn)
    return rows


def _requests(conn: Connection) -> list[dict]:
    r = schema.pending_requests
    query = select(r.c.kind, r.c.state, func.count()).group_by(r.c.kind, r.c.state)
    counts: dict[str, int] = {}
    for kind, state, count in conn.execute(query):
        # `kind` is whatever the front end wrote; keep a hostile value from flooding the screen.
        known = kind if kind in schema.REQUEST_KINDS else "(unknown kind)"
        key = f"{known}/{state}"
        counts[key] = counts.get(key, 0) + count
    return [{"area": "requests", "what": k, "count": n} for k, n in sorted(counts.items())]
