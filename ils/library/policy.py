"""A library's rules as data: the policy profile (TOML in data/profiles/), validated at load."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import os
import pickle
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from ils.errors import PolicyError
from ils.holds import lifecycle
from ils.infra import schema
from ils.infra.i18n import _
from ils.infra.resources import data_path

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# The same values the database's CHECK constraints allow. A type checker cannot read a
# Literal built from a tuple, so it sees text; pydantic checks the values at load.
if TYPE_CHECKING:
    from annotated_types import Ge, Interval
    from pydantic import TypeAdapter, ValidationError

    MaterialType = str
    Category = str
    ContactMethod = str
    ActiveHoldStatus = str
    Channel = str
    HHMM = str  # text in a form pydantic checks (_adapter)
    MonthDay = str
else:
    MaterialType = Literal[schema.MATERIAL_TYPES]
    Category = Literal[schema.HANDLING_CATEGORIES]
    ContactMethod = Literal[schema.CONTACT_METHODS]
    ActiveHoldStatus = Literal[lifecycle.ACTIVE]
    Channel = Literal[schema.CHANNELS]


def is_hh_mm(value: str) -> bool:
    """A time of day as HH:MM, 00:00 to 23:59."""
    return re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value) is not None


def is_mm_dd(value: str) -> bool:
    """A day of the year as MM-DD."""
    return re.fullmatch(r"(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", value) is not None


class Section:
    """A table of the profile: unknown keys are errors (pydantic reads this config), values are
    read-only (each section is a frozen dataclass, its keys given by name)."""

    __pydantic_config__: ClassVar[dict] = {"extra": "forbid"}



@dataclass(frozen=True, kw_only=True)
class Library(Section):
    """[library]: the library's names, the address its mail comes from, its web pages, time zone and staff language."""

    name: str
    name_en: str
    mail_from: str
    # Shown at the foot of every notice (seed 001: 予約連絡のメールには、図書館ホームページや
    # 携帯サイトのURLを記載しています); a branch's own phone (branches.csv) comes first.
    phone: str | None = None
    web_url: str | None = None
    mobile_url: str | None = None
    timezone: Literal["Asia/Tokyo"] = "Asia/Tokyo"
    # What staff read at the terminal (Error lines, the counter, table headers): ja or en
    # (ils.infra.i18n; $ILS_STAFF_LANGUAGE overrides it for one person's shell).
    staff_language: Literal["ja", "en"] = "ja"


@dataclass(frozen=True, kw_only=True)
class Calendar(Section):
    """The library's default calendar; a branch may override each value (branches.csv)."""

    closed_weekdays: tuple[Weekday, ...] = ()
    national_holidays: Literal["open", "closed"] = "open"
    closed_weekday_on_holiday: Literal["closed", "open", "next_weekday"] = "closed"
    year_end_closure: tuple[MonthDay, MonthDay] | None = None


@dataclass(frozen=True, kw_only=True)
class Eligibility(Section):
    """Who may place holds through the web, mobile site and OPAC."""

    web_min_school_grade: Annotated[int, Interval(ge=1, le=12)] | None = None
    require_web_registration: bool = True
    # Where a patron enrols for the web service: "web" (choosing a password there enrols
    # them) or "counter" only (staff, `ils patron enrol`).
    enrolment: Literal["web", "counter"] = "web"


@dataclass(frozen=True, kw_only=True)
class Holds(Section):
    """[holds]: who may hold what, how many, and which requests are rejected."""

    limit: Annotated[int, Ge(1)] | None = None
    limit_counts: Literal["all_channels", "web_only"] = "all_channels"
    overdue_blocks: bool = False
    unholdable_categories: tuple[Category, ...] = ()
    unholdable_material_types: tuple[MaterialType, ...] = ()
    counter_only_categories: tuple[Category, ...] = ()
    counter_only_material_types: tuple[MaterialType, ...] = ()
    onshelf_web_holds: bool = True
    reject_title_on_loan_to_patron: bool = True
    reject_title_already_held: bool = True
    reject_only_copy_long_overdue: bool = False
    require_catalogued: bool = True
    contact_methods: tuple[ContactMethod, ...] = ("email", "phone", "none")
    pickup_at_stations: bool = False
    cancelled_visible_days: Annotated[int, Ge(0)] = 0


@dataclass(frozen=True, kw_only=True)
class Requests(Section):
    """What the batch takes from the front end's pending rows (docs/integration.md)."""

    # How many days before it is keyed a staff-keyed paper form may have been received
    # (seed 001: 申込書での予約も受付日時で入力); web, mobile and OPAC rows are entered when made.
    paper_backdate_days: Annotated[int, Interval(ge=0, le=366)]
    # When hold requests are registered: [opening, closing] of the library's open days, or
    # empty for a library whose batch takes every request it finds (ils/holds/registration.py).
    registration_hours: tuple[HHMM, ...] = ()

    # The hold statuses from which a patron may cancel (取消申込) or change the pickup
    # branch (受取館の変更) from the web; past them the batch refuses and the patron is told
    # to contact the library (seed 001). An empty pickup list: the library offers no change.
    web_cancel_statuses: tuple[ActiveHoldStatus, ...] = (*lifecycle.QUEUED, lifecycle.S.SUSPENDED.value,
                                                         lifecycle.S.ALLOCATED.value)
    pickup_change_statuses: tuple[ActiveHoldStatus, ...] = ()
    # Library-time [start, end) in which the front end takes no request (seed 004: 午前3時から
    # 午前4時の間は予約できません); empty where the library never closes its web service.
    closed_window: tuple[HHMM, HHMM] | tuple[()] = ()

    def __post_init__(self) -> None:  # pydantic calls it after the fields are checked; a ValueError names the section
        hours, window = self.registration_hours, self.closed_window
        if hours and (len(hours) != 2 or hours[0] >= hours[1]):
            raise ValueError("registration_hours is [opening, closing], opening first, or empty")
        if window and window[0] == window[1]:
            raise ValueError("closed_window needs a start and a different end, e.g. [\"03:00\", \"04:00\"]")


@dataclass(frozen=True, kw_only=True)
class Allocation(Section):
    """Binding copies to holds (batch/s09_allocate.py)."""

    # Holds from these channels get an open-shelf copy only from the next open day of the
    # copy's branch after the request (seed 002: 申込みの翌開館日以降); others at once.
    onshelf_from_next_open_day_channels: tuple[Channel, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Queue(Section):
    """[queue]: the order of a title's waiting holds."""

    order: Literal["receipt", "counter_same_day_first"] = "receipt"


@dataclass(frozen=True, kw_only=True)
class Series(Section):
    """[series]: whether a series' volumes are held in order, and what opens the next one's gate."""

    ordered: bool
    gate: Literal["allocated", "picked_up"] = "allocated"


@dataclass(frozen=True, kw_only=True)
class Pickup(Section):
    """[pickup]: how long a ready hold waits on the shelf, counted how and from when."""

    days: Annotated[int, Ge(1)]
    count: Literal["calendar", "open_days"] = "calendar"
    start: Literal["notice", "ready"] = "notice"
    start_without_contact: Literal["notice", "ready"] = "ready"
    deadline_on_closed_day: Literal["next_open", "keep"] = "next_open"
    # 取置期限の延長 by staff (`ils hold extend`): at most this many days after the deadline the
    # copy was first given on the hold shelf; 0: the library does not extend.
    max_extension_days: Annotated[int, Ge(0)] = 7


@dataclass(frozen=True, kw_only=True)
class Notices(Section):
    """[notices]: how notices are grouped and when they are sent."""

    mode: Literal["per_item", "digest"]
    send_times: tuple[HHMM, ...]
    open_days_only: bool = True
    send_on: Literal["same_day", "next_open_day"] = "same_day"
    accepted_mail: bool = False
    receipt_mail_offered: bool = False
    email_registered_mail: Literal["none", "immediately", "next_morning"] = "none"
    # The confirmation's subject: 登録完了 for a first address and 変更完了 for a new one
    # (by_case), or 変更完了 always (Kitsuki's 「メールアドレス変更完了のお知らせ」).
    email_registered_subject: Literal["by_case", "always_change"] = "by_case"
    charset: Literal["utf-8", "iso-2022-jp"] = "utf-8"


@dataclass(frozen=True, kw_only=True)
class Loans(Section):
    """Lending at the counter."""

    days: Annotated[int, Ge(1)] = 14
    due_on_closed_day: Literal["keep", "next_open"] = "next_open"
    # A ready copy is lent only once its ready mail has been sent (seed 003: 資料の貸出は、
    # 資料用意のおしらせ送信後となります); the counter may override, audited.
    lend_after_ready_mail: bool = False


@dataclass(frozen=True, kw_only=True)
class Renewal(Section):
    """[renewal]: how often and for how long a loan may be renewed, and what blocks it."""

    max_renewals: Annotated[int, Ge(0)]
    due_offset_days: Annotated[int, Ge(1)]
    blocked_if_item_overdue: bool = True
    blocked_if_patron_overdue: bool = False
    blocked_if_held: bool = True
    blocked_if_inter_library: bool = True
    due_on_closed_day: Literal["keep", "next_open"] = "keep"


@dataclass(frozen=True, kw_only=True)
class Passwords(Section):
    """[passwords]: the web service's password rules."""

    min_length: Annotated[int, Ge(1)]
    max_length: Annotated[int, Ge(1)]
    charset: Literal["digits", "alnum", "printable"]
    initial: Literal["none", "birth_mmdd", "birth_yyyymmdd", "random"]
    reset: Literal["clear", "initial", "random"]
    temporary_must_change: bool = True
    # card_birth_phone: Kitakyushu's 本パスワード申請; card_email: Kitsuki's 「パスワードを忘れた時」,
    # a one-time code mailed to the registered address, good for reset_code_minutes.
    self_service: Literal["none", "card_birth_phone", "card_email"] = "none"
    reset_code_minutes: Annotated[int, Interval(ge=5, le=24 * 60)] = 60
    lockout_after: Annotated[int, Ge(1)] = 5
    lockout_minutes: Annotated[int, Ge(1)] = 30


@dataclass(frozen=True, kw_only=True)
class Email(Section):
    """[email]: the addresses a patron may not give."""

    reject_consecutive_dots: bool = True
    reject_dot_before_at: bool = True
    blocked_domains: tuple[str, ...] = ()
    # Files of domains under data/ (one a line), e.g. free_mail_domains.txt: a list a
    # librarian keeps up to date without touching the profile.
    blocked_domain_lists: tuple[str, ...] = ()
    # A registered address makes email the patron's contact method (seed 003: 登録完了後、
    # 図書館からの連絡方法はメールになります).
    registration_sets_contact: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocked_domains", tuple(domain.lower() for domain in self.blocked_domains))
        missing_list_file(self.blocked_domain_lists)


def missing_list_file(names: tuple[str, ...]) -> None:
    """A ValueError naming the first of the domain lists that is not a file under data/."""
    for name in names:
        if not data_path(name).is_file():
            raise ValueError(f"no file {name!r} under {data_path()}")


@dataclass(frozen=True, kw_only=True)
class Newsletter(Section):
    """[newsletter]: whether the library sends one, what it carries and when."""

    enabled: bool = False
    # What an issue carries: new arrivals by NDC subject (新着図書案内), event announcements (行事案内).
    kinds: tuple[Literal["new_arrivals", "events"], ...] = ("new_arrivals",)
    weekday: Weekday = "tue"
    time: HHMM = "10:00"


@dataclass(frozen=True, kw_only=True)
class Labels(Section):
    """The Japanese status labels patrons read, by hold status."""

    pending: str = "予約申込"
    waiting: str = "確保待ち"
    series_waiting: str = "準備中"
    allocated: str = "確保待ち"
    in_transit: str = "他館確保"
    ready: str = "貸出可能"
    suspended: str = "一時停止中"
    cancel_requested: str = "取消申込"
    fulfilled: str = "貸出済"
    cancelled: str = "取消"
    expired: str = "取置期限切れ"


@dataclass(frozen=True, kw_only=True)
class Batch(Section):
    """When the library accepts requests; documentation for cron, read by `ils policy show`."""

    schedule: str


@dataclass(frozen=True, kw_only=True)
class Policy(Section):
    """A library's whole policy profile, one section a table of its TOML."""

    profile: str
    library: Library
    calendar: Calendar = Calendar()
    eligibility: Eligibility = Eligibility()
    holds: Holds
    requests: Requests
    queue: Queue = Queue()
    allocation: Allocation = Allocation()
    series: Series
    pickup: Pickup
    notices: Notices
    loans: Loans = Loans()
    renewal: Renewal
    passwords: Passwords
    email: Email = Email()
    newsletter: Newsletter = Newsletter()
    labels: Labels = Labels()
    batch: Batch

    def pickup_period(self) -> dt.timedelta:
        return dt.timedelta(days=self.pickup.days)


def profiles_dir() -> Path:
    return data_path("profiles")


def available_profiles() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise PolicyError(_("policy file {path} does not exist").format(path=path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(_("{path}: not valid TOML: {exc}").format(path=path, exc=exc)) from None


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_profile(ref: str) -> Path:
    """A profile name (`kitami`) or a path to a TOML file."""
    if ref.endswith(".toml") or "/" in ref:
        return Path(ref)
    path = profiles_dir() / f"{ref}.toml"
    if not path.exists():
        raise PolicyError(
            _("no policy profile named {ref!r}; known profiles: {profiles}").format(ref=ref, profiles=', '.join(available_profiles()))
        )
    return path


def load_policy(ref: str, overrides: dict | None = None, *, _seen: tuple = ()) -> Policy:
    """Load a profile, following `extends`, then apply an installation's overrides."""
    path = resolve_profile(ref)
    raw = _read_toml(path)
    parent = raw.pop("extends", None)
    if parent is not None:
        if parent in _seen:
            raise PolicyError(_("{path}: `extends` loops back to {parent!r}").format(path=path, parent=parent))
        base = dataclasses.asdict(load_policy(parent, _seen=_seen + (parent,)))
        base.pop("profile")
        raw = _merge(base, raw)
    raw = _merge(raw, overrides or {})
    raw.setdefault("profile", path.stem)
    return _validated(raw, path, overrides)


def dump(policy: Policy) -> dict:
    """Every value of the policy as JSON types (`ils policy show`)."""
    return _adapter().dump_python(policy, mode="json")


@functools.cache
def _adapter() -> TypeAdapter[Policy]:
    """pydantic's reader of a whole profile, built by the first command that validates or shows one.

    The sections' annotations name annotated_types' constraints (Ge, Interval, and HHMM and
    MonthDay below), which only pydantic reads: they are defined here, where pydantic is loaded,
    not by every command that reads a policy from its cache (their 13 dataclasses were some
    2% of an intraday run as a process). pydantic resolves an annotation in the dataclass's
    module and then in the namespace of the function that builds the adapter: this one."""
    from annotated_types import Ge, Interval, Predicate  # noqa: F401 - named by the sections' annotations
    from pydantic import TypeAdapter

    HHMM = Annotated[str, Predicate(is_hh_mm)]  # noqa: F841 - named by the sections' annotations
    MonthDay = Annotated[str, Predicate(is_mm_dd)]  # noqa: F841
    return TypeAdapter(Policy)


# A policy pydantic has validated is kept, pickled, in the user's cache folder, named by a
# hash of what it validated (the profile merged with its parents and the overrides) and of
# the rules (this module and the values its Literals take from the schema). A command that
# starts with a policy seen before loads it without pydantic: importing it and building
# the validators is some 60 ms, a fifth of an intraday run as a process. Any change to the
# profile or to the rules makes a new name, so a stale entry is never read.
RULES = (MaterialType, Category, ContactMethod, ActiveHoldStatus, Channel)


def cache_dir() -> Path | None:
    """$XDG_CACHE_HOME/ils, else ~/.cache/ils; None for a process with no home to keep it in."""
    try:
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ils"
    except RuntimeError:  # no $HOME and no entry in the password database
        return None


def _validated(raw: dict, path: Path, overrides: dict | None) -> Policy:
    folder = cache_dir()
    cached = folder / f"policy-{_fingerprint(raw)}.pickle" if folder else None
    policy = _read_cached(cached) if cached else None
    if policy is not None and _lists_still_there(policy):
        return policy
    from pydantic import ValidationError

    try:
        policy = _adapter().validate_python(raw)
    except ValidationError as exc:
        raise PolicyError(_describe(path, exc, overrides)) from None
    if cached:
        _write_cached(cached, policy)
    return policy


def _fingerprint(raw: dict) -> str:
    digest = _rules_digest().copy()
    digest.update(repr(raw).encode())
    return digest.hexdigest()[:32]


@functools.cache
def _rules_digest():
    """The rules' part of every name, read once a process: a profile that extends another
    loads (and names) each of them."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(repr(RULES).encode())
    return digest


def _read_cached(cached: Path) -> Policy | None:
    try:
        with cached.open("rb") as fh:
            if os.fstat(fh.fileno()).st_uid != os.getuid():
                return None  # unpickling runs code: only a file this user wrote is read
            policy = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None  # not there yet, or written by another version: validate again
    return policy if isinstance(policy, Policy) else None


def _write_cached(cached: Path, policy: Policy) -> None:
    from ils.infra import files

    try:
        files.private_dir(cached.parent)
        files.write_private(cached, pickle.dumps(policy))
    except OSError:
        pass  # a read-only home: every command validates, as it did before the cache


def _lists_still_there(policy: Policy) -> bool:
    """The one rule that reads more than the profile: its domain lists must still be files. A
    cached policy whose list has gone is validated again, so pydantic refuses it in the words it
    always uses."""
    try:
        missing_list_file(policy.email.blocked_domain_lists)
    except ValueError:
        return False
    return True


def _describe(path: Path, exc: ValidationError, overrides: dict | None) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"])
        if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            message = "unknown key"
        elif err["type"] == "missing":
            message = "required key is missing"
        else:
            message = err["msg"]
        lines.append(f"{key}: {message}")
    source = f"{path}" + (" with the installation's [policy] overrides" if overrides else "")
    return f"invalid policy in {source}: " + "; ".join(lines)
