"""The change journal: every change the back office makes to a field the ILS also holds, written by one function, exported for the ILS."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ils.errors import IlsError
from ils.holds.lifecycle import HoldStatus as S
from ils.infra import db, schema
from ils.infra.context import Context
from ils.infra.i18n import _
from ils.infra.output import render
from ils.library.clock import parse_instant

# Hold transitions the ILS hears about: a hold made, and a hold closed. The steps in
# between (allocated, in transit, ready) are the back office's own business.
HOLD_EVENTS: dict[str, str] = {S.WAITING: "hold_placed", S.SERIES_WAITING: "hold_placed",
                               S.CANCELLED: "hold_cancelled", S.FULFILLED: "hold_filled", S.EXPIRED: "hold_expired"}


@dataclass(frozen=True)
class Change:
    """One field of one record changed by the back office; values as text (dates ISO, booleans yes/no)."""

    kind: str  # renewal, email_change, contact_change, enrolment, password, hold_placed...
    patron_id: int
    field: str
    old: object
    new: object
    loan_id: int | None = None
    hold_id: int | None = None
    always: bool = False  # an event even when the value is unchanged (a temporary password reissued)

    @property
    def record(self) -> str:
        return "hold" if self.hold_id is not None else "loan" if self.loan_id is not None else "patron"


def as_text(value) -> str | None:
    """A field's value as the journal and the export hold it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def newsletter_text(classes) -> str:
    """A patron's newsletter subject classes as the journal and patrons.csv hold them: `4,9`, or empty for none."""
    return ",".join(sorted(classes))


# change_journal's columns in the order record_changes builds its rows.
_JOURNAL_COLUMNS = ("at", "kind", "record", "patron_id", "loan_id", "hold_id", "field", "old_value", "new_value",
                    "actor", "run_id")


def record_changes(conn: Connection, changes: Iterable[Change], *, at: dt.datetime, actor: str,
                   run_id: int | None = None) -> int:
    """Write one journal row per change that really changed something, in the caller's transaction."""
    rows = []
    for c in changes:
        old, new = as_text(c.old), as_text(c.new)
        if c.always or old != new:
            rows.append((at, c.kind, c.record, c.patron_id, c.loan_id, c.hold_id, c.field, old, new, actor, run_id))
    db.insert_rows(conn, schema.change_journal, _JOURNAL_COLUMNS, rows)
    return len(rows)


def hold_event(from_status: str | None, to_status: str) -> str | None:
    """hold_placed for a new hold (from no status); hold_cancelled, _filled, _expired for a closing one;
    None for a change the ILS does not hear of."""
    event = HOLD_EVENTS.get(to_status)
    placed = from_status is None
    return event if (event == "hold_placed") == placed else None


def record_hold_transitions(conn: Connection, transitions, *, at: dt.datetime, actor: str,
                            run_id: int | None = None) -> None:
    """Journal the transitions that make or close a hold (see HOLD_EVENTS)."""
    wanted = [(event, t) for t in transitions if (event := hold_event(t.from_status, t.to_status))]
    if not wanted:
        return
    h = schema.holds
    patrons: dict[int, int] = {t.hold_id: t.patron_id for _key, t in wanted if t.patron_id is not None}
    for chunk in db.chunks(sorted({t.hold_id for _key, t in wanted} - patrons.keys())):
        patrons.update(dict(conn.execute(select(h.c.id, h.c.patron_id).where(db.one_of(conn, h.c.id, chunk))).all()))
    record_changes(
        conn,
        (Change(event, patrons[t.hold_id], "status", t.from_status, t.to_status, hold_id=t.hold_id)
         for event, t in wanted),
        at=at, actor=actor, run_id=run_id,
    )


# The export the ILS polls --------------------------------------------------------

EXPORT_COLUMNS = ("id", "at", "kind", "record", "card", "barcode", "bib_id", "hold_id", "field",
                  "old_value", "new_value", "actor")


class CannotEncode(IlsError):
    """An entry holds a character the chosen encoding cannot carry (CP932 has no 𠮷)."""

    code = "cannot_encode"


def parse_since(text: str) -> int | dt.datetime:
    """`--since`: the last journal id the ILS applied (digits), or a time (ISO 8601)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        return parse_instant(text)
    except ValueError:
        raise IlsError(_("--since {text!r} is neither a journal id (the last one the ILS applied) nor a time such "
                         "as 2026-11-26T04:00").format(text=text)) from None


def changes_since(ctx: Context, since: int | dt.datetime) -> list[dict]:
    """Every journal entry after `since`, oldest first. An id also acknowledges the entries up
    to it: the ILS has applied them, so a later change in the ILS to those fields is its own."""
    j, p, lo, c, h, t = (schema.change_journal, schema.patrons, schema.loans, schema.copies,
                         schema.holds, schema.titles)
    query = (
        select(j.c.id, j.c.at, j.c.kind, j.c.record, p.c.card_number.label("card"), c.c.barcode, t.c.bib_id,
               j.c.hold_id, j.c.field, j.c.old_value, j.c.new_value, j.c.actor)
        .join(p, p.c.id == j.c.patron_id)
        .outerjoin(lo, lo.c.id == j.c.loan_id).outerjoin(c, c.c.id == lo.c.copy_id)
        .outerjoin(h, h.c.id == j.c.hold_id).outerjoin(t, t.c.id == h.c.title_id)
        .where(j.c.id > since if isinstance(since, int) else j.c.at > since)
        .order_by(j.c.id)
    )
    with ctx.writing():
        if ctx.conn.dialect.name == "postgresql":
            # Waits for every transaction still writing entries (and for another export): an
            # id is exported only when every smaller id is committed or rolled back, so the
            # ILS's `--since` never skips one.
            ctx.conn.exec_driver_sql("LOCK TABLE change_journal IN SHARE ROW EXCLUSIVE MODE")
        rows = [dict(row._mapping) for row in ctx.conn.execute(query)]
        if isinstance(since, int):
            ctx.conn.execute(j.update().where(j.c.id <= since, j.c.ils_state == "pending")
                             .values(ils_state="applied", ils_state_at=ctx.now))
    return rows


def export_bytes(rows: list[dict], fmt: str, encoding: str) -> bytes:
    """The entries as CSV (through the one renderer) or JSON lines, in `encoding`."""
    out = io.StringIO()
    render(rows, "csv" if fmt == "csv" else "json", EXPORT_COLUMNS, stream=out)
    text = out.getvalue()
    if fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in json.loads(text))
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise CannotEncode(_("line {line} of the export has {text!r}, which {encoding} cannot hold: export with "
                             "--encoding utf-8").format(line=line, text=text[exc.start:exc.end], encoding=encoding)) from None
