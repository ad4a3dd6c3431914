"""Enrolling a patron for the web service as the profile says: at the counter or on the web, journaled and audited."""

from __future__ import annotations

from dataclasses import dataclass

from ils.infra import schema
from ils.infra.audit import audit
from ils.exchange.journal import Change, record_changes
from ils.infra.context import Context
from ils.errors import IlsError
from ils.holds.facts import patron_by_card
from ils.patrons.passwords import issue_password
from ils.holds.acceptance import web_ineligible

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
        _mark(ctx, patron, staff)
        audit(ctx, staff, "web_enrol", patron.id, target=patron.card_number, reason=why, detail={"password": issued})
    return Enrolment(patron.card_number, issued, shown)


def enrol_on_web(ctx: Context, patron) -> None:
    """The patron enrolled themselves by choosing a password (in the caller's transaction),
    where the profile enrols on the web; a patron the web service is not for, or of a library
    that enrols at the counter only, keeps the password but is not enrolled."""
    if patron.web_registered or ctx.policy.eligibility.enrolment != "web" or _problem(ctx, patron):
        return
    _mark(ctx, patron, "web")
    audit(ctx, "web", "web_enrol", patron.id, target=patron.card_number, detail={"by": "patron"})


def _problem(ctx: Context, patron) -> str | None:
    if patron.status != "active":
        return f"the card is {patron.status}"
    if web_ineligible(ctx.policy, web_registered=True, birth_date=patron.birth_date, today=ctx.today):
        grade = ctx.policy.eligibility.web_min_school_grade
        return f"the web service is for pupils from school grade {grade} (中学生以上) on, by the birth date on record"
    return None


def _check_may_enrol(ctx: Context, patron) -> None:
    problem = _problem(ctx, patron)
    if problem:
        raise NotEligible(f"card {patron.card_number} cannot be enrolled for the web service: {problem}")


def _mark(ctx: Context, patron, actor: str) -> None:
    if patron.web_registered:
        return
    p = schema.patrons
    ctx.conn.execute(p.update().where(p.c.id == patron.id).values(web_registered=True))
    record_changes(ctx.conn, [Change("enrolment", patron.id, "web_registered", False, True)], at=ctx.now, actor=actor)
