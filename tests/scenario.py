"""A small library built row by row for scenario tests, and the night run over it."""

from __future__ import annotations

import datetime as dt
import itertools
import json

from sqlalchemy import select

from ils.batch.runner import run_batch
from ils.frontend.requests import spooled_entry, submit
from ils.holds.queue import queue_place
from ils.infra import db, schema
from ils.infra.context import Context
from ils.library.clock import parse_instant
from ils.library.policy import load_policy
from ils.library.staff import add_account

D = dt.date
OLD = D(2020, 1, 1)
ADULT_BIRTH = D(1980, 5, 5)


def at(text: str) -> dt.datetime:
    """A library-time instant from '2026-11-25 10:00'."""
    return parse_instant(text.replace(" ", "T"))


class Library:
    """One library system in a real database, with helpers named in the domain's words."""

    def __init__(self, url: str, profile: str, overrides: dict | None = None):
        self.url = url  # an initialised database of this profile (see the new_library fixture)
        self.engine = db.open_engine(self.url)
        self.conn = self.engine.connect()
        self.policy = load_policy(profile, overrides)
        self._barcodes = itertools.count(1000000001)
        self.ids: dict[tuple[str, str], int] = {}

    def close(self):
        self.conn.close()
        self.engine.dispose()

    def _insert(self, table, **values) -> int:
        with self.conn.begin():
            return self.conn.execute(table.insert().values(**values).returning(table.c.id)).scalar_one()

    def _id(self, kind: str, key: str) -> int:
        return self.ids[(kind, key)]

    # The library ---------------------------------------------------------------

    def branch(self, code, kind="library", parent=None, **rules):
        self.ids[("branch", code)] = self._insert(
            schema.branches, code=code, name=code, kind=kind,
            parent_id=self._id("branch", parent) if parent else None, **rules,
        )
        return self

    def staff(self, staff_id, role="counter", name=None):
        """A staff account (ils staff add) that --staff may name; counter staff unless told."""
        with self.conn.begin():
            add_account(self.conn, staff_id, role, now=at("2026-01-05 09:00"), name=name)
        return self

    def route(self, a, b, cost):
        with self.conn.begin():
            self.conn.execute(schema.routes.insert().values(
                from_branch_id=self._id("branch", a), to_branch_id=self._id("branch", b), cost=cost))
        return self

    def closed(self, branch, day):
        with self.conn.begin():
            self.conn.execute(schema.branch_days.insert().values(branch_id=self._id("branch", branch), day=day, is_open=False))
        return self

    def title(self, bib, material_type="book", category="normal", series=None, volume=None, catalogued_on=OLD):
        self.ids[("title", bib)] = self._insert(
            schema.titles, bib_id=bib, title=f"本 {bib}", material_type=material_type, category=category,
            series_id=series, volume=volume, catalogued_on=catalogued_on,
        )
        return self

    def copy(self, bib, branch, state="on_shelf", barcode=None) -> str:
        barcode = barcode or str(next(self._barcodes))
        self.ids[("copy", barcode)] = self._insert(
            schema.copies, barcode=barcode, title_id=self._id("title", bib),
            owning_branch_id=self._id("branch", branch), location_branch_id=self._id("branch", branch), state=state,
        )
        return barcode

    def patron(self, card, email="p@example.jp", phone="0123-45-6789", contact="email", web=True,
               birth=ADULT_BIRTH, status="active"):
        self.ids[("patron", card)] = self._insert(
            schema.patrons, card_number=card, name=f"利用者{card}", email=email, phone=phone,
            contact_method=contact, web_registered=web, birth_date=birth, status=status,
        )
        return self

    def loan(self, barcode, card, due_on, loaned_on=None, renewals=0, inter_library=False):
        loaned_on = loaned_on or due_on - dt.timedelta(days=14)
        loan_id = self._insert(
            schema.loans, copy_id=self._id("copy", barcode), patron_id=self._id("patron", card),
            loaned_on=loaned_on, due_on=due_on, renewals=renewals, inter_library=inter_library,
        )
        with self.conn.begin():
            self.conn.execute(schema.copies.update().where(schema.copies.c.barcode == barcode).values(state="on_loan"))
        return loan_id

    def hold(self, card, bib, pickup, queued_at="2026-11-01 10:00", status="waiting", channel="counter",
             contact="email", copy=None, series=None, ready_on=None, deadline=None) -> int:
        place = queue_place(at(queued_at), channel, self.policy)
        group, position = series if series else (None, None)
        return self._insert(
            schema.holds, patron_id=self._id("patron", card), title_id=self._id("title", bib),
            pickup_branch_id=self._id("branch", pickup), contact_method=contact, channel=channel, status=status,
            queued_at=place.queued_at, queue_day=place.queue_day, queue_class=place.queue_class,
            series_group=group, series_position=position,
            copy_id=self._id("copy", copy) if copy else None, allocated_at=at(queued_at) if copy else None,
            ready_on=ready_on, pickup_deadline=deadline, created_at=at(queued_at),
        )

    # The front end ---------------------------------------------------------------

    def request(self, kind, card, target, received="2026-11-25 10:00", channel="web", pickup=None,
                contact=None, series=None, client_ref=None, entered=None) -> int:
        group, position = series if series else (None, None)
        row = {"kind": kind, "card_number": card, "target": target, "received_at": at(received).isoformat(),
               "channel": channel, "pickup_branch": pickup, "contact_method": contact,
               "series_group": group, "series_position": position, "client_ref": client_ref}
        with self.conn.begin():
            [rid] = submit(self.conn, [row], now=at(entered or received))
        return rid

    def raw_request(self, **fields) -> int:
        """A row with exactly these fields, handed over at 23:00 as in a front end's spool
        file: entered when received, if that was within the day (ils.frontend.requests.spooled_entry)."""
        entered = spooled_entry(fields, at("2026-11-25 23:00"))
        with self.conn.begin():
            [rid] = submit(self.conn, [fields], now=entered)
        return rid

    # The night ------------------------------------------------------------------------

    def night(self, now="2026-11-26 03:00", **options):
        ctx = Context(conn=self.conn, policy=self.policy, now=at(now))
        return run_batch(ctx, now_given=True, **options)

    # Looking -------------------------------------------------------------------------

    def verdict(self, request_id) -> tuple[str, str | None]:
        r = schema.pending_requests
        row = self.conn.execute(select(r.c.state, r.c.reason).where(r.c.id == request_id)).one()
        self.conn.rollback()
        return row.state, row.reason

    def holds_of(self, card) -> dict[str, dict]:
        """The patron's holds by bib id: status, copy barcode, deadline..."""
        h, t, c = schema.holds, schema.titles, schema.copies
        query = (
            select(t.c.bib_id, h.c.id, h.c.status, c.c.barcode, h.c.ready_on, h.c.pickup_deadline)
            .join(t, t.c.id == h.c.title_id)
            .outerjoin(c, c.c.id == h.c.copy_id)
            .where(h.c.patron_id == self._id("patron", card))
            .order_by(h.c.id)
        )
        rows = {row.bib_id: dict(row._mapping) for row in self.conn.execute(query)}
        self.conn.rollback()
        return rows

    def status(self, card, bib) -> str:
        return self.holds_of(card)[bib]["status"]

    def label(self, card, bib) -> str:
        return getattr(self.policy.labels, self.status(card, bib))

    def notices(self, card) -> list[tuple[str, dict | None]]:
        n = schema.notice_events
        rows = self.conn.execute(
            select(n.c.kind, n.c.payload).where(n.c.patron_id == self._id("patron", card)).order_by(n.c.id)
        ).all()
        self.conn.rollback()
        return [(kind, json.loads(payload) if payload else None) for kind, payload in rows]

    def loan_due(self, loan_id) -> tuple[dt.date, int]:
        lo = schema.loans
        row = self.conn.execute(select(lo.c.due_on, lo.c.renewals).where(lo.c.id == loan_id)).one()
        self.conn.rollback()
        return row.due_on, row.renewals



def two_title_library(new_library) -> Library:
    """Kitami with one branch, patrons 1001 and 1002, B1 on the shelf and B2 on loan: the
    smallest library a night of odd requests needs."""
    lib = new_library("kitami")
    lib.branch("central")
    lib.patron("1001").patron("1002")
    lib.title("B1").title("B2")
    lib.copy("B1", "central")
    lib.copy("B2", "central", state="on_loan")
    return lib
