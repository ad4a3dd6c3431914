"""Enrolling a patron for the web service at the counter: the profile's first password, journaled and audited."""

from __future__ import annotations

from dataclasses import dataclass

from ils.errors import IlsError
from ils.holds.facts import patron_by_card
from ils.infra.audit import audit
from ils.infra.context import Context
from ils.infra.i18n import _
from ils.patrons.passwords import issue_password
from ils.patrons.web_service import mark_enrolled, web_service_problem

# What the patron is told at the counter about their first password, by the profile's rule.
PASSWORD_ISSUED = {
    "clear": "none: the patron registers a password on the web",  # Kitami: パスワードを登録してください
    "initial": "the birth-date initial value",  # Mito (MMDD), Murakami (YYYYMMDD)
    "random": "a temporary password, shown once",  # Kitakyushu, Kitsuki: 仮パスワードを発行
}


class NotEligible(IlsError):
    """The web service is not for this patron (not active, or under the profile's age)."""

    code = "not_eligible"


@dataclass(frozen=True)
class Enrolment:
    card: str
    password: str  # what the patron got: see PASSWORD_ISSUED, or kept
    shown_once: str | None = None


def enrol(ctx: Context, card: str, *, staff: str, why: str | None = None) -> Enrolment:
    """Enrol a patron at the counter (the application form, a counter-issued password): the
    profile's first password, web_registered set, journaled for the ILS, audited."""
    with ctx.writing():
        patron = patron_by_card(ctx.conn, card)
        _check_may_enrol(ctx, patron)
        if patron.password_state == "real":
            issued, shown = "kept: the patron's own password", None
        elif ctx.policy.passwords.reset == "clear":
            issued, shown = PASSWORD_ISSUED["clear"], None  # nothing to issue: the patron sets it
        else:
            shown = issue_password(ctx, patron, staff)
            issued = PASSWORD_ISSUED[ctx.policy.passwords.reset]
        mark_enrolled(ctx, patron, staff)
        audit(ctx, staff, "web_enrol", patron.id, target=patron.card_number, reason=why, detail={"password": issued})
    return Enrolment(patron.card_number, issued, shown)


def _check_may_enrol(ctx: Context, patron) -> None:
    problem = web_service_problem(ctx, patron)
    if problem:
        raise NotEligible(_("card {card_number} cannot be enrolled for the web service: {problem}").format(card_number=patron.card_number, problem=problem))
