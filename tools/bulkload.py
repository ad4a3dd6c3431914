"""Loading a generated library into PostgreSQL with COPY, for the prefecture benchmark.

The generator's keys carry their row numbers (B0000001, 1000000001, 10000001), so ids
are derived from them and the rows stream straight into COPY without a lookup table.
This path trusts the generator: it does not validate. Libraries' own files go through
`ils import`, which checks every row.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ils.exchange.imports import files_in, import_files
from ils.exchange.imports.kinds import ndc_classes
from ils.frontend.requests import REQUEST_FIELDS, normalise, spooled_entry
from ils.holds.lifecycle import default_contact
from ils.holds.lifecycle.store import HOLD_ROW_COLUMNS, new_hold_row
from ils.infra import schema
from ils.library.clock import parse_instant
from ils.library.policy import Policy
from ils.tools.sample.files import write_kind
from ils.tools.sample.generator import SampleSpec, generate

Progress = Callable[[str], None]
SMALL_KINDS = ("branches", "calendar", "routes")


def title_id(bib: str) -> int:
    return int(bib[1:])


def copy_id(barcode: str) -> int:
    return int(barcode) - 1_000_000_000


def patron_id(card: str) -> int:
    return int(card) - 10_000_000


def _blank(value: str):
    return value if value != "" else None


def load(conn: Connection, spec: SampleSpec, policy: Policy, now: dt.datetime, progress: Progress) -> dict[str, int]:
    """Branches, calendar and routes through the importer; everything else by COPY.
    Returns the rows loaded per kind. The caller's connection must be idle (no transaction)."""
    rows = generate(spec)
    with tempfile.TemporaryDirectory() as small:
        for kind in SMALL_KINDS:
            write_kind(Path(small), kind, rows[kind])
        progress("branches, calendar and routes")
        import_files(conn, files_in(Path(small)), policy, now)
    branch = dict(conn.execute(select(schema.branches.c.code, schema.branches.c.id)).all())
    conn.commit()
    subscriptions: list[tuple] = []
    loaded = {}
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cursor:
        for kind, table, columns, convert in _plans(branch, policy, now, subscriptions):
            progress(f"{kind} (COPY)")
            count = 0
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows[kind]:
                    for converted in convert(row):
                        copy.write_row(converted)
                        count += 1
            loaded[kind] = count
        with cursor.copy("COPY newsletter_subscriptions (patron_id, ndc_class) FROM STDIN") as copy:
            for row in subscriptions:
                copy.write_row(row)
        for table in ("titles", "copies", "patrons", "loans", "holds", "pending_requests"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
            )
    raw.commit()
    # VACUUM as well as ANALYZE: a database in service has been vacuumed by autovacuum, so its
    # pages are marked all-visible (index-only scans skip the table) and its rows carry their hint
    # bits. Right after COPY neither holds, and the first night would pay for both, and less or more
    # of that depending on how far autovacuum had got when the benchmark started.
    progress("VACUUM ANALYZE")
    raw.autocommit = True
    try:
        raw.execute("VACUUM ANALYZE")
    finally:
        raw.autocommit = False
    return loaded


@dataclass(frozen=True)
class _Patron:
    """What default_contact reads of an imported hold's patron."""

    contact_method: str


def _plans(branch: dict, policy: Policy, now: dt.datetime, subscriptions: list):
    day = dt.date.fromisoformat
    # A hold without its own contact method takes the patron's, by the one rule of
    # ils.holds.lifecycle.default_contact for the ILS's holds (as the importer does), worked
    # out once per patron; one byte per patron keeps that lookup small at 3,000,000 patrons.
    methods = list(schema.CONTACT_METHODS)
    contact = bytearray()

    def titles(r) -> Iterator[tuple]:
        yield (title_id(r["bib_id"]), r["bib_id"], r["title"], _blank(r["author"]), _blank(r["publisher"]),
               r["material_type"], r["category"] or "normal", _blank(r["ndc"]), _blank(r["series_id"]),
               int(r["volume"]) if r["volume"] else None, _blank(r["volume_label"]),
               day(r["catalogued_on"]) if r["catalogued_on"] else None)

    def copies(r) -> Iterator[tuple]:
        yield (copy_id(r["barcode"]), r["barcode"], title_id(r["bib_id"]), branch[r["owning_branch"]],
               branch[r["location_branch"] or r["owning_branch"]], _blank(r["shelf_mark"]), r["state"] or "on_shelf")

    def patrons(r) -> Iterator[tuple]:
        pid = patron_id(r["card"])
        subscriptions.extend((pid, c) for c in ndc_classes(r.get("newsletter") or ""))
        method = r["contact_method"] or "none"
        if len(contact) <= pid:
            contact.extend(bytes(pid + 1 - len(contact)))
        contact[pid] = methods.index(default_contact(None, _Patron(method), None))
        yield (pid, r["card"], r["name"], _blank(r["name_kana"]), day(r["birth_date"]),
               _blank(r["phone"]), _blank(r["email"]), method,
               branch.get(r["home_branch"]), r["status"] or "active", r["web_registered"] == "yes",
               r["language"] or "ja", day(r["registered_on"]) if r["registered_on"] else None)

    def loans(r) -> Iterator[tuple]:
        yield (copy_id(r["barcode"]), patron_id(r["card"]), branch.get(r["branch"]), day(r["loaned_on"]),
               day(r["due_on"]), int(r["renewals"] or 0), r["inter_library"] == "yes")

    def holds(r) -> Iterator[tuple]:
        pid = patron_id(r["card"])
        row = new_hold_row(
            policy, patron_id=pid, title_id=title_id(r["bib_id"]), pickup_branch_id=branch[r["pickup"]],
            contact_method=r["contact_method"] or methods[contact[pid]], channel=r["channel"] or "counter",
            received_at=parse_instant(r["queued_at"]), status=r["status"], series_group=_blank(r["series_group"]),
            series_position=int(r["series_position"]) if r["series_position"] else None,
            copy_id=copy_id(r["barcode"]) if r["barcode"] else None, allocated_at=now if r["barcode"] else None,
            ready_on=day(r["ready_on"]) if r["ready_on"] else None,
            pickup_deadline=day(r["pickup_deadline"]) if r["pickup_deadline"] else None,
            placed_by="import", created_at=now,
        )
        yield tuple(row[column] for column in HOLD_ROW_COLUMNS)

    def requests(r) -> Iterator[tuple]:
        row = normalise(r)  # the very rows ils.frontend.requests.import_request_file stores
        yield (*[row[f] for f in REQUEST_FIELDS], spooled_entry(row, now))

    return [
        ("titles", "titles", ("id", "bib_id", "title", "author", "publisher", "material_type", "category", "ndc",
                              "series_id", "volume", "volume_label", "catalogued_on"), titles),
        ("copies", "copies", ("id", "barcode", "title_id", "owning_branch_id", "location_branch_id", "shelf_mark",
                              "state"), copies),
        ("patrons", "patrons", ("id", "card_number", "name", "name_kana", "birth_date", "phone", "email",
                                "contact_method", "home_branch_id", "status", "web_registered", "language",
                                "registered_on"), patrons),
        ("loans", "loans", ("copy_id", "patron_id", "branch_id", "loaned_on", "due_on", "renewals", "inter_library"),
         loans),
        ("holds", "holds", HOLD_ROW_COLUMNS, holds),
        ("requests", "pending_requests", (*REQUEST_FIELDS, "entered_at"), requests),
    ]

