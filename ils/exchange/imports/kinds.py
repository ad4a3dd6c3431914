"""What each import file holds: its columns, its key, how a row is checked and how it is written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import repeat

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.engine import Connection

from ils.exchange.imports import bulk
from ils.exchange.imports import fields as f
from ils.exchange.imports.ownership import keep_back_office_changes, keep_registration, subscriptions_of
from ils.exchange.journal import newsletter_text
from ils.holds import lifecycle
from ils.holds.lifecycle import Event, default_contact
from ils.holds.lifecycle import HoldStatus as S
from ils.holds.lifecycle.store import insert_hold_columns, insert_holds, new_hold_columns, new_hold_row
from ils.infra import db, schema
from ils.infra.i18n import _
from ils.library.calendar import parse_weekdays, parse_year_end
from ils.library.policy import Policy


class RowProblem(ValueError):
    """One row cannot be imported; `column` names the culprit where there is one."""

    def __init__(self, column: str | None, message: str):
        self.column = column
        super().__init__(message)


@dataclass
class Columns:
    """A batch of good rows parsed a column at a time: each row's line, each column's values by name."""

    lines: list[int]
    values: dict[str, list]

    def __len__(self) -> int:
        return len(self.lines)

    def rows(self) -> list[tuple[int, dict]]:
        """The same rows one dict each, as a row-by-row parse gives them."""
        names = list(self.values)
        rows = zip(*self.values.values(), strict=True)
        return [(line, dict(zip(names, row, strict=True))) for line, row in zip(self.lines, rows, strict=True)]


@dataclass(frozen=True)
class Column:
    name: str
    parse: f.Parser
    required: bool = False
    default: object = None


@dataclass
class ImportContext:
    conn: Connection
    policy: Policy
    now: dt.datetime
    state: dict = field(default_factory=dict)
    progress: Callable[[str, int], None] | None = None

    def ids(self, table, key_column: str, keys: set) -> dict:
        """Map natural keys to ids for the keys given (one query per chunk; the few branches are read once per file)."""
        if not keys:
            return {}
        if table is schema.branches:
            if "branch_ids" not in self.state:
                self.state["branch_ids"] = dict(self.conn.execute(select(table.c.code, table.c.id)).all())
            known = self.state["branch_ids"]
            return {k: known[k] for k in keys if k in known}
        return bulk.lookup(self.conn, table, key_column, keys)

    def found_before(self, query) -> bool:
        """Whether `query` finds a row as the file begins: asked once per file (the state is
        cleared between files), before its first chunk writes any row of its own."""
        found = self.state.setdefault("found before", {})
        key = str(query)
        if key not in found:
            found[key] = self.conn.execute(query.limit(1)).first() is not None
        return found[key]

    def statement(self, name: str, make: Callable[[], bulk.Writer]) -> bulk.Writer:
        """A statement compiled once per file (the state is cleared between files)."""
        made = self.state.setdefault("bulk", {})
        if name not in made:
            made[name] = make()
        return made[name]


CATEGORY_ALIASES = {"禁帯": "reference_only", "課題": "contest", "期禁": "current_issue", "一般": "normal"}
BRANCH_CODE = f.text(32)  # a reference to a branch: the lookup says whether it exists
# Where a code is defined it must also be usable as the name of its reports folder.
NEW_BRANCH_CODE = f.folder_name(32)


def ndc_classes(value: str) -> tuple[str, ...]:
    """`9,4` (or `9 4`, `9;4`): the NDC classes 0-9 of Kitami's 新着図書案内."""
    classes = sorted(set(value.replace(",", " ").replace(";", " ").split()))
    if any(c not in "0123456789" or len(c) != 1 for c in classes):
        raise ValueError(_("{value!r} is not a list of NDC classes 0-9").format(value=value))
    return tuple(classes)


# The widths of the branches' columns: a value that parses but would not fit is refused here.
_AS_STORED_WEEKDAYS, _AS_STORED_YEAR_END = f.text(32), f.text(16)


def _weekdays(value: str) -> str:
    parse_weekdays(value)
    return _AS_STORED_WEEKDAYS(value.strip().lower().replace(" ", ","))


def _year_end(value: str) -> str:
    parse_year_end(value)
    return _AS_STORED_YEAR_END(value.strip())


class Kind:
    """Base of the import kinds; subclasses set the columns and how rows are written."""

    name: str
    columns: Sequence[Column]
    key: str | None = None  # the file's column that must be unique
    table: Table | None = None  # written by upsert on `upsert_key` unless write() is overridden
    upsert_key: tuple[str, ...] = ()
    # Indexes of `indexed_table` that neither this file's checks nor its writes read: built
    # after the rows when the table starts empty (bulk.indexes_built_after).
    indexes_built_after: tuple[str, ...] = ()
    # Rows a first load (`indexed_table` empty as the file begins) gathers, chunk by good chunk,
    # before write_columns checks and writes them at once; 0: a chunk at a time.
    first_load_window: int = 0

    @property
    def indexed_table(self) -> Table | None:
        return self.table

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    def resolve(self, ctx: ImportContext, rows: list[tuple[int, dict]]) -> list:
        """Turn parsed rows into table rows; return a RowProblem in place of a bad one."""
        return [self.to_record(ctx, values) for _line, values in rows]

    def to_record(self, ctx: ImportContext, values: dict) -> dict | RowProblem:
        return values

    def write_columns(self, ctx: ImportContext, chunk: Columns) -> bool:
        """Check and write a chunk of parsed rows a column at a time, with no dict per row; False,
        having written nothing, where this kind has no such path or any row has a problem (the
        chunk then goes through resolve() and write(), which name each problem)."""
        return False

    def write(self, ctx: ImportContext, records: list[dict], lines: list[int]) -> None:
        """Write checked records (with the line each came from); a row the database already holds as is is not rewritten."""
        _upsert(ctx, self.table, records, self.upsert_key)

    def finish(self, ctx: ImportContext) -> list[tuple[int, RowProblem]]:
        """Work that needs the whole file written (e.g. links between its rows)."""
        return []


def _upsert(ctx: ImportContext, table, records: list[dict], key: Sequence[str]) -> None:
    if records:
        columns = list(records[0])
        ctx.statement(f"upsert {table.name}", lambda: bulk.upsert(ctx.conn, table, columns, key)).run(records)


def _upsert_columns(ctx: ImportContext, table, columns: dict[str, list], key: Sequence[str]) -> None:
    """_upsert of rows given a column at a time (the same statement as for their dicts)."""
    names = list(columns)
    ctx.statement(f"upsert {table.name}", lambda: bulk.upsert(ctx.conn, table, names, key)).run_columns(
        list(columns.values()))


def _lookup(ctx, rows, table, key_column, column):
    keys = {values[column] for _line, values in rows if values.get(column)}
    return ctx.ids(table, key_column, keys)


def _missing(column: str, what: str, value) -> RowProblem:
    """No row of `what` (branch, title, copy with barcode, patron with card) has this key."""
    said = {"branch": _("no branch {value!r}"), "title": _("no title {value!r}"),
            "copy with barcode": _("no copy with barcode {value!r}"), "patron with card": _("no patron with card {value!r}")}
    return RowProblem(column, said[what].format(value=value))


class Branches(Kind):
    name = "branches"
    key = "code"
    columns = (
        Column("code", NEW_BRANCH_CODE, required=True),
        Column("name", f.text(100), required=True),
        Column("kind", f.one_of(schema.BRANCH_KINDS), required=True),
        Column("parent", BRANCH_CODE),
        Column("pickup", f.yes_no, default=True),
        Column("closed_weekdays", _weekdays),
        Column("national_holidays", f.one_of(("open", "closed"))),
        Column("closed_weekday_on_holiday", f.one_of(("closed", "open", "next_weekday"))),
        Column("year_end_closure", _year_end),
        Column("phone", f.text(32)),
        Column("sort_order", f.integer(), default=0),
    )

    def to_record(self, ctx, values):
        if values["kind"] == "station" and not values.get("parent"):
            return RowProblem("parent", _("a bookmobile station needs the library that serves it"))
        if values.get("parent") == values["code"]:
            return RowProblem("parent", _("a branch cannot be its own parent"))
        return values

    def write(self, ctx, records, lines):
        links = ctx.state.setdefault("parents", [])
        rows = []
        for record, line in zip(records, lines, strict=True):
            parent = record.pop("parent")
            if parent:
                links.append((line, record["code"], parent))
            record["pickup_allowed"] = record.pop("pickup")
            rows.append(record)
        _upsert(ctx, schema.branches, rows, ["code"])

    def finish(self, ctx):
        b = schema.branches
        links = ctx.state.get("parents", [])
        codes = {code for _line, code, _parent in links} | {parent for _line, _code, parent in links}
        ids = ctx.ids(b, "code", codes)
        problems = []
        for line, code, parent in links:
            if parent not in ids:
                problems.append((line, _missing("parent", "branch", parent)))
                continue
            ctx.conn.execute(b.update().where(b.c.code == code).values(parent_id=ids[parent]))
        return problems


class CalendarDays(Kind):
    name = "calendar"
    table = schema.branch_days
    upsert_key = ("branch_id", "day")
    columns = (
        Column("branch", BRANCH_CODE, required=True),
        Column("date", f.date, required=True),
        Column("state", f.one_of(("open", "closed")), required=True),
        Column("note", f.text(200)),
    )

    def resolve(self, ctx, rows):
        branch_ids = _lookup(ctx, rows, schema.branches, "code", "branch")
        out = []
        for _line, v in rows:
            if v["branch"] not in branch_ids:
                out.append(_missing("branch", "branch", v["branch"]))
                continue
            out.append(
                {
                    "branch_id": branch_ids[v["branch"]],
                    "day": v["date"],
                    "is_open": v["state"] == "open",
                    "note": v.get("note"),
                }
            )
        return out


class Routes(Kind):
    name = "routes"
    table = schema.routes
    upsert_key = ("from_branch_id", "to_branch_id")
    columns = (
        Column("from", BRANCH_CODE, required=True),
        Column("to", BRANCH_CODE, required=True),
        Column("cost", f.integer(0), required=True),
    )

    def resolve(self, ctx, rows):
        codes = {v[c] for _line, v in rows for c in ("from", "to")}
        ids = ctx.ids(schema.branches, "code", codes)
        out = []
        for _line, v in rows:
            unknown = next((c for c in ("from", "to") if v[c] not in ids), None)
            if unknown:
                out.append(_missing(unknown, "branch", v[unknown]))
            elif v["from"] == v["to"]:
                out.append(RowProblem("to", _("a route needs two different branches")))
            else:
                out.append(
                    {"from_branch_id": ids[v["from"]], "to_branch_id": ids[v["to"]], "cost": v["cost"]}
                )
        return out


class Titles(Kind):
    name = "titles"
    table = schema.titles
    upsert_key = ("bib_id",)
    key = "bib_id"
    indexes_built_after = ("ix_titles_series_id_volume",)
    columns = (
        Column("bib_id", f.text(32), required=True),
        Column("title", f.text(500), required=True),
        Column("author", f.text(300)),
        Column("publisher", f.text(200)),
        Column("material_type", f.one_of(schema.MATERIAL_TYPES), required=True),
        Column(
            "category",
            f.one_of(schema.HANDLING_CATEGORIES, CATEGORY_ALIASES),
            default="normal",
        ),
        Column("ndc", f.text(16)),
        Column("series_id", f.text(32)),
        Column("volume", f.integer(0)),
        Column("volume_label", f.text(32)),
        Column("catalogued_on", f.date),
    )

    def to_record(self, ctx, values):
        if values.get("series_id") and values.get("volume") is None:
            return RowProblem("volume", _("a title in a series needs its volume number"))
        return values

    def write_columns(self, ctx, chunk):
        values = chunk.values
        if any(series and volume is None for series, volume in zip(values["series_id"], values["volume"], strict=True)):
            return False
        _upsert_columns(ctx, self.table, values, self.upsert_key)
        return True


class Copies(Kind):
    name = "copies"
    table = schema.copies
    upsert_key = ("barcode",)
    key = "barcode"
    indexes_built_after = ("ix_copies_title_id_state", "ix_copies_state_location_branch_id")
    columns = (
        Column("barcode", f.code(32), required=True),
        Column("bib_id", f.text(32), required=True),
        Column("owning_branch", BRANCH_CODE, required=True),
        Column("location_branch", BRANCH_CODE),
        Column("shelf_mark", f.text(64)),
        Column("state", f.one_of(schema.COPY_STATES), default="on_shelf"),
    )

    def resolve(self, ctx, rows):
        titles = _lookup(ctx, rows, schema.titles, "bib_id", "bib_id")
        codes = {v[c] for _line, v in rows for c in ("owning_branch", "location_branch") if v.get(c)}
        branches = ctx.ids(schema.branches, "code", codes)
        out = []
        for _line, v in rows:
            location = v.get("location_branch") or v["owning_branch"]
            if v["bib_id"] not in titles:
                out.append(_missing("bib_id", "title", v["bib_id"]))
            elif v["owning_branch"] not in branches:
                out.append(_missing("owning_branch", "branch", v["owning_branch"]))
            elif location not in branches:
                out.append(_missing("location_branch", "branch", location))
            else:
                out.append(
                    {
                        "barcode": v["barcode"],
                        "title_id": titles[v["bib_id"]],
                        "owning_branch_id": branches[v["owning_branch"]],
                        "location_branch_id": branches[location],
                        "shelf_mark": v.get("shelf_mark"),
                        "state": v["state"],
                    }
                )
        return out

    def write_columns(self, ctx, chunk):
        v = chunk.values
        titles = ctx.ids(schema.titles, "bib_id", set(v["bib_id"]))
        owning = v["owning_branch"]
        location = [code or owner for code, owner in zip(v["location_branch"], owning, strict=True)]
        branches = ctx.ids(schema.branches, "code", {*owning, *location})
        title_ids = list(map(titles.get, v["bib_id"]))
        owning_ids = list(map(branches.get, owning))
        location_ids = list(map(branches.get, location))
        if None in title_ids or None in owning_ids or None in location_ids:
            return False
        _upsert_columns(ctx, self.table, {
            "barcode": v["barcode"], "title_id": title_ids, "owning_branch_id": owning_ids,
            "location_branch_id": location_ids, "shelf_mark": v["shelf_mark"], "state": v["state"],
        }, self.upsert_key)
        return True


class Patrons(Kind):
    name = "patrons"
    table = schema.patrons
    upsert_key = ("card_number",)
    key = "card"
    columns = (
        Column("card", f.code(32), required=True),
        Column("name", f.text(100), required=True),
        Column("name_kana", f.text(100)),
        Column("birth_date", f.date),
        Column("phone", f.text(32)),
        Column("email", f.text(254)),
        Column("contact_method", f.one_of(schema.CONTACT_METHODS), default="none"),
        Column("home_branch", BRANCH_CODE),
        Column("status", f.one_of(schema.PATRON_STATUSES), default="active"),
        Column("web_registered", f.yes_no),  # blank: unchanged (no for a new patron)
        Column("language", f.one_of(("ja", "en")), default="ja"),
        Column("registered_on", f.date),
        Column("newsletter", ndc_classes, default=()),
        Column("changed_at", f.instant),  # when the ILS last changed the row (docs/integration.md)
    )

    def write(self, ctx, records, lines):
        for r in records:  # compared, and kept, as the journal holds them (a subscription from the web)
            r["newsletter"] = newsletter_text(r["newsletter"])
        known = ctx.ids(schema.patrons, "card_number", {r["card_number"] for r in records})
        keep_registration(ctx, records, known)
        keep_back_office_changes(ctx, "patron", records, lines, [known.get(r["card_number"]) for r in records],
                                 key_of=lambda r: r["card_number"])
        subscriptions = {r["card_number"]: r.pop("newsletter") for r in records}
        _upsert(ctx, schema.patrons, records, ["card_number"])
        ids = ctx.ids(schema.patrons, "card_number", set(subscriptions))
        current = {i: newsletter_text(classes) for i, classes in subscriptions_of(ctx.conn, list(ids.values())).items()}
        changed = {ids[card]: text for card, text in subscriptions.items() if current.get(ids[card]) != text}
        if changed:
            s = schema.newsletter_subscriptions
            ctx.conn.execute(s.delete().where(db.one_of_indexed(ctx.conn, s.c.patron_id, list(changed))))
            _subscribe(ctx, changed)

    def write_columns(self, ctx, chunk):
        # The first load's path: no patron in the table as the file began, so every row is a new
        # patron (a card is on one line of the file), whom the back office has changed nothing
        # of, enrolled on the web only if the file says so, subscribed to nothing yet. Over
        # known patrons (tonight's re-import) every chunk goes row by row, as before.
        p = schema.patrons
        if ctx.found_before(select(p.c.id)):
            return False
        v = chunk.values
        homes = v["home_branch"]
        branches = ctx.ids(schema.branches, "code", {code for code in homes if code})
        if any(code and code not in branches for code in homes):
            return False
        for method, needed in (("email", v["email"]), ("phone", v["phone"])):
            if any(m == method and not value for m, value in zip(v["contact_method"], needed, strict=True)):
                return False
        columns = {name: values for name, values in v.items()
                   if name not in ("card", "home_branch", "newsletter", "changed_at")}
        columns["web_registered"] = [False if enrolled is None else enrolled for enrolled in v["web_registered"]]
        columns["card_number"] = v["card"]
        columns["home_branch_id"] = [branches.get(code) for code in homes]
        _upsert_columns(ctx, p, columns, self.upsert_key)
        none = newsletter_text(())
        subscribed = [(card, text) for card, text in zip(v["card"], map(newsletter_text, v["newsletter"]), strict=True)
                      if text != none]
        ids = ctx.ids(p, "card_number", {card for card, _text in subscribed})
        _subscribe(ctx, {ids[card]: text for card, text in subscribed})
        return True

    def resolve(self, ctx, rows):
        branches = _lookup(ctx, rows, schema.branches, "code", "home_branch")
        out = []
        for _line, v in rows:
            home = v.pop("home_branch", None)
            if home and home not in branches:
                out.append(_missing("home_branch", "branch", home))
                continue
            if v["contact_method"] == "email" and not v.get("email"):
                out.append(RowProblem("contact_method", _("contact by email needs an email address")))
                continue
            if v["contact_method"] == "phone" and not v.get("phone"):
                out.append(RowProblem("contact_method", _("contact by phone needs a phone number")))
                continue
            v["card_number"] = v.pop("card")
            v["home_branch_id"] = branches.get(home)
            out.append(v)
        return out


def _copies_by_barcode(ctx, rows):
    barcodes = {v["barcode"] for _line, v in rows if v.get("barcode")}
    if not barcodes:
        return {}
    return {row.barcode: row for row in bulk.find(ctx.conn, schema.copies, "barcode", barcodes, ("id", "title_id", "state"))}


def _subscribe(ctx, texts: dict[int, str]) -> None:
    """Each patron's newsletter subscriptions written, one row per NDC class of its text (newsletter_text)."""
    rows = [{"patron_id": i, "ndc_class": c} for i, text in texts.items() for c in text.split(",") if c]
    if rows:
        ctx.conn.execute(schema.newsletter_subscriptions.insert(), rows)


class Loans(Kind):
    name = "loans"
    key = "barcode"
    indexed_table = schema.loans
    indexes_built_after = ("ix_loans_patron_id_returned_at",)  # a loan is found by its copy
    # A first load's loans are checked and written a million at a time, each step in the copies'
    # order (write_columns): a loan file comes in the ILS's order, random over the copies.
    first_load_window = 1_000_000
    columns = (
        Column("barcode", f.code(32), required=True),
        Column("card", f.code(32), required=True),
        Column("loaned_on", f.date, required=True),
        Column("due_on", f.date, required=True),
        Column("renewals", f.integer(0), default=0),
        Column("inter_library", f.yes_no, default=False),
        Column("branch", BRANCH_CODE),
        Column("changed_at", f.instant),  # when the ILS last changed the loan (docs/integration.md)
    )

    def resolve(self, ctx, rows):
        copies = _copies_by_barcode(ctx, rows)
        patrons = _lookup(ctx, rows, schema.patrons, "card_number", "card")
        branches = _lookup(ctx, rows, schema.branches, "code", "branch")
        open_loans = self._open_loans(ctx, [c.id for c in copies.values()])
        out = []
        for _line, v in rows:
            copy = copies.get(v["barcode"])
            if copy is None:
                out.append(_missing("barcode", "copy with barcode", v["barcode"]))
            elif v["card"] not in patrons:
                out.append(_missing("card", "patron with card", v["card"]))
            elif v.get("branch") and v["branch"] not in branches:
                out.append(_missing("branch", "branch", v["branch"]))
            elif v["due_on"] < v["loaned_on"]:
                out.append(RowProblem("due_on", _("due before it was lent")))
            elif copy.id in open_loans and open_loans[copy.id][1] != patrons[v["card"]]:
                out.append(RowProblem("barcode", _("the copy is already on loan to another patron")))
            else:
                out.append(
                    {
                        "loan_id": open_loans.get(copy.id, (None,))[0],
                        "copy_id": copy.id,
                        "patron_id": patrons[v["card"]],
                        "branch_id": branches.get(v.get("branch")),
                        "loaned_on": v["loaned_on"],
                        "due_on": v["due_on"],
                        "renewals": v["renewals"],
                        "inter_library": v["inter_library"],
                        "barcode": v["barcode"],
                        "changed_at": v.get("changed_at"),
                    }
                )
        return out

    def write_columns(self, ctx, chunk):
        # The first load's path: no loan open when the file began, so every loan of the file is
        # new (a copy's barcode is on one line of it) and the back office has changed none of
        # them. Over open loans (tonight's re-import) every chunk goes row by row, as before.
        lo, c = schema.loans, schema.copies
        if ctx.found_before(select(lo.c.id).where(lo.c.returned_at.is_(None))):
            return False
        v = chunk.values
        # A window of a million loans (first_load_window) over a prefecture's 20.8M copies: looked
        # up in the barcodes' order (bulk.find sorts the keys), then written in the copies' order,
        # so that the copies' index and table pages are each read once for all the loans on them,
        # not once a loan in the file's order (the B-tree walks were most of the loans' cost).
        copies = ctx.ids(c, "barcode", set(v["barcode"]))  # the barcode's unique index holds the id
        patrons = ctx.ids(schema.patrons, "card_number", set(v["card"]))
        branches = ctx.ids(schema.branches, "code", {code for code in v["branch"] if code})
        copy_ids = list(map(copies.get, v["barcode"]))
        patron_ids = list(map(patrons.get, v["card"]))
        if None in copy_ids or None in patron_ids or any(code and code not in branches for code in v["branch"]):
            return False
        if any(due < lent for due, lent in zip(v["due_on"], v["loaned_on"], strict=True)):
            return False
        # Each loan keeps the id the file's order gives it (as a chunk at a time wrote them).
        ids = db.new_ids(ctx.conn, lo, len(copy_ids))
        order = sorted(range(len(copy_ids)), key=copy_ids.__getitem__)
        columns = [ids, copy_ids, patron_ids, [branches.get(code) for code in v["branch"]], v["loaned_on"],
                   v["due_on"], v["renewals"], v["inter_library"]]
        names = ["id", "copy_id", "patron_id", "branch_id", "loaned_on", "due_on", "renewals", "inter_library"]
        ctx.statement("insert loans by copy", lambda: bulk.insert(ctx.conn, lo, names)).run_columns(
            [[column[i] for i in order] for column in columns])
        ctx.conn.execute(c.update().where(db.one_of_indexed(ctx.conn, c.c.id, sorted(copy_ids)), c.c.state != "on_loan")
                         .values(state="on_loan"))
        return True

    def _open_loans(self, ctx, copy_ids):
        if not copy_ids:
            return {}
        lo = schema.loans
        query = select(lo.c.copy_id, lo.c.id, lo.c.patron_id).where(
            db.one_of_indexed(ctx.conn, lo.c.copy_id, copy_ids), lo.c.returned_at.is_(None)
        )
        return {row.copy_id: (row.id, row.patron_id) for row in ctx.conn.execute(query)}

    def write(self, ctx, records, lines):
        lo, c = schema.loans, schema.copies
        keep_back_office_changes(ctx, "loan", records, lines, [r["loan_id"] for r in records],
                                 key_of=lambda r: r["barcode"])
        new, existing = [], []
        for r in records:
            r.pop("barcode")
            loan_id = r.pop("loan_id")
            (existing if loan_id else new).append({**r, "id": loan_id} if loan_id else r)
        if new:
            ctx.statement("insert loans", lambda: bulk.insert(ctx.conn, lo, list(new[0]))).run(new)
        if existing:
            for r in existing:
                r["_id"] = r.pop("id")
            columns = [name for name in existing[0] if name != "_id"]
            ctx.statement("update loans", lambda: bulk.update(ctx.conn, lo, columns, only_changed=True)).run(existing)
        copy_ids = [r["copy_id"] for r in records]
        ctx.conn.execute(c.update().where(db.one_of_indexed(ctx.conn, c.c.id, copy_ids), c.c.state != "on_loan").values(state="on_loan"))


HOLD_IMPORT_STATUSES = lifecycle.ACTIVE
COPY_STATE_FOR_HOLD = {S.ALLOCATED: "on_shelf", S.IN_TRANSIT: "in_transit", S.READY: "on_hold_shelf"}


class Holds(Kind):
    name = "holds"
    indexed_table = schema.holds
    # Its checks read holds by patron and by copy (_active_holds) only over holds already there,
    # where nothing is dropped; a first load's rivals are this file's own, kept in memory (_held),
    # so those two indexes are built after it too. uq_holds_active_copy decides conflicts: it stays.
    indexes_built_after = ("ix_holds_title_id_status_queue_day_queue_class_queued_at",
                           "ix_holds_pickup_branch_id_status", "ix_holds_status_closed_at",
                           "ix_holds_created_at_channel_pickup_branch_id",
                           "ix_holds_patron_id_status_series_group_series_position", "ix_holds_copy_id")
    columns = (
        Column("card", f.code(32), required=True),
        Column("bib_id", f.text(32), required=True),
        Column("pickup", BRANCH_CODE, required=True),
        Column("status", f.one_of(HOLD_IMPORT_STATUSES), required=True),
        Column("queued_at", f.instant, required=True),
        Column("channel", f.one_of(schema.CHANNELS), default="counter"),
        Column("contact_method", f.one_of(schema.CONTACT_METHODS)),
        Column("series_group", f.text(64)),
        Column("series_position", f.integer(1)),
        Column("barcode", f.code(32)),
        Column("ready_on", f.date),
        Column("pickup_deadline", f.date),
    )

    def resolve(self, ctx, rows):
        patrons = self._patrons(ctx, rows)
        titles = _lookup(ctx, rows, schema.titles, "bib_id", "bib_id")
        branches = _lookup(ctx, rows, schema.branches, "code", "pickup")
        copies = _copies_by_barcode(ctx, rows)
        held = self._active_holds(ctx, patrons, copies)
        out: list = []
        for _line, v in rows:
            patron = patrons.get(v["card"])
            copy = copies.get(v.get("barcode"))
            problem = self._check(v, patron, titles, branches, copy, copies)
            if problem is None:
                pair = (patron.id, titles[v["bib_id"]])
                record = self._record(ctx, v, patron, titles, branches, copy)
                if held["imported"].get(pair) == record["queued_at"]:
                    out.append(None)  # imported before: the back office owns it since
                    continue
                if pair in held["pairs"]:
                    problem = RowProblem("bib_id", _("the patron already holds this title"))
                elif copy is not None and copy.id in held["copies"]:
                    problem = RowProblem("barcode", _("the copy already serves another hold"))
                else:
                    held["pairs"].add(pair)
                    if copy is not None:
                        held["copies"].add(copy.id)
            out.append(problem or record)
        return out

    def _check(self, v, patron, titles, branches, copy, copies):
        if patron is None:
            return _missing("card", "patron with card", v["card"])
        if v["bib_id"] not in titles:
            return _missing("bib_id", "title", v["bib_id"])
        if v["pickup"] not in branches:
            return _missing("pickup", "branch", v["pickup"])
        if bool(v.get("series_group")) != (v.get("series_position") is not None):
            return RowProblem("series_position", _("series_group and series_position go together"))
        needs_copy = v["status"] in COPY_STATE_FOR_HOLD
        if needs_copy and not v.get("barcode"):
            return RowProblem("barcode", _("a {status} hold needs the copy's barcode").format(status=v["status"]))
        if not needs_copy and v.get("barcode"):
            return RowProblem("barcode", _("a {status} hold has no copy yet").format(status=v["status"]))
        if needs_copy and copy is None:
            return _missing("barcode", "copy with barcode", v["barcode"])
        if copy is not None and copy.title_id != titles[v["bib_id"]]:
            return RowProblem("barcode", _("the copy is not a copy of this title"))
        if v["status"] == S.ALLOCATED and copy.state != "on_shelf":
            return RowProblem("barcode", _("an allocated copy must be on the shelf, not {state}").format(state=copy.state))
        if v["status"] == S.READY and not (v.get("ready_on") and v.get("pickup_deadline")):
            return RowProblem("pickup_deadline", _("a ready hold needs ready_on and pickup_deadline"))
        return None

    def _record(self, ctx, v, patron, titles, branches, copy):
        return new_hold_row(
            ctx.policy, patron_id=patron.id, title_id=titles[v["bib_id"]], pickup_branch_id=branches[v["pickup"]],
            contact_method=default_contact(v.get("contact_method"), patron, None),
            channel=v["channel"], received_at=v["queued_at"], status=v["status"],
            series_group=v.get("series_group"), series_position=v.get("series_position"),
            copy_id=copy.id if copy is not None else None, allocated_at=ctx.now if copy is not None else None,
            ready_on=v.get("ready_on"), pickup_deadline=v.get("pickup_deadline"), placed_by="import",
            created_at=ctx.now,
        )

    def _patrons(self, ctx, rows):
        cards = {v["card"] for _line, v in rows}
        found = bulk.find(ctx.conn, schema.patrons, "card_number", cards, ("id", "contact_method"))
        return {row.card_number: row for row in found}

    def _active_holds(self, ctx, patrons, copies):
        """Active (patron, title) pairs and bound copies, from the database and this file so far;
        and when each pair's hold in the database was received (the same row imported again is no new hold)."""
        held = _held(ctx)
        h = schema.holds
        if not ctx.found_before(select(h.c.id)):
            # A first load: the table held no hold as the file began, and a patron or copy first
            # seen in this chunk has none of this file's earlier holds either (0.4 s of the city's).
            return held
        # A patron or copy read for an earlier chunk is not read again: since then only this
        # file's rows were written, and write() noted each of them here.
        patron_ids = [p.id for p in patrons.values() if p.id not in held["patrons read"]]
        held["patrons read"].update(patron_ids)
        if patron_ids:
            query = select(h.c.patron_id, h.c.title_id, h.c.queued_at).where(
                h.c.status.in_(lifecycle.ACTIVE), h.c.patron_id.in_(patron_ids)
            )
            for patron_id, title_id, queued_at in ctx.conn.execute(query):
                held["pairs"].add((patron_id, title_id))
                held["imported"][(patron_id, title_id)] = queued_at
        copy_ids = [c.id for c in copies.values() if c.id not in held["copies read"]]
        held["copies read"].update(copy_ids)
        if copy_ids:
            query = select(h.c.copy_id).where(
                h.c.status.in_(lifecycle.WITH_COPY), h.c.copy_id.in_(copy_ids)
            )
            held["copies"].update(ctx.conn.execute(query).scalars())
        return held

    def write_columns(self, ctx, chunk):
        # The first load's path: no hold in the table as the file began, so a hold's only rivals
        # are this file's (its patron and title, its copy), noted in `held` as the row path
        # notes them. Any row resolve() would refuse or skip sends the chunk row by row, which
        # names it; over holds already there (tonight's re-import) every chunk goes that way.
        if ctx.found_before(select(schema.holds.c.id)):
            return False
        v = chunk.values
        found = self._found(ctx, v)
        if found is None:
            return False
        patrons, title_ids, branch_ids, copies = found
        held = _held(ctx)
        pairs = list(zip([patron.id for patron in patrons], title_ids, strict=True))
        copy_ids = [copy.id for copy in copies if copy is not None]
        if (len(set(pairs)) != len(pairs) or not held["pairs"].isdisjoint(pairs)
                or len(set(copy_ids)) != len(copy_ids) or not held["copies"].isdisjoint(copy_ids)):
            return False
        columns = new_hold_columns(
            ctx.policy, patron_id=[pair[0] for pair in pairs], title_id=title_ids, pickup_branch_id=branch_ids,
            contact_method=list(map(default_contact, v["contact_method"], patrons, repeat(None))),
            channel=v["channel"], received_at=v["queued_at"], status=v["status"],
            series_group=v["series_group"], series_position=v["series_position"],
            copy_id=[copy.id if copy is not None else None for copy in copies],
            allocated_at=[ctx.now if copy is not None else None for copy in copies],
            ready_on=v["ready_on"], pickup_deadline=v["pickup_deadline"], placed_by="import", created_at=ctx.now,
        )
        insert_hold_columns(ctx.conn, Event.IMPORT, columns)
        held["pairs"].update(pairs)
        held["copies"].update(copy_ids)
        held["imported"].update(zip(pairs, v["queued_at"], strict=True))
        self._move_copies(ctx, v["status"], copies, branch_ids)
        return True

    def _found(self, ctx, v):
        """Each row's patron, title id, pickup branch id and copy (None: no barcode), as _check
        finds them; None if any row fails one of _check's tests."""
        cards, barcodes = v["card"], v["barcode"]
        found = bulk.find(ctx.conn, schema.patrons, "card_number", set(cards), ("id", "contact_method"))
        patrons = list(map({row.card_number: row for row in found}.get, cards))
        titles = ctx.ids(schema.titles, "bib_id", set(v["bib_id"]))
        title_ids = list(map(titles.get, v["bib_id"]))
        branches = ctx.ids(schema.branches, "code", set(v["pickup"]))
        branch_ids = list(map(branches.get, v["pickup"]))
        if any(patron is None for patron in patrons) or None in title_ids or None in branch_ids:
            return None
        if any(bool(group) != (position is not None)
               for group, position in zip(v["series_group"], v["series_position"], strict=True)):
            return None
        listed = {barcode for barcode in barcodes if barcode}
        by_barcode = {row.barcode: row for row in bulk.find(
            ctx.conn, schema.copies, "barcode", listed, ("id", "title_id", "state", "location_branch_id"))} if listed else {}
        copies = [by_barcode.get(barcode) if barcode else None for barcode in barcodes]
        for status, barcode, copy, title_id, ready_on, deadline in zip(
                v["status"], barcodes, copies, title_ids, v["ready_on"], v["pickup_deadline"], strict=True):
            if (status in COPY_STATE_FOR_HOLD) != bool(barcode):
                return None
            if barcode and (copy is None or copy.title_id != title_id):
                return None
            if status == S.ALLOCATED and copy.state != "on_shelf":
                return None
            if status == S.READY and not (ready_on and deadline):
                return None
        return patrons, title_ids, branch_ids, copies

    def _move_copies(self, ctx, statuses, copies, branch_ids):
        """The chunk's copies moved as write() moves them, by one statement: each to its hold's
        state, a ready hold's to its pickup branch; a copy already so (an allocated one on the
        shelf) is not rewritten."""
        moved = [(copy.id, COPY_STATE_FOR_HOLD[status], branch if status == S.READY else copy.location_branch_id)
                 for status, copy, branch in zip(statuses, copies, branch_ids, strict=True) if copy is not None]
        if moved:
            ids, states, locations = map(list, zip(*moved, strict=True))
            ctx.statement("move copies", lambda: bulk.update(
                ctx.conn, schema.copies, ["state", "location_branch_id"], only_changed=True)).run_columns(
                [states, locations, ids])

    def write(self, ctx, records, lines):
        c = schema.copies
        # The ILS's holds come in as they stand there, with no history row of ours.
        insert_holds(ctx.conn, Event.IMPORT, records, None, at=ctx.now, run_id=None, actor="import")
        imported = ctx.state["held"]["imported"]
        for r in records:  # as a later chunk would read them back (_active_holds)
            imported[(r["patron_id"], r["title_id"])] = r["queued_at"]
        moved = [
            {
                "copy": r["copy_id"],
                "new_state": COPY_STATE_FOR_HOLD[r["status"]],
                "at": r["pickup_branch_id"] if r["status"] == S.READY else None,
            }
            for r in records
            if r["copy_id"] is not None
        ]
        if moved:
            stmt = (
                c.update()
                .where(c.c.id == bindparam("copy"))
                .values(
                    state=bindparam("new_state"),
                    location_branch_id=func.coalesce(bindparam("at"), c.c.location_branch_id),
                )
            )
            ctx.conn.execute(stmt, moved)


def _held(ctx: ImportContext) -> dict:
    """The holds file's active (patron, title) pairs and bound copies so far, and when each pair
    imported was received (Holds._active_holds)."""
    return ctx.state.setdefault("held", {"pairs": set(), "copies": set(), "imported": {},
                                         "patrons read": set(), "copies read": set()})


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Branches(),
        CalendarDays(),
        Routes(),
        Titles(),
        Copies(),
        Patrons(),
        Loans(),
        Holds(),
    )
}
