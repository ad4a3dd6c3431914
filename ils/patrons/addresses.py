"""Email addresses: whether the library can register and mail one, by the seeds' rules and the RFCs."""

from __future__ import annotations

from functools import lru_cache

from ils.infra.resources import data_path
from ils.library.policy import Email, Policy

MAX_ADDRESS_CHARS = 254


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
    # Loaded at the first address checked: every batch run imports this module, few check an address.
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return "email_invalid"
    if domain_blocked(domain, rules):
        return "email_domain_blocked"
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
