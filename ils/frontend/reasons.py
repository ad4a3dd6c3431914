"""Stable reason codes for rejected requests; their words (English for the log, Japanese for the patron) are in data/words/."""

from __future__ import annotations

from dataclasses import dataclass

from ils.infra import words

# The codes are stored in pending_requests.reason and named in mail templates, so they never
# change; what a person reads for each is data/words/<language>.toml [reasons].
REASON_CODES = (
    # The request itself
    "malformed", "unknown_kind", "bad_received_at", "requests_closed", "duplicate",
    # The patron
    "unknown_card", "patron_blocked", "not_eligible", "overdue", "limit_reached",
    # The title
    "unknown_title", "not_owned", "not_catalogued", "not_holdable", "counter_only", "on_shelf",
    "only_copy_long_overdue", "already_on_loan", "already_held",
    # Where and how
    "unknown_pickup", "pickup_not_offered", "contact_not_offered", "contact_unavailable", "series_invalid",
    # Cancellations
    "unknown_hold", "cancel_too_late",
    # Pickup changes (受取館の変更, seed 001)
    "pickup_change_not_offered", "pickup_change_too_late", "already_closed",
    # Contact-method changes (連絡方法の変更, seed 002)
    "contact_change_not_offered",
    # Newsletter (メールマガジン, seed 000)
    "newsletter_not_offered",
    # Suspending a hold (予約の一時停止) and its not-needed-after date (有効期限)
    "suspend_too_late", "already_suspended", "not_suspended", "date_in_past", "not_needed_after_too_late",
    # Renewals
    "unknown_loan", "renewed_already", "item_overdue", "patron_overdue", "held_by_others", "inter_library",
    "not_extended", "renew_pending",
    # Email changes
    "email_invalid", "email_undeliverable", "email_domain_blocked",
)


@dataclass(frozen=True)
class Reason:
    """A rejection reason: its code and what it says in English and in Japanese."""

    code: str
    en: str
    ja: str


def _load() -> dict[str, Reason]:
    texts = words.section("reasons", REASON_CODES)
    return {code: Reason(code, texts["en"][code], texts["ja"][code]) for code in REASON_CODES}


# Read when the program starts: a words file that lacks a code stops it at once, naming the code.
REASONS: dict[str, Reason] = _load()


def reason(code: str) -> Reason:
    return REASONS[code]
