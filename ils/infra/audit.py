"""The staff audit log: who reset a password or overrode a rule, when, and why."""

from __future__ import annotations

import json

from sqlalchemy import select

from ils.infra import schema
from ils.infra.context import Context


def audit(ctx: Context, staff: str, action: str, patron_id: int | None, *, target: str | None = None,
          reason: str | None = None, detail: dict | None = None) -> None:
    """One row in the staff audit log, in the caller's transaction."""
    ctx.conn.execute(schema.staff_audit.insert().values(
        at=ctx.now, staff_id=staff, action=action, patron_id=patron_id, target=target, reason=reason,
        detail=json.dumps(detail, ensure_ascii=False) if detail else None,
    ))


def audit_rows(ctx: Context, limit: int = 50, patron_id: int | None = None) -> list[dict]:
    a, p = schema.staff_audit, schema.patrons
    query = select(a.c.at, a.c.staff_id, a.c.action, p.c.card_number, a.c.target, a.c.reason, a.c.detail).outerjoin(
        p, p.c.id == a.c.patron_id).order_by(a.c.id.desc()).limit(limit)
    if patron_id is not None:
        query = query.where(a.c.patron_id == patron_id)
    return [dict(row._mapping) for row in ctx.conn.execute(query)]
