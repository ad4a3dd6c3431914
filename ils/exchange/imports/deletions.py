"""What a row gone from an incremental ILS export means: `<kind>.deleted.csv` lists the keys, each kind says what a deletion does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, and_, bindparam, select

from ils.exchange.imports import fields as f
from ils.exchange.imports.kinds import BRANCH_CODE, Column, ImportContext, Kind, RowProblem
from ils.holds import lifecycle
from ils.infra import db, schema
from ils.infra.i18n import _

# A deletion file names a kind that may lose rows; branches and holds may not (a branch is
# closed in the calendar, a hold is the back office's), so their deletion files are refused.
NOT_DELETABLE = ("branches", "holds")


class Deletions(Kind):
    """A file of keys of `of`'s rows that the ILS no longer has; a key the database lacks is already done."""

    of: str

    @property
    def filename(self) -> str:
        return f"{self.of}.deleted.csv"

    def write(self, ctx, records, lines):
        self.remove(ctx, [r["id"] for r in records])

    def remove(self, ctx: ImportContext, ids: list[int]) -> None:
        raise NotImplementedError


def _referrers(table: Table, owned: tuple[Table, ...]) -> list[tuple[Table, Any]]:
    """Every (table, column) of the schema that refers to `table`'s id, except the rows it owns."""
    found = []
    for other in schema.metadata.sorted_tables:
        if other in owned:
            continue
        for fk in other.foreign_keys:
            if fk.column.table is table and other is not table:
                found.append((other, fk.parent))
    return found


def _still_referred(ctx, table: Table, owned: tuple[Table, ...], ids: list[int]) -> dict[int, list[str]]:
    """For each id that some other row still refers to, the names of the tables that do."""
    found: dict[int, list[str]] = {}
    for other, column in _referrers(table, owned):
        for chunk in db.chunks(sorted(ids)):
            query = select(column).where(db.one_of_indexed(ctx.conn, column, chunk)).group_by(column)
            for (record_id,) in ctx.conn.execute(query):
                found.setdefault(record_id, []).append(other.name)
    return found


class CalendarDeleted(Deletions):
    """A day override gone: the branch's weekly rules decide that day again."""

    of, name = "calendar", "calendar.deleted"
    columns = (Column("branch", BRANCH_CODE, required=True), Column("date", f.date, required=True))

    def resolve(self, ctx, rows):
        branches = ctx.ids(schema.branches, "code", {v["branch"] for _line, v in rows})
        return [{"branch_id": branches[v["branch"]], "day": v["date"]} if v["branch"] in branches else None
                for _line, v in rows]

    def write(self, ctx, records, lines):
        d = schema.branch_days
        stmt = d.delete().where(d.c.branch_id == bindparam("b"), d.c.day == bindparam("d"))
        ctx.conn.execute(stmt, [{"b": r["branch_id"], "d": r["day"]} for r in records])


class RoutesDeleted(Deletions):
    """A van route gone: the pair costs as much as an unlisted pair."""

    of, name = "routes", "routes.deleted"
    columns = (Column("from", BRANCH_CODE, required=True), Column("to", BRANCH_CODE, required=True))

    def resolve(self, ctx, rows):
        ids = ctx.ids(schema.branches, "code", {v[c] for _line, v in rows for c in ("from", "to")})
        return [{"a": ids[v["from"]], "b": ids[v["to"]]} if v["from"] in ids and v["to"] in ids else None
                for _line, v in rows]

    def write(self, ctx, records, lines):
        r = schema.routes
        stmt = r.delete().where(r.c.from_branch_id == bindparam("a"), r.c.to_branch_id == bindparam("b"))
        ctx.conn.execute(stmt, records)


class _DeletedUnlessReferred(Deletions):
    """Rows deleted with the rows they own, unless another row still refers to them."""

    table: Table
    owned: tuple[Table, ...]
    owner_column: str  # the owned tables' column naming the row
    key_column: str  # the row's column the file's key names

    def still_referred(self, key: str, tables: str) -> str:
        """Why a row still referred to by `tables` stays, in the staff's language."""
        raise NotImplementedError

    def resolve(self, ctx, rows):
        ids = ctx.ids(self.table, self.key_column, {v[self.key] for _line, v in rows})
        referred = _still_referred(ctx, self.table, self.owned, list(ids.values()))
        out: list = []
        for _line, v in rows:
            record_id = ids.get(v[self.key])
            if record_id in referred:
                out.append(RowProblem(self.key, self.still_referred(v[self.key], _and(referred[record_id]))))
            else:
                out.append(None if record_id is None else {"id": record_id})
        return out

    def remove(self, ctx, ids):
        for table in (*self.owned, self.table):
            column = table.c[self.owner_column] if table is not self.table else table.c.id
            for chunk in db.chunks(ids):
                ctx.conn.execute(table.delete().where(db.one_of_indexed(ctx.conn, column, chunk)))


class TitlesDeleted(_DeletedUnlessReferred):
    """A catalogue record gone: deleted, unless a copy (withdrawn ones too) or a hold still refers to it."""

    of, name = "titles", "titles.deleted"
    key = "bib_id"
    columns = (Column("bib_id", f.text(32), required=True),)
    owned = (schema.allocation_todo,)
    table, owner_column, key_column = schema.titles, "title_id", "bib_id"

    def still_referred(self, key, tables):
        return _("title {key!r} still has {tables}; a title is deleted after its last copy and hold").format(
            key=key, tables=tables)


class CopiesDeleted(Deletions):
    """A copy gone from the ILS is withdrawn (除籍): kept as `withdrawn` for the loans and holds that name it."""

    of, name = "copies", "copies.deleted"
    key = "barcode"
    columns = (Column("barcode", f.text(32), required=True),)

    def resolve(self, ctx, rows):
        c, lo, h = schema.copies, schema.loans, schema.holds
        barcodes = sorted({v["barcode"] for _line, v in rows})
        copies = dict(ctx.conn.execute(select(c.c.barcode, c.c.id).where(db.one_of_indexed(ctx.conn, c.c.barcode, barcodes))).all())
        ids = list(copies.values())
        on_loan = set(ctx.conn.execute(select(lo.c.copy_id).where(db.one_of_indexed(ctx.conn, lo.c.copy_id, sorted(ids)), lo.c.returned_at.is_(None)))
                      .scalars()) if ids else set()
        bound = dict(ctx.conn.execute(select(h.c.copy_id, h.c.status).where(
            db.one_of_indexed(ctx.conn, h.c.copy_id, sorted(ids)), h.c.status.in_(lifecycle.WITH_COPY))).all()) if ids else {}
        out: list = []
        for _line, v in rows:
            copy_id = copies.get(v["barcode"])
            if copy_id in on_loan:
                out.append(RowProblem("barcode", _("the copy is on loan; list its loan in loans.deleted.csv "
                                                   "(returned) before withdrawing it")))
            elif copy_id in bound:
                out.append(RowProblem("barcode", _("the copy serves a hold ({hold}); the hold must end before the copy "
                                                   "is withdrawn").format(hold=bound[copy_id])))
            else:
                out.append(None if copy_id is None else {"id": copy_id})
        return out

    def remove(self, ctx, ids):
        c = schema.copies
        for chunk in db.chunks(ids):
            ctx.conn.execute(c.update().where(db.one_of_indexed(ctx.conn, c.c.id, chunk)).values(state="withdrawn"))


class PatronsDeleted(_DeletedUnlessReferred):
    """A patron gone from the ILS is deleted with their subscriptions, unless loans, holds or mail still name them."""

    of, name = "patrons", "patrons.deleted"
    key = "card"
    columns = (Column("card", f.text(32), required=True),)
    owned = (schema.newsletter_subscriptions, schema.event_subscriptions)
    table, owner_column, key_column = schema.patrons, "patron_id", "card_number"

    def still_referred(self, key, tables):
        return _("patron {key!r} still has {tables}; export the patron as expired instead").format(key=key, tables=tables)


class LoansDeleted(Deletions):
    """An open loan gone from the ILS was returned: it ends now, and its copy, if still on loan, is on the shelf."""

    of, name = "loans", "loans.deleted"
    key = "barcode"
    columns = (Column("barcode", f.text(32), required=True),)

    def resolve(self, ctx, rows):
        c, lo = schema.copies, schema.loans
        barcodes = sorted({v["barcode"] for _line, v in rows})
        query = (select(c.c.barcode, lo.c.id).join(lo, and_(lo.c.copy_id == c.c.id, lo.c.returned_at.is_(None)))
                 .where(db.one_of_indexed(ctx.conn, c.c.barcode, barcodes)))
        loans = dict(ctx.conn.execute(query).all())
        return [{"id": loans[v["barcode"]]} if v["barcode"] in loans else None for _line, v in rows]

    def remove(self, ctx, ids):
        c, lo = schema.copies, schema.loans
        for chunk in db.chunks(ids):
            copies = select(lo.c.copy_id).where(db.one_of_indexed(ctx.conn, lo.c.id, chunk)).scalar_subquery()
            ctx.conn.execute(c.update().where(c.c.id.in_(copies), c.c.state == "on_loan").values(state="on_shelf"))
            ctx.conn.execute(lo.update().where(db.one_of_indexed(ctx.conn, lo.c.id, chunk)).values(returned_at=ctx.now))


def _and(names: list[str]) -> str:
    """The tables' names (loans, holds: as the schema names them), one list in the staff's language."""
    ordered = sorted(set(names))
    listed = ordered[0]
    for name in ordered[1:]:
        listed = _("{names} and {name}").format(names=listed, name=name)
    return listed


# Applied after every file of rows, in this order: a loan ends before its copy is
# withdrawn, a copy's title and a patron go last.
DELETIONS: dict[str, Deletions] = {
    kind.name: kind
    for kind in (LoansDeleted(), PatronsDeleted(), CopiesDeleted(), TitlesDeleted(), RoutesDeleted(),
                 CalendarDeleted())
}
