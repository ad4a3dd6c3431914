"""Email addresses: whether the library can register and mail one, by the seeds' rules and the RFCs."""

from __future__ import annotations

import re
from functools import lru_cache

from ils.infra.resources import data_path
from ils.library.policy import Email, Policy

MAX_ADDRESS_CHARS = 254
# A local part email_validator always takes (RFC 5322 3.2.3 dot-atom, ASCII: its own first
# test, with no length limit unless strict) before a domain of plain ASCII hostname
# characters: its verdict on such an address is its verdict on the domain, and the length.
# A night checks thousands of addresses at a handful of domains.
ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
PLAIN_LOCAL = re.compile(rf"{ATEXT}+(?:\.{ATEXT}+)*\Z")
PLAIN_DOMAIN = re.compile(r"[A-Za-z0-9.-]+\Z")


def address_problem(address: str, policy: Policy) -> str | None:
    """A reason code if mail cannot (or may not) go to this address, else None.

    The two forms the seeds warn about come first, with their own reason, because
    patrons registered such addresses on old phones (seeds 001, 002): 「.」ドットを連続
    して使用しているアドレスや、「@」アットマークの直前に「.」ドットを使用しているアドレス.
    """
    if not address or len(address) > MAX_ADDRESS_CHARS or "@" not in address:
        return "email_invalid"
    local, _, domain = address.rpartition("@")
    rules = policy.email
    if rules.reject_consecutive_dots and ".." in local:
        return "email_undeliverable"
    if rules.reject_dot_before_at and local.endswith("."):
        return "email_undeliverable"
    if not _valid(address, local, domain):
        return "email_invalid"
    if domain_blocked(domain, rules):
        return "email_domain_blocked"
    return None


def _valid(address: str, local: str, domain: str) -> bool:
    """email_validator's verdict (syntax only, no DNS), its domain checks made once per domain
    when the local part is one it always takes."""
    if PLAIN_LOCAL.match(local) and PLAIN_DOMAIN.match(domain):
        longest = _domain_octets(domain)
        # Its length checks: the address as given, with the domain normalized, and in IDNA ASCII.
        return longest is not None and len(local) + 1 + longest <= MAX_ADDRESS_CHARS
    return _validated(address) is not None


@lru_cache(maxsize=1024)
def _domain_octets(domain: str) -> int | None:
    """The octets of the longest form of `domain` email_validator checks the length of, or None
    if it refuses the domain: checked behind the shortest local part it takes (a longer one
    only makes the address longer)."""
    validated = _validated(f"a@{domain}")
    if validated is None:
        return None
    return max(len(form.encode()) for form in (domain, validated.domain, validated.ascii_domain))


def _validated(address: str):
    """email_validator's result for `address` (syntax only), or None if it refuses it."""
    # Loaded at the first address checked: every batch run imports this module, few check an address.
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None


def domain_blocked(domain: str, rules: Email) -> bool:
    """Whether the profile refuses this domain, by its own list or a list file under data/."""
    domain = domain.lower().rstrip(".")
    return domain in rules.blocked_domains or any(domain in domain_list(name) for name in rules.blocked_domain_lists)


@lru_cache(maxsize=8)
def domain_list(name: str) -> frozenset[str]:
    """The domains of data/<name>: one a line, lower case, `#` comments and blank lines skipped."""
    lines = data_path(name).read_text(encoding="utf-8").splitlines()
    return frozenset(line.split("#", 1)[0].strip().lower() for line in lines) - {""}
