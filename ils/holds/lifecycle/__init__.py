"""A hold's life: its statuses, the transitions allowed between them, its queue order and its default contact.

This half is pure (no database, no other `ils` module), so `ils.infra.schema` can take its
status lists from here. The writes — the one way to create a hold row and the one
function that moves holds and writes their history — are in `ils.holds.lifecycle.store`.
docs/holds.md shows both tables; tests/test_lifecycle.py keeps it true.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import and_, or_

from ils.errors import IlsError


class HoldStatus(StrEnum):
    """The statuses a hold row carries; the database keeps these very strings."""

    WAITING = "waiting"  # 確保待ち / 予約中: accepted, no copy yet
    SERIES_WAITING = "series_waiting"  # 準備中: a later volume behind its series gate
    ALLOCATED = "allocated"  # a copy is on a branch's pull list
    IN_TRANSIT = "in_transit"  # 他館確保 / 取寄中: the copy travels to the pickup branch
    READY = "ready"  # 貸出可能 / ご用意できました: on the pickup branch's hold shelf
    SUSPENDED = "suspended"  # 一時停止中: keeps its place in the queue; allocation goes round it
    FULFILLED = "fulfilled"  # 貸出済: picked up
    CANCELLED = "cancelled"  # 取消
    EXPIRED = "expired"  # 取置期限切れ: not picked up by the pickup deadline


S = HoldStatus
HOLD_STATUSES: tuple[str, ...] = tuple(s.value for s in HoldStatus)
# Plain strings (not members) in the sets: schema's CHECK constraints and the policy's
# Literal types are built from them.
ACTIVE: tuple[str, ...] = tuple(
    s.value for s in (S.WAITING, S.SERIES_WAITING, S.ALLOCATED, S.IN_TRANSIT, S.READY, S.SUSPENDED))
# Holds in the queue with no copy yet (the branch report's 確保待ち・準備中).
QUEUED: tuple[str, ...] = (S.WAITING.value, S.SERIES_WAITING.value)
WITH_COPY: tuple[str, ...] = tuple(s.value for s in (S.ALLOCATED, S.IN_TRANSIT, S.READY))
CLOSED: tuple[str, ...] = tuple(s.value for s in (S.FULFILLED, S.CANCELLED, S.EXPIRED))


def label(status: str, labels) -> str:
    """The words a patron reads for a status: the library's own, from its profile's [labels]
    (ils.library.policy.Labels holds the glossary's defaults). The words live there, not here."""
    return getattr(labels, str(status))


class Event(StrEnum):
    """Why a hold changes status; each allowed transition names one."""

    PLACE = "place"
    IMPORT = "import"
    SERIES_GATE = "series_gate"
    ALLOCATE = "allocate"
    TRAP = "trap"
    PULL_CONFIRMED = "pull_confirmed"
    PULL_MISSING = "pull_missing"
    WALK_IN = "walk_in"
    TRANSIT_RECEIVED = "transit_received"
    PICKUP_CHANGE = "pickup_change"
    CANCEL_BY_PATRON = "cancel_by_patron"
    CANCEL_BY_STAFF = "cancel_by_staff"
    EXPIRE = "expire"
    CHECK_OUT = "check_out"
    SUSPEND = "suspend"
    RESUME = "resume"
    LAPSE = "lapse"
    EXTEND = "extend"
    QUEUE_MOVE = "queue_move"
    NOT_NEEDED_AFTER = "not_needed_after"


@dataclass(frozen=True)
class Rule:
    """One allowed transition: on `event`, a hold in `was` (None: a new row) may become `now`."""

    event: Event
    was: str | None
    now: str
    why: str


def _rules() -> tuple[Rule, ...]:
    E = Event
    rules = [
        Rule(E.PLACE, None, S.WAITING, "a request accepted by the batch, or a hold placed at the counter"),
        Rule(E.PLACE, None, S.SERIES_WAITING, "a later volume of a series-ordered hold (準備中)"),
        *(Rule(E.IMPORT, None, s, "a hold the ILS already has, imported as it stands (no history row)")
          for s in ACTIVE),
        Rule(E.SERIES_GATE, S.WAITING, S.SERIES_WAITING, "an earlier volume is back behind the gate"),
        Rule(E.SERIES_GATE, S.SERIES_WAITING, S.WAITING, "the earlier volumes passed the profile's gate"),
        Rule(E.ALLOCATE, S.WAITING, S.ALLOCATED, "the batch put an on-shelf copy on a branch's pull list"),
        Rule(E.ALLOCATE, S.WAITING, S.READY, "the batch bound a free copy already on the pickup branch's hold shelf"),
        Rule(E.TRAP, S.WAITING, S.READY, "a returned or received copy caught at the pickup branch"),
        Rule(E.TRAP, S.WAITING, S.IN_TRANSIT, "a returned or received copy caught and sent to the pickup branch"),
        Rule(E.PULL_CONFIRMED, S.ALLOCATED, S.READY, "staff pulled the copy at the pickup branch"),
        Rule(E.PULL_CONFIRMED, S.ALLOCATED, S.IN_TRANSIT, "staff pulled the copy and sent it to the pickup branch"),
        Rule(E.PULL_MISSING, S.ALLOCATED, S.WAITING, "the copy was not on the shelf; the hold queues again"),
        Rule(E.WALK_IN, S.ALLOCATED, S.WAITING, "the pull-list copy was lent to a walk-in (来館者優先)"),
        Rule(E.TRANSIT_RECEIVED, S.IN_TRANSIT, S.READY, "the copy arrived at the pickup branch"),
        *(Rule(E.PICKUP_CHANGE, s, s, "the pickup branch changed (受取館の変更); the status stays")
          for s in ACTIVE),
        *(Rule(E.CANCEL_BY_PATRON, s, S.CANCELLED, "a 取消申込 in a status the profile lets the patron cancel")
          for s in ACTIVE),
        *(Rule(E.CANCEL_BY_STAFF, s, S.CANCELLED, "cancelled at the counter on the patron's call") for s in ACTIVE),
        Rule(E.EXPIRE, S.READY, S.EXPIRED, "the pickup deadline (取置期限) passed"),
        *(Rule(E.CHECK_OUT, s, S.FULFILLED, "the patron borrowed the title") for s in ACTIVE),
        Rule(E.PICKUP_CHANGE, S.READY, S.IN_TRANSIT,
             "staff changed the pickup branch of a copy on the old branch's hold shelf: it travels on"),
        *(Rule(E.SUSPEND, s, S.SUSPENDED, "suspended (予約の一時停止) until a date or until resumed; it keeps its place")
          for s in QUEUED),
        Rule(E.SUSPEND, S.SUSPENDED, S.SUSPENDED,
             "resumed and suspended again by requests of the same night: it stays suspended, to its new day"),
        Rule(E.RESUME, S.SUSPENDED, S.WAITING, "resumed by the patron or staff, or by the night on its date"),
        *(Rule(E.LAPSE, s, S.CANCELLED, "its not-needed-after date (有効期限) passed while it still waited")
          for s in (*QUEUED, S.SUSPENDED)),
        Rule(E.EXTEND, S.READY, S.READY, "staff extended the pickup deadline (取置期限の延長); the status stays"),
        *(Rule(E.QUEUE_MOVE, s, s, "staff moved the hold in its title's queue; the status stays")
          for s in (*QUEUED, S.SUSPENDED)),
        *(Rule(E.NOT_NEEDED_AFTER, s, s, "its not-needed-after date (有効期限) was set or cleared; the status stays")
          for s in (*QUEUED, S.SUSPENDED)),
    ]
    return tuple(rules)


TRANSITIONS: tuple[Rule, ...] = _rules()
_ALLOWED = {(r.event, r.was, r.now) for r in TRANSITIONS}


class TransitionRefused(IlsError):
    """A status change the transition table does not allow; nothing was written."""

    code = "transition_refused"

    def __init__(self, event: str, hold_id: int | None, was: str | None, now: str):
        self.event, self.hold_id, self.was, self.now = event, hold_id, was, now
        super().__init__(f"hold {hold_id}: {event} may not move a hold from {was or 'nothing'} to {now}")


def check(event: Event, was: str | None, now: str, hold_id: int | None = None) -> None:
    """Raise TransitionRefused unless the table allows `was` → `now` on `event`."""
    if (event, was, now) not in _ALLOWED:
        raise TransitionRefused(event, hold_id, was, now)


def initial_status(series_ordered: bool, series_group: str | None, series_position: int | None) -> HoldStatus:
    """A new hold waits, unless it is a later volume of a series the profile serves in order (準備中)."""
    if series_ordered and series_group is not None and (series_position or 1) > 1:
        return S.SERIES_WAITING
    return S.WAITING


# The queue (予約順位) ---------------------------------------------------------------

QUEUE_COLUMNS = ("queue_day", "queue_class", "queued_at", "id")


def queue_order(table) -> tuple:
    """SQL: the columns that order holds on one title, first served first (for ORDER BY)."""
    return tuple(table.c[name] for name in QUEUE_COLUMNS)


def queue_key(row) -> tuple:
    """Python: the same order as a sort key for a row that carries the queue columns."""
    return tuple(getattr(row, name) for name in QUEUE_COLUMNS)


def ahead_in_queue(ahead, hold):
    """SQL: `ahead` stands before `hold` in the queue order (a lexicographic comparison)."""
    first, second = queue_order(ahead), queue_order(hold)
    terms = []
    for i in range(len(QUEUE_COLUMNS)):
        equal = [first[j] == second[j] for j in range(i)]
        terms.append(and_(*equal, first[i] < second[i]) if equal else first[i] < second[i])
    return or_(*terms)


# The contact method (連絡方法) --------------------------------------------------------


def can_receive(patron, method: str) -> bool:
    """Whether a patron (anything with .email and .phone) can be told by `method`."""
    if method == "email":
        return bool(patron.email)
    if method == "phone":
        return bool(patron.phone)
    return True


def default_contact(asked: str | None, patron, offered: Sequence[str] | None) -> str:
    """The contact method of a new hold row, wherever it is made. The one asked for, if any.

    A hold the library places now (the batch's acceptance, the counter; `offered` is the
    profile's [holds] contact_methods): the patron's usual method if the library offers it
    and it reaches them, else the first offered one that does. A hold the ILS already has
    (import, bulk load; `offered` None): the contact method is the ILS's field, and blank
    there means the patron's own — taken as it is, so the export never contradicts the ILS
    (pinned by the demo night of every profile: Kitami imports phone holds it would not
    offer on the web).
    """
    if asked:
        return asked
    if offered is None:
        return patron.contact_method
    if patron is None:
        return offered[0]
    if patron.contact_method in offered and can_receive(patron, patron.contact_method):
        return patron.contact_method
    return next((m for m in offered if can_receive(patron, m)), offered[0])
