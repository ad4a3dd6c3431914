"""Whether a patron is enrolled in the web service (web_registered), and marking it: journaled for the ILS, audited.

Both ways in use it: staff enrolling a patron at the counter (ils/patrons/enrolment.py)
and a patron choosing their own password on the web (ils/patrons/passwords.py).
"""

from __future__ import annotations

from ils.exchange.journal import Change, record_changes
from ils.holds.acceptance import web_ineligible
from ils.infra import schema
from ils.infra.audit import audit
from ils.infra.context import Context


def enrol_on_web(ctx: Context, patron) -> None:
    """The patron enrolled themselves by choosing a password (in the caller's transaction),
    where the profile enrols on the web; a patron the web service is not for, or of a library
    that enrols at the counter only, keeps the password but is not enrolled."""
    if patron.web_registered or ctx.policy.eligibility.enrolment != "web" or web_service_problem(ctx, patron):
        return
    mark_enrolled(ctx, patron, "web")
    audit(ctx, "web", "web_enrol", patron.id, target=patron.card_number, detail={"by": "patron"})


def web_service_problem(ctx: Context, patron) -> str | None:
    """Why this patron may not be enrolled in the web service, or None."""
    if patron.status != "active":
        return f"the card is {patron.status}"
    if web_ineligible(ctx.policy, web_registered=True, birth_date=patron.birth_date, today=ctx.today):
        grade = ctx.policy.eligibility.web_min_school_grade
        return f"the web service is for pupils from school grade {grade} (中学生以上) on, by the birth date on record"
    return None


def mark_enrolled(ctx: Context, patron, actor: str) -> None:
    """Set web_registered (once) and journal it for the ILS, in the caller's transaction."""
    if patron.web_registered:
        return
    p = schema.patrons
    ctx.conn.execute(p.update().where(p.c.id == patron.id).values(web_registered=True))
    record_changes(ctx.conn, [Change("enrolment", patron.id, "web_registered", False, True)], at=ctx.now, actor=actor)
