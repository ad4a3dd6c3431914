"""Whether a hold may be placed: small named checks, and the table giving each its reason code and --override key."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from ils.holds.lifecycle import can_receive, default_contact
from ils.library.policy import Policy

WEB_CHANNELS = frozenset({"web", "mobile", "opac"})
LOST_STATES = frozenset({"withdrawn", "missing"})


@dataclass(frozen=True)
class HoldRequest:
    """A hold request, parsed: from a pending row (web, OPAC, paper form) or from the counter."""

    card_number: str
    bib_id: str
    received_at: dt.datetime
    channel: str
    pickup_code: str
    contact_method: str | None = None
    series_group: str | None = None
    series_position: int | None = None
    request_id: int | None = None
    client_ref: str | None = None

    @property
    def from_web(self) -> bool:
        return self.channel in WEB_CHANNELS


@dataclass
class PatronFacts:
    """What the rules need to know about a patron, kept current as a run accepts holds."""

    id: int
    status: str
    birth_date: dt.date | None
    web_registered: bool
    email: str | None
    phone: str | None
    contact_method: str
    has_overdue: bool = False
    holds_by_channel: Counter = field(default_factory=Counter)
    held_titles: set[int] = field(default_factory=set)
    loaned_titles: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class TitleFacts:
    """What the hold rules know of a requested title: its kind, when it was catalogued, its copies by state."""

    id: int
    material_type: str
    category: str
    catalogued_on: dt.date | None
    copy_states: Counter
    free_on_shelf: int = 0

    @cached_property
    def owned_states(self) -> dict[str, int]:
        """The copies the library still has, by state (withdrawn and missing ones left out);
        worked out once per title, however many requests of the night name it."""
        return {state: n for state, n in self.copy_states.items() if state not in LOST_STATES and n}


@dataclass(frozen=True)
class BranchFacts:
    """A requested pickup place as the hold rules see it."""

    id: int
    code: str
    kind: str
    pickup_allowed: bool


@dataclass(frozen=True)
class HoldCase:
    """One hold request and what was found for it (patron, title, pickup place), judged under the policy on that day."""

    request: HoldRequest
    patron: PatronFacts | None
    title: TitleFacts | None
    pickup: BranchFacts | None
    policy: Policy
    today: dt.date

    @cached_property
    def contact(self) -> str:
        return resolve_contact(self.request, self.patron, self.policy)

    # The checks run in order, so each one after unknown_card, unknown_title or
    # unknown_pickup reads what that check has already found to exist.
    @property
    def known_patron(self) -> PatronFacts:
        assert self.patron is not None, "unknown_card runs first"
        return self.patron

    @property
    def known_title(self) -> TitleFacts:
        assert self.title is not None, "unknown_title runs first"
        return self.title

    @property
    def known_pickup(self) -> BranchFacts:
        assert self.pickup is not None, "unknown_pickup runs first"
        return self.pickup


def school_grade(birth: dt.date, today: dt.date) -> int:
    """The Japanese school grade a child born on `birth` is in on `today` (1 = 小学1年, 7 = 中学1年).

    A school year runs from April; children born from April 2 to April 1 share a year, and
    enter the first grade in the April after they turn six.
    """
    cohort = birth.year - 1 if (birth.month, birth.day) <= (4, 1) else birth.year
    school_year = today.year if today.month >= 4 else today.year - 1
    return school_year - cohort - 6


def resolve_contact(request: HoldRequest, patron: PatronFacts | None, policy: Policy) -> str:
    """The contact method of the hold this request makes (the rule: ils.holds.lifecycle.default_contact)."""
    return default_contact(request.contact_method, patron, policy.holds.contact_methods)


def limit_count(patron: PatronFacts, policy: Policy) -> int:
    if policy.holds.limit_counts == "web_only":
        return sum(n for channel, n in patron.holds_by_channel.items() if channel in WEB_CHANNELS)
    return sum(patron.holds_by_channel.values())


# The checks: each says whether a case breaks its rule; the table below gives each its reason code.


def unknown_card(c: HoldCase) -> bool:
    return c.patron is None


def patron_blocked(c: HoldCase) -> bool:
    return c.known_patron.status != "active"


def web_ineligible(policy: Policy, *, web_registered: bool, birth_date: dt.date | None, today: dt.date) -> str | None:
    """Why a patron may not use the web service at all (every request kind), or None."""
    rules = policy.eligibility
    if rules.require_web_registration and not web_registered:
        return "not_eligible"
    if rules.web_min_school_grade is not None:
        if birth_date is None or school_grade(birth_date, today) < rules.web_min_school_grade:
            return "not_eligible"
    return None


def not_eligible(c: HoldCase) -> bool:
    if not c.request.from_web:
        return False  # a paper form or the counter: staff checked the card
    return web_ineligible(c.policy, web_registered=c.known_patron.web_registered, birth_date=c.known_patron.birth_date,
                          today=c.today) is not None


def unknown_title(c: HoldCase) -> bool:
    return c.title is None


def not_holdable(c: HoldCase) -> bool:
    holds = c.policy.holds
    return c.known_title.category in holds.unholdable_categories or c.known_title.material_type in holds.unholdable_material_types


def counter_only(c: HoldCase) -> bool:
    if not c.request.from_web:
        return False
    holds = c.policy.holds
    return c.known_title.category in holds.counter_only_categories or c.known_title.material_type in holds.counter_only_material_types


def not_catalogued(c: HoldCase) -> bool:
    if not c.policy.holds.require_catalogued:
        return False
    catalogued = c.known_title.catalogued_on
    return catalogued is None or catalogued > c.today


def not_owned(c: HoldCase) -> bool:
    return not c.known_title.owned_states


def only_copy_long_overdue(c: HoldCase) -> bool:
    if not c.policy.holds.reject_only_copy_long_overdue:
        return False
    return c.known_title.owned_states.keys() == {"long_overdue"}


def on_shelf(c: HoldCase) -> bool:
    if c.policy.holds.onshelf_web_holds or not c.request.from_web:
        return False
    return c.known_title.free_on_shelf > 0


def already_on_loan(c: HoldCase) -> bool:
    return c.policy.holds.reject_title_on_loan_to_patron and c.known_title.id in c.known_patron.loaned_titles


def already_held(c: HoldCase) -> bool:
    return c.policy.holds.reject_title_already_held and c.known_title.id in c.known_patron.held_titles


def unknown_pickup(c: HoldCase) -> bool:
    return c.pickup is None


def pickup_not_offered(c: HoldCase) -> bool:
    return branch_problem(c.known_pickup, c.policy) == "pickup_not_offered"


def branch_problem(branch: BranchFacts | None, policy) -> str | None:
    """Why a branch cannot be a hold's pickup point, as for a new hold (unknown_pickup,
    pickup_not_offered), or None: a change of pickup branch asks the same, by the patron or by staff."""
    if branch is None:
        return "unknown_pickup"
    if not branch.pickup_allowed or (branch.kind == "station" and not policy.holds.pickup_at_stations):
        return "pickup_not_offered"
    return None


def contact_not_offered(c: HoldCase) -> bool:
    return c.contact not in c.policy.holds.contact_methods


def contact_unavailable(c: HoldCase) -> bool:
    return not can_receive(c.known_patron, c.contact)


def overdue(c: HoldCase) -> bool:
    return c.policy.holds.overdue_blocks and c.known_patron.has_overdue


def limit_reached(c: HoldCase) -> bool:
    limit = c.policy.holds.limit
    return limit is not None and limit_count(c.known_patron, c.policy) >= limit


Check = Callable[[HoldCase], bool]


@dataclass(frozen=True)
class HoldRule:
    """One row of the acceptance table: a check, the stable reason code a hold it refuses is
    rejected with (its words: data/words/<language>.toml [reasons]), and the key staff may set
    it aside with at the counter (`ils hold place --override KEY`, audited), or None if never."""

    check: Check
    reason: str
    override: str | None = None


# The table, in the order a patron would want to hear about the rules. The codes and keys are
# written here, not taken from the functions' names: renaming a check changes nothing a
# patron, the log or staff see (tests/test_hold_rules.py ties each row to its words and docs).
# Identity and existence (card, title, branch) and what the web alone refuses are never overridden.
HOLD_RULES: tuple[HoldRule, ...] = (
    HoldRule(unknown_card, "unknown_card"),
    HoldRule(patron_blocked, "patron_blocked"),
    HoldRule(not_eligible, "not_eligible"),
    HoldRule(unknown_title, "unknown_title"),
    HoldRule(not_holdable, "not_holdable", override="not_holdable"),
    HoldRule(counter_only, "counter_only"),
    HoldRule(not_catalogued, "not_catalogued", override="not_catalogued"),
    HoldRule(not_owned, "not_owned"),
    HoldRule(only_copy_long_overdue, "only_copy_long_overdue", override="only_copy_long_overdue"),
    HoldRule(on_shelf, "on_shelf"),
    HoldRule(already_on_loan, "already_on_loan", override="already_on_loan"),
    HoldRule(already_held, "already_held", override="already_held"),
    HoldRule(unknown_pickup, "unknown_pickup"),
    HoldRule(pickup_not_offered, "pickup_not_offered", override="pickup_not_offered"),
    HoldRule(contact_not_offered, "contact_not_offered", override="contact_not_offered"),
    HoldRule(contact_unavailable, "contact_unavailable"),
    HoldRule(overdue, "overdue", override="overdue"),
    HoldRule(limit_reached, "limit_reached", override="limit_reached"),
)
# The --override keys, in the table's order.
OVERRIDE_KEYS: tuple[str, ...] = tuple(rule.override for rule in HOLD_RULES if rule.override)


def broken_rule(case: HoldCase, overridden: frozenset[str] = frozenset()) -> HoldRule | None:
    """The first rule the hold breaks, or None; rules whose override key is in `overridden` are set aside."""
    rules = [rule for rule in HOLD_RULES if rule.override not in overridden] if overridden else HOLD_RULES
    for rule in rules:
        if rule.check(case):
            return rule
    return None


def judge_hold(case: HoldCase) -> str | None:
    """The reason code of the first rule the hold breaks, or None if it may be placed."""
    rule = broken_rule(case)
    return rule.reason if rule else None
