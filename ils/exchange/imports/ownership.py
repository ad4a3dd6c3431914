"""Who owns a field the back office changes: an import keeps a change the ILS has not seen, and reports real conflicts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ils.exchange.journal import as_text, newsletter_text
from ils.infra import db, schema

# The fields of an imported row the back office may have changed since the ILS exported
# it (docs/integration.md, "Who owns each field"). Every other column is the ILS's.
PATRON_FIELDS = ("email", "contact_method", "web_registered", "newsletter")
LOAN_FIELDS = ("due_on", "renewals")


@dataclass(frozen=True)
class Pending:
    """The back office's changes to one field that the ILS has not acknowledged yet."""

    ids: tuple[int, ...]
    ils_knew: str | None  # the value before the first of them: what the ILS last saw
    latest_at: dt.datetime


@dataclass(frozen=True)
class Where:
    """An imported row, as a conflict names it."""

    record: str  # patron or loan
    key: str  # card number or barcode
    line: int
    changed_at: dt.datetime | None  # the ILS's own change time, if its export has one


def keep_registration(ctx, rows: list[dict], known: dict) -> None:
    """A blank web_registered leaves a known patron's enrolment as it is; a new patron is not enrolled."""
    blank = [known[r["card_number"]] for r in rows if r["web_registered"] is None and r["card_number"] in known]
    current = _current(ctx.conn, "patron", blank, ("web_registered",)) if blank else {}
    for row in rows:
        if row["web_registered"] is None:
            record_id = known.get(row["card_number"])
            row["web_registered"] = bool(current[record_id]["web_registered"]) if record_id in current else False


def keep_back_office_changes(ctx, record: str, rows: list[dict], lines: list[int], ids: list[int | None],
                             key_of) -> None:
    """Before the rows are written: where the back office changed a field the ILS has not seen,
    put the back office's value back into the row; where both changed, decide and report.

    `ids` are the existing records' ids (None for a new one); `key_of(row)` names a row for people.
    """
    fields = PATRON_FIELDS if record == "patron" else LOAN_FIELDS
    known = [i for i in ids if i is not None]
    pending = _pending(ctx.conn, record, known)
    current = _current(ctx.conn, record, known, fields) if pending else {}
    for row, line, record_id in zip(rows, lines, ids, strict=True):
        where = Where(record, key_of(row), line, row.pop("changed_at", None))
        if record_id is None:
            continue  # a new record: the back office has changed nothing of it
        for field in fields:
            entry = pending.get((record_id, field))
            if entry is not None:
                _settle(ctx, where, row, field, entry, current[record_id][field])


def _settle(ctx, where: Where, row: dict, field: str, entry: Pending, ours) -> None:
    """The table of docs/integration.md, "What wins when both changed", for one field."""
    theirs = as_text(row[field])
    if theirs == as_text(ours):
        _mark(ctx, entry.ids, "applied")  # the ILS's export shows the change: it has it
        return
    if theirs == entry.ils_knew:
        row[field] = ours  # the ILS has not applied it yet: not a conflict, only a lag
        return
    ils_wins = where.changed_at is not None and where.changed_at > entry.latest_at
    _report(ctx, {
        "line": where.line, "record": where.record, "record_key": where.key, "field": field,
        "ils_value": theirs, "back_office_value": as_text(ours), "ils_changed_at": where.changed_at,
        "change_id": entry.ids[-1], "winner": "ils" if ils_wins else "back_office",
    })
    if ils_wins:
        _mark(ctx, entry.ids, "overridden")
    else:
        row[field] = ours


def _pending(conn, record: str, record_ids: list[int]) -> dict[tuple[int, str], Pending]:
    j = schema.change_journal
    column = j.c.patron_id if record == "patron" else j.c.loan_id
    found: dict[tuple[int, str], Pending] = {}
    for chunk in db.chunks(sorted(record_ids)):
        query = (
            select(j.c.id, column.label("record_id"), j.c.field, j.c.old_value, j.c.at)
            .where(db.one_of_indexed(conn, column, chunk), j.c.record == record, j.c.ils_state == "pending")
            .order_by(j.c.id)
        )
        for row in conn.execute(query):
            key = (row.record_id, row.field)
            first = found.get(key)
            found[key] = Pending(
                ids=(*first.ids, row.id) if first else (row.id,),
                ils_knew=first.ils_knew if first else row.old_value,
                latest_at=row.at,
            )
    return found


def _current(conn, record: str, record_ids: list[int], fields) -> dict[int, dict]:
    table = schema.patrons if record == "patron" else schema.loans
    columns = [f for f in fields if f != "newsletter"]
    found = {}
    for chunk in db.chunks(sorted(record_ids)):
        query = select(table.c.id, *(table.c[f] for f in columns)).where(db.one_of_indexed(conn, table.c.id, chunk))
        found.update({row.id: dict(row._mapping) for row in conn.execute(query)})
    if "newsletter" in fields:
        for patron_id, classes in subscriptions_of(conn, record_ids).items():
            found.setdefault(patron_id, {})["newsletter"] = newsletter_text(classes)
    return found


def subscriptions_of(conn, patron_ids: list[int]) -> dict[int, list[str]]:
    """The subject classes each patron subscribes to (none: an empty list), as a field of the patron."""
    s = schema.newsletter_subscriptions
    found: dict[int, list[str]] = {i: [] for i in patron_ids}
    for chunk in db.chunks(sorted(patron_ids)):
        for row in conn.execute(select(s.c.patron_id, s.c.ndc_class).where(db.one_of_indexed(conn, s.c.patron_id, chunk))):
            found[row.patron_id].append(row.ndc_class)
    return found


def _mark(ctx, change_ids, state: str) -> None:
    j = schema.change_journal
    ctx.conn.execute(j.update().where(db.one_of_indexed(ctx.conn, j.c.id, sorted(change_ids)), j.c.ils_state == "pending")
                     .values(ils_state=state, ils_state_at=ctx.now))


def _report(ctx, conflict: dict) -> None:
    """One line for the import's result, and one row staff can list (once per change, ILS value and winner)."""
    c = schema.sync_conflicts
    theirs = conflict["ils_value"]
    seen = ctx.conn.execute(select(c.c.id).where(
        c.c.change_id == conflict["change_id"], c.c.winner == conflict["winner"],
        c.c.ils_value.is_(None) if theirs is None else c.c.ils_value == theirs,
    )).first()
    if seen is None:
        ctx.conn.execute(c.insert().values(at=ctx.now, source=str(ctx.state.get("source", "")), **conflict))
    ctx.state.setdefault("conflicts", []).append(conflict_line(conflict))


def conflict_line(row: dict) -> str:
    """A conflict as one line a person reads."""
    kept = row["ils_value"] if row["winner"] == "ils" else row["back_office_value"]
    why = ("the ILS changed the row after the back office" if row["winner"] == "ils"
           else "the ILS has not applied the back office's change yet")
    return (f"line {row['line']}: {row['record']} {row['record_key']} {row['field']}: ILS {row['ils_value']!r}, "
            f"back office {row['back_office_value']!r} (change {row['change_id']}): kept {kept!r}, because {why}")


def conflict_rows(conn, limit: int = 100) -> list[dict]:
    """The conflicts imports found, newest first, for `ils import conflicts`."""
    c = schema.sync_conflicts
    query = select(c.c.id, c.c.at, c.c.source, c.c.line, c.c.record, c.c.record_key, c.c.field, c.c.ils_value,
                   c.c.back_office_value, c.c.ils_changed_at, c.c.change_id, c.c.winner)
    return [dict(row._mapping) for row in conn.execute(query.order_by(c.c.id.desc()).limit(limit))]
