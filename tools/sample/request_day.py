"""The business day's pending requests: every case the batch must accept or refuse, and hostile rows."""

from __future__ import annotations

import bisect
import random
from array import array
from collections.abc import Iterator

from ils.tools.sample import names as N
from ils.tools.sample.catalogue import Catalogue
from ils.tools.sample.circulation import HOLD_IN_TRANSIT, READY, SERIES_WAITING, WAITING, Circulation, heavy_reader, wanted_title
from ils.tools.sample.draws import cumulative, one_of, random_stream, weighted
from ils.tools.sample.formats import REQUEST_FIELDS, barcode, bib_id, card_number, instant, series_group_id
from ils.tools.sample.patrons import ACTIVE, Readers
from ils.tools.sample.spec import SampleSpec
from ils.tools.sample.town import Town

HOUR_WEIGHTS = cumulative((1, 1, 2, 4, 5, 6, 7, 7, 8, 7, 6, 6, 6, 6, 7, 8, 9, 9, 8, 5))  # 04:00 to 23:00
OPENING, CLOSING = 9 * 3600, 19 * 3600
CLIENT_REF_PREFIX = {"web": "W", "mobile": "M", "opac": "O", "paper": "P"}
REQUEST_KINDS = cumulative((70, 11, 13, 6))  # hold, cancel, renew, email_change
HOSTILE_CASES = (
    "unknown_card", "unknown_bib", "unknown_pickup", "duplicate_client_ref", "sql_injection", "very_long_field",
    "bad_date", "null_fields", "unknown_barcode", "bad_series_position", "fullwidth_card", "bad_channel",
    "cancel_not_held", "local_time_without_offset",
)
SQL_INJECTION = "'; DROP TABLE holds; --"
LONG_FIELD_CHARS = 10_000
FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
DROP = object()  # a column a malformed row leaves out (None is written as JSON null)


def request_rows(spec: SampleSpec, town: Town, cat: Catalogue, readers: Readers, circ: Circulation) -> Iterator[dict]:
    yield from RequestDay(spec, town, cat, readers, circ).rows()


class Cases:
    """Draws a case by weight, but hands out each case once, in order, first: a small day still has them all."""

    def __init__(self, rng: random.Random, cases: tuple[tuple[str, float], ...]):
        self.rng, self.names = rng, [name for name, _ in cases]
        self.weights = cumulative(weight for _, weight in cases)
        self.drawn = 0

    def next(self) -> str:
        self.drawn += 1
        if self.drawn <= len(self.names):
            return self.names[self.drawn - 1]
        return self.names[weighted(self.rng, self.weights)]


HOLD_CASES = (
    ("wanted", 76), ("series", 6), ("already_held", 5), ("on_loan_to_patron", 3), ("reference_only", 2),
    ("contest", 1.5), ("current_issue", 1.5), ("uncatalogued", 1), ("counter_only", 3),
    ("only_copy_long_overdue", 1.5),
)
REQUESTER_CASES = (
    ("ordinary", 83), ("overdue", 4), ("at_hold_limit", 2), ("below_junior_high", 4), ("junior_high_boundary", 2),
    ("suspended_or_expired", 2), ("not_web_registered", 3),
)
CANCEL_CASES = (("waiting", 70), ("ready", 20), ("in_transit", 10))
RENEW_CASES = (("ordinary", 50), ("overdue", 15), ("renewed_already", 12), ("inter_library", 5),
               ("held_by_others", 18))
EMAIL_CASES = (("valid", 45), ("consecutive_dots", 13), ("dot_before_at", 12), ("free_mail", 15), ("blank", 15))


class RequestDay:
    """The business day's pending requests in the order the front end wrote them."""

    def __init__(self, spec: SampleSpec, town: Town, cat: Catalogue, readers: Readers, circ: Circulation):
        self.spec, self.town = spec, town
        self.cat, self.readers, self.circ = cat, readers, circ
        self.rng = rng = random_stream(self.spec, "requests")
        self.cases = {name: Cases(rng, cases) for name, cases in (
            ("hold", HOLD_CASES), ("requester", REQUESTER_CASES), ("cancel", CANCEL_CASES),
            ("renew", RENEW_CASES), ("email", EMAIL_CASES))}
        self.groups = self.circ.series_groups
        self.last_ordinary: dict | None = None
        self.uncatalogued = sorted(self.cat.uncatalogued)
        self.overdue_patrons = array("I", (self.circ.loans.patron[i] for i in self.circ.overdue_loans))
        self.odd_loans = bytearray(len(self.circ.loans))  # overdue, renewed or inter-library
        for pool in (self.circ.overdue_loans, self.circ.renewed_loans, self.circ.inter_library_loans):
            for loan in pool:
                self.odd_loans[loan] = 1

    def rows(self) -> Iterator[dict]:
        n, rng = self.spec.requests, self.rng
        entered = sorted(self._entry_second() for _ in range(n))
        hostile = sorted(rng.sample(range(1, n), min(n - 1, max(len(HOSTILE_CASES), n // 50))))
        case_at = {at: HOSTILE_CASES[k % len(HOSTILE_CASES)] for k, at in enumerate(hostile)}
        hostile_ahead = hostile + [n]
        i = 0
        while i < n:
            if i in case_at:
                batch = [self._hostile(case_at[i], entered[i], i)]
            else:
                room = hostile_ahead[bisect.bisect(hostile_ahead, i)] - i  # a series must not swallow a hostile row
                batch = self._ordinary(entered[i], i, room)
                self.last_ordinary = batch[-1]
            for row in batch:
                yield row
                i += 1

    def _entry_second(self) -> int:
        hour = 4 + weighted(self.rng, HOUR_WEIGHTS)
        return hour * 3600 + self.rng.randrange(3600)

    def _channel(self, second: int) -> str:
        x = self.rng.random()
        if OPENING + 3600 <= second <= CLOSING:
            if x < 0.10:
                return "paper"  # a form received at the counter, keyed in later
            if x < 0.22:
                return "opac"
        return "web" if x < 0.6 else "mobile"

    def _received(self, channel: str, second: int) -> str:
        if channel == "paper":  # seed 001: keyed with the form's receipt time, earlier in the day
            second = OPENING + self.rng.randint(0, max(60, second - OPENING - 1800))
        return instant(self.spec, second)

    def _base(self, kind: str, p: int, second: int, i: int, channel: str | None = None) -> dict:
        channel = channel or self._channel(second)
        return {"kind": kind, "card_number": card_number(p), "received_at": self._received(channel, second),
                "channel": channel, "client_ref": f"{CLIENT_REF_PREFIX[channel]}{i + 1:07d}"}

    def _ordinary(self, second: int, i: int, room: int) -> list[dict]:
        kind = weighted(self.rng, REQUEST_KINDS)
        if kind == 0:
            case = self.cases["hold"].next()
            if case == "series" and room > 1 and self.cat.series:
                return self._series_request(second, i, room)
            return [self._hold_request(case, second, i)]
        return [(self._cancel, self._renew, self._email_change)[kind - 1](second, i)]

    # -- holds

    def _hold_request(self, case: str, second: int, i: int) -> dict:
        p, t = self._hold_target(case)
        return self._hold_row(self._base("hold", p, second, i), p, t)

    def _hold_row(self, row: dict, p: int, t: int) -> dict:
        row = dict(row, target=bib_id(t), pickup_branch=self._pickup(p), contact_method=self._contact(p) or DROP)
        if row["channel"] in ("web", "mobile") and self.rng.random() < 0.2:
            row["receipt_mail"] = "yes"
        return _ordered(row)

    def _series_request(self, second: int, i: int, room: int) -> list[dict]:
        """順番予約 from the web: volumes 1..n of one series, in order, in one submission."""
        rng, cat = self.rng, self.cat
        work = one_of(rng, cat.series)
        n = min(cat.span[work], rng.randint(2, 3), room)
        p = self._requester()
        self.groups += 1
        base = self._hold_row(self._base("hold", p, second, i, channel=rng.choice(("web", "mobile"))), p, work)
        prefix = CLIENT_REF_PREFIX[base["channel"]]
        return [
            _ordered(dict(base, target=bib_id(work + k), series_group=series_group_id(self.groups),
                          series_position=str(k + 1), client_ref=f"{prefix}{i + k + 1:07d}"))
            for k in range(n)
        ]

    def _hold_target(self, case: str) -> tuple[int, int]:
        """(patron, title): mostly a wanted title, and every reason the batch may refuse one."""
        rng, cat, circ = self.rng, self.cat, self.circ
        if case == "already_held":
            h = rng.randrange(len(circ.holds))
            return circ.holds.patron[h], circ.holds.title[h]
        if case == "on_loan_to_patron" and len(circ.loans):
            loan = rng.randrange(len(circ.loans))
            return circ.loans.patron[loan], circ.loans.title[loan]
        refused = {"uncatalogued": self.uncatalogued, "only_copy_long_overdue": circ.only_copy_long_overdue,
                   **cat.flavours}.get(case)
        p = self._requester()
        if refused:
            return p, one_of(rng, refused)
        return p, wanted_title(rng, cat, 0.75)  # mostly titles that are out: why else wait

    def _requester(self) -> int:
        """Mostly ordinary web users; some the rules turn away."""
        rng, r, circ = self.rng, self.readers, self.circ
        pool = {"overdue": self.overdue_patrons, "at_hold_limit": circ.full_patrons, "below_junior_high": r.young,
                "junior_high_boundary": r.boundary, "suspended_or_expired": r.inactive,
                "not_web_registered": r.unregistered}.get(self.cases["requester"].next())
        if pool:
            return one_of(rng, pool)
        for _ in range(10):
            p = heavy_reader(rng, r)
            if r.web[p] and r.status[p] == ACTIVE:
                return p
        return p

    def _pickup(self, p: int) -> str:
        """Mostly the patron's own branch (its parent if that takes no holds), a few stations,
        and now and then a branch that is not a pickup branch at all."""
        rng, town = self.rng, self.town
        x = rng.random()
        if x < 0.03 and town.stations:
            return town.branches[one_of(rng, town.stations)].code
        if x < 0.04:
            return town.branches[one_of(rng, town.holding)].code
        if x < 0.2:
            return town.branches[one_of(rng, town.pickups)].code
        home = town.branches[self.readers.home[p]]
        return home.code if home.pickup else home.parent

    def _contact(self, p: int) -> str:
        rng, r = self.rng, self.readers
        x = rng.random()
        if x < 0.45:
            return ""  # the patron's usual method
        if x < 0.8:
            return "email" if r.email[p] else ""
        if x < 0.92 or not r.phone[p]:
            return "none"
        return "phone"

    # -- cancel, renew, email change

    def _cancel(self, second: int, i: int) -> dict:
        """取消申込 by title: mostly waiting holds, some already ready or in transit (too late)."""
        holds, rng = self.circ.holds, self.rng
        wanted = {"waiting": (WAITING, SERIES_WAITING), "ready": (READY,),
                  "in_transit": (HOLD_IN_TRANSIT,)}[self.cases["cancel"].next()]
        h = rng.randrange(len(holds))
        for _ in range(500):
            if holds.status[h] in wanted:
                break
            h = rng.randrange(len(holds))
        row = self._base("cancel", holds.patron[h], second, i)
        return _ordered(dict(row, target=f"bib:{bib_id(holds.title[h])}"))

    def _renew(self, second: int, i: int) -> dict:
        """延長申込: ordinary, overdue, already renewed, inter-library, wanted by others."""
        rng, circ, loans = self.rng, self.circ, self.circ.loans
        case = self.cases["renew"].next()
        pool = {"overdue": circ.overdue_loans, "renewed_already": circ.renewed_loans,
                "inter_library": circ.inter_library_loans}.get(case)
        if pool:
            loan = one_of(rng, pool)
        else:
            wanted_by_others = case == "held_by_others"
            for _ in range(100):
                loan = rng.randrange(len(loans))
                if bool(circ.title_held[loans.title[loan]]) == wanted_by_others and not self.odd_loans[loan]:
                    break
        row = self._base("renew", loans.patron[loan], second, i)
        return _ordered(dict(row, target=barcode(loans.copy[loan])))

    def _email_change(self, second: int, i: int) -> dict:
        rng = self.rng
        p = self._requester()
        family, given = rng.choice(N.FAMILY_NAMES)[2], rng.choice(N.GIVEN_NAMES)[2]
        domain = rng.choice(N.MAIL_DOMAINS)
        address = {
            "valid": f"{given}.{family}{rng.randrange(100)}@{domain}",
            "consecutive_dots": f"{given}..{family}@{domain}",
            "dot_before_at": f"{given}.@{domain}",
            "free_mail": f"{given}{family}{rng.randrange(1000)}@{rng.choice(N.FREE_MAIL_DOMAINS)}",
            "blank": "",  # delete the address
        }[self.cases["email"].next()]
        return _ordered(dict(self._base("email_change", p, second, i), target=address))

    # -- hostile and malformed rows

    def _hostile(self, case: str, second: int, i: int) -> dict:
        p, t = self._requester(), wanted_title(self.rng, self.cat, 0.5)
        row = self._hold_row(self._base("hold", p, second, i, channel="web"), p, t)
        if case == "duplicate_client_ref" and self.last_ordinary is not None:
            return dict(self.last_ordinary)  # the same submission posted twice
        return _ordered(dict(row, **self._spoil(case, row, i)))

    def _spoil(self, case: str, row: dict, i: int) -> dict:
        town = self.town
        station = town.branches[town.stations[0]].code if town.stations else "central"
        not_a_request = {"pickup_branch": DROP, "contact_method": DROP, "receipt_mail": DROP}
        return {
            "unknown_card": {"card_number": "99999999"},
            "unknown_bib": {"target": "B9999999"},
            "unknown_pickup": {"pickup_branch": station.replace("BM-", "BM-存在しない")},
            "duplicate_client_ref": {},
            "sql_injection": {"target": SQL_INJECTION, "pickup_branch": "central' OR '1'='1"},
            "very_long_field": {"target": ("予約" * LONG_FIELD_CHARS)[:LONG_FIELD_CHARS]},
            "bad_date": {"received_at": "2026-13-45T10:00:00+09:00"},
            "null_fields": {"card_number": None, "channel": "", "target": "null", "pickup_branch": "None",
                            "contact_method": "undefined"},
            "unknown_barcode": {"kind": "renew", "target": "1999999999", **not_a_request},
            "bad_series_position": {"series_group": series_group_id(900000 + i), "series_position": "abc"},
            "fullwidth_card": {"card_number": row["card_number"].translate(FULLWIDTH_DIGITS)},
            "bad_channel": {"channel": "fax"},
            "cancel_not_held": {"kind": "cancel", "target": f"bib:{bib_id(self._title_nobody_holds())}",
                                **not_a_request},
            "local_time_without_offset": {"received_at": row["received_at"].removesuffix("+09:00")},
        }[case]

    def _title_nobody_holds(self) -> int:
        for _ in range(1000):
            t = self.rng.randrange(self.cat.title_count)
            if not self.circ.title_held[t]:
                return t
        return 0


def _ordered(row: dict) -> dict:
    """The row with the front end's columns in their documented order."""
    return {field: row[field] for field in REQUEST_FIELDS if field in row and row[field] is not DROP}
