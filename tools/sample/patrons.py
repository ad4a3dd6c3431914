"""The patrons: ages, status, contact details, web registration, and the patrons file."""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from ils.tools.sample import compact
from ils.tools.sample import names as N
from ils.tools.sample.draws import cumulative, random_stream, weighted
from ils.tools.sample.formats import card_number, iso_day
from ils.tools.sample.spec import SampleSpec
from ils.tools.sample.town import Town

EMAIL_KINDS = ("", "ordinary", "consecutive_dots", "dot_before_at", "free_mail")
NO_EMAIL, ORDINARY_EMAIL, CONSECUTIVE_DOTS, DOT_BEFORE_AT, FREE_MAIL = range(5)
CONTACTS = ("", "email", "phone", "none")  # blank in holds.csv: the patron's usual method
USUAL_CONTACT, BY_EMAIL, BY_PHONE, NO_CONTACT = range(4)
PATRON_STATUSES = ("active", "suspended", "expired")
ACTIVE, SUSPENDED, EXPIRED = range(3)
AGE_BRACKETS = ((5, 11, 14), (12, 15, 7), (16, 22, 8), (23, 39, 20), (40, 64, 32), (65, 90, 19))


@dataclass
class Readers:
    """Per patron: what loans, holds and requests need to know; names are made when written."""

    birth: array = compact.column("i")  # ordinal day
    status: bytearray = compact.column()  # index into PATRON_STATUSES
    email: bytearray = compact.column()  # index into EMAIL_KINDS
    phone: bytearray = compact.column()
    contact: bytearray = compact.column()  # index into CONTACTS
    home: bytearray = compact.column()
    web: bytearray = compact.column()
    english: bytearray = compact.column()
    young: array = compact.column("I")  # below junior-high age (seed 003: web service from junior high)
    boundary: array = compact.column("I")  # born right around the junior-high cut-off
    inactive: array = compact.column("I")  # suspended or expired
    unregistered: array = compact.column("I")  # not registered for the web service

    @property
    def count(self) -> int:
        return len(self.status)


def junior_high_cutoff(day: dt.date) -> dt.date:
    """The latest birth date of a junior-high pupil on `day` (Japanese school years start on April 2)."""
    school_year = day.year if day.month >= 4 else day.year - 1
    return dt.date(school_year - 12, 4, 1)


def _boundary_births(day: dt.date) -> list[dt.date]:
    """JH1's youngest and oldest, grade 6's oldest, a 12th birthday today, a 13th tomorrow."""
    cutoff = junior_high_cutoff(day)
    one = dt.timedelta(days=1)
    return [cutoff, cutoff + one, _years_before(cutoff, 1) + one, _years_before(day, 12), _years_before(day, 13) + one]


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def plan_readers(spec: SampleSpec, town: Town) -> Readers:
    rng = random_stream(spec, "readers")
    r = Readers()
    ages = cumulative(w for _, _, w in AGE_BRACKETS)
    bd = spec.business_day.toordinal()
    for _ in range(spec.patrons):
        lo, hi, _w = AGE_BRACKETS[weighted(rng, ages)]
        r.birth.append(bd - rng.randint(lo * 365 + 1, (hi + 1) * 365 - 1))
        _plan_patron(rng, r, town)
    for p, birth in zip(rng.sample(range(spec.patrons), 5), _boundary_births(spec.business_day), strict=True):
        r.birth[p] = birth.toordinal()
    _index_readers(spec, r)
    return r


def _plan_patron(rng, r: Readers, town: Town) -> None:
    """Most are active with a phone; six in ten gave an address, a few of them one mail cannot reach."""
    status = SUSPENDED if rng.random() < 0.01 else EXPIRED if rng.random() < 0.03 else ACTIVE
    email = NO_EMAIL
    if rng.random() < 0.62:
        x = rng.random()
        email = (CONSECUTIVE_DOTS if x < 0.04 else DOT_BEFORE_AT if x < 0.07 else FREE_MAIL if x < 0.15
                 else ORDINARY_EMAIL)
    phone = rng.random() < 0.88
    contact = (BY_EMAIL if email and rng.random() < 0.8 else BY_PHONE if phone and rng.random() < 0.6
               else NO_CONTACT)
    r.status.append(status)
    r.email.append(email)
    r.phone.append(phone)
    r.contact.append(contact)
    r.home.append(town.holding[weighted(rng, town.stock)])
    r.web.append(rng.random() < (0.92 if email else 0.6))
    r.english.append(rng.random() < 0.012)


def _index_readers(spec: SampleSpec, r: Readers) -> None:
    cutoff = junior_high_cutoff(spec.business_day).toordinal()
    boundary = {d.toordinal() for d in _boundary_births(spec.business_day)}
    for p, birth in enumerate(r.birth):
        if birth > cutoff:
            r.young.append(p)
        if birth in boundary:
            r.boundary.append(p)
        if r.status[p] != ACTIVE:
            r.inactive.append(p)
        if not r.web[p]:
            r.unregistered.append(p)


def _newsletter(rng, email_kind: int) -> str:
    """Kitami's 新着図書案内 by subject (seed 000): a quarter of the patrons with a usable
    address choose one to three NDC classes."""
    if email_kind != ORDINARY_EMAIL or rng.random() >= 0.25:
        return ""
    return ",".join(sorted(rng.sample("0123456789", rng.randint(1, 3))))


def patron_rows(spec: SampleSpec, r: Readers, town: Town) -> Iterator[dict]:
    rng = random_stream(spec, "patron-names")
    subscriptions = random_stream(spec, "patron-newsletter")
    for p in range(r.count):
        name, kana, romaji = _patron_name(rng, r.english[p])
        birth = r.birth[p]
        registered = rng.randint(max(birth + 3 * 365, dt.date(1995, 4, 1).toordinal()),
                                 spec.business_day.toordinal() - 1)
        yield {
            "card": card_number(p), "name": name, "name_kana": kana, "birth_date": iso_day(birth),
            "phone": _phone(rng) if r.phone[p] else "", "email": _email(rng, r.email[p], romaji, p),
            "contact_method": CONTACTS[r.contact[p]], "home_branch": town.branches[r.home[p]].code,
            "status": PATRON_STATUSES[r.status[p]], "web_registered": "yes" if r.web[p] else "no",
            "language": "en" if r.english[p] else "ja", "registered_on": iso_day(registered),
            "newsletter": _newsletter(subscriptions, r.email[p]),
        }


def _patron_name(rng, english: bool) -> tuple[str, str, tuple[str, str]]:
    if english:
        name, kana, romaji = rng.choice(N.FOREIGN_NAMES)
        first, last = romaji.split(".")
        return name, kana, (first, last)
    family, given = rng.choice(N.FAMILY_NAMES), rng.choice(N.GIVEN_NAMES)
    return f"{family[0]} {given[0]}", f"{family[1]} {given[1]}", (given[2], family[2])


def _phone(rng) -> str:
    if rng.random() < 0.6:
        return f"0{rng.choice('789')}0-0{rng.randrange(1000):03d}-{rng.randrange(10000):04d}"
    return f"0299-0{rng.randrange(10)}-{rng.randrange(10000):04d}"


def _email(rng, kind: int, romaji: tuple[str, str], p: int) -> str:
    given, family = romaji
    if kind == CONSECUTIVE_DOTS:
        return f"{given}..{family}@{rng.choice(N.MAIL_DOMAINS)}"  # seeds 001/002: cannot be mailed
    if kind == DOT_BEFORE_AT:
        return f"{given}.@{rng.choice(N.MAIL_DOMAINS)}"
    if kind == NO_EMAIL:
        return ""
    local = rng.choice((f"{given}.{family}", f"{family}{given[0]}", f"{given}_{family}", f"{family}.{given}"))
    domains = N.FREE_MAIL_DOMAINS if kind == FREE_MAIL else N.MAIL_DOMAINS
    return f"{local}{p % 997}@{rng.choice(domains)}"
