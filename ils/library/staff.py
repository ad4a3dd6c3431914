"""Staff accounts and what each role may do.

`--staff` names an account in the `staff` table (`ils staff add|list|disable`). Each
account has one role; a role may do what the roles before it may, and more:

    counter < supervisor < systems

`PERMISSIONS` says which role an action needs (docs/counter.md shows the table). An
unknown or disabled account, or one whose role is too low, is refused with one line
before anything is written. How staff sign in to the terminal stays the operating
system's business: this is who did what, and what they may do, not authentication.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ils.errors import IlsError
from ils.infra import schema
from ils.infra.i18n import _

ROLES: tuple[str, ...] = schema.STAFF_ROLES  # lowest first

# action -> the lowest role that may do it
PERMISSIONS: dict[str, str] = {
    "checkout": "counter",
    "checkin": "counter",
    "renew": "counter",
    "pull": "counter",
    "transit": "counter",
    "reshelve": "counter",
    "hold_place": "counter",
    "hold_cancel": "counter",  # cancel on the patron's behalf
    "hold_suspend": "counter",
    "hold_resume": "counter",
    "hold_not_needed_after": "counter",
    "hold_pickup_change": "counter",
    "patron_enrol": "counter",
    "mail_resend": "counter",
    "override": "supervisor",  # a rule overridden at the counter (--override)
    "hold_extend": "supervisor",  # 取置期限の延長
    "hold_queue_move": "supervisor",
    "password_reset": "supervisor",
    "staff_manage": "systems",  # ils staff add / disable
}


class StaffRefused(IlsError):
    """The staff account is unknown, disabled, or its role may not do this; nothing was written."""

    code = "staff_refused"


@dataclass(frozen=True)
class StaffAccount:
    staff_id: str
    name: str | None
    role: str


def role_may(role: str, action: str) -> bool:
    """Whether `role` may do `action` (an unknown action needs the highest role)."""
    needed = PERMISSIONS.get(action, ROLES[-1])
    return ROLES.index(role) >= ROLES.index(needed)


def account(conn, staff_id: str) -> StaffAccount | None:
    """The active account `staff_id`, or None if there is none or it is disabled."""
    s = schema.staff
    row = conn.execute(select(s.c.staff_id, s.c.name, s.c.role).where(
        s.c.staff_id == staff_id, s.c.disabled_at.is_(None))).first()
    return StaffAccount(*row) if row else None


def require(conn, staff_id: str, action: str) -> StaffAccount:
    """The account, if it exists, is active, and its role may do `action`; else StaffRefused."""
    found = account(conn, staff_id)
    if found is None:
        raise StaffRefused(_("staff {staff_id!r} is not an active staff account (ils staff list)").format(staff_id=staff_id))
    if not role_may(found.role, action):
        raise StaffRefused(_("staff {staff_id!r} ({role}) may not {action}: it needs {permissions}").format(staff_id=staff_id, role=found.role, action=action, permissions=PERMISSIONS[action]))
    return found


def add_account(conn, staff_id: str, role: str, *, now, name: str | None = None) -> StaffAccount:
    """Create an account (or re-enable a disabled one with this role), in the caller's transaction."""
    if role not in ROLES:
        raise StaffRefused(_("unknown role {role!r}: one of {roles}").format(role=role, roles=', '.join(ROLES)))
    s = schema.staff
    if conn.execute(select(s.c.staff_id).where(s.c.staff_id == staff_id)).first():
        conn.execute(s.update().where(s.c.staff_id == staff_id).values(role=role, name=name, disabled_at=None))
    else:
        conn.execute(s.insert().values(staff_id=staff_id, role=role, name=name, created_at=now))
    return StaffAccount(staff_id, name, role)
