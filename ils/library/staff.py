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

from sqlalchemy import func, select

from ils.errors import IlsError
from ils.infra import schema
from ils.infra.audit import audit
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
    "show_cards": "supervisor",  # full card numbers in a title's queue (ils title holds --show-cards)
    "staff_manage": "systems",  # ils staff add / disable
}


class StaffRefused(IlsError):
    """The staff account is unknown, disabled, or its role may not do this; nothing was written."""

    code = "staff_refused"


@dataclass(frozen=True)
class StaffAccount:
    """A member of staff: their id, name and role."""

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


# ils staff add | list | disable --------------------------------------------------------


def add(ctx, staff_id: str, role: str, *, by: str | None, name: str | None = None) -> StaffAccount:
    """`ils staff add`: a systems account (`by`) adds an account, or re-enables a disabled one
    with this role. The bootstrap: an installation's very first account is added without `by`,
    and only while the table is empty; it must be a systems account, or no one could add the next."""
    staff_id = _valid_id(staff_id)
    with ctx.writing():
        if by is None:
            _bootstrap(ctx.conn, staff_id, role)
        else:
            require(ctx.conn, by, "staff_manage")
        s = schema.staff
        existing = ctx.conn.execute(select(s.c.role, s.c.disabled_at).where(s.c.staff_id == staff_id)).first()
        if existing is not None and existing.disabled_at is None:
            raise StaffRefused(_("staff {staff_id!r} already exists ({role}); to change its role, "
                                 "disable it and add it again").format(staff_id=staff_id, role=existing.role))
        added = add_account(ctx.conn, staff_id, role, now=ctx.now, name=name)
        audit(ctx, by or staff_id, "staff_add", None, target=staff_id,
              detail={"role": role, "re_enabled": existing is not None, "bootstrap": by is None})
        return added


# The actors hold_history and the journal name that are not people (ils.holds.timeline).
NOT_STAFF_IDS = frozenset({"batch", "import", "web"})


def _valid_id(staff_id: str) -> str:
    staff_id = (staff_id or "").strip()
    if not staff_id or len(staff_id) > 64 or any(ch.isspace() for ch in staff_id):
        raise StaffRefused(_("{staff_id!r} cannot be a staff id: 1-64 characters, no spaces").format(staff_id=staff_id))
    if staff_id in NOT_STAFF_IDS:
        raise StaffRefused(_("{staff_id!r} cannot be a staff id: the history uses it for the system itself")
                           .format(staff_id=staff_id))
    return staff_id


def _bootstrap(conn, staff_id: str, role: str) -> None:
    if conn.execute(select(func.count()).select_from(schema.staff)).scalar_one():
        raise StaffRefused(_("staff accounts exist already: --staff must name the systems account that adds this one"))
    if role != ROLES[-1]:
        raise StaffRefused(_("the first account ({staff_id!r}) must be a {role} account, or no one could add the next")
                           .format(staff_id=staff_id, role=ROLES[-1]))


def disable(ctx, staff_id: str, *, by: str) -> dict:
    """`ils staff disable`: the account can no longer act (its past rows keep its id). The last
    active systems account stays, or no one could manage accounts again."""
    s = schema.staff
    with ctx.writing():
        require(ctx.conn, by, "staff_manage")
        row = ctx.conn.execute(select(s.c.role, s.c.disabled_at).where(s.c.staff_id == staff_id)).first()
        if row is None:
            raise StaffRefused(_("no staff account {staff_id!r} (ils staff list)").format(staff_id=staff_id))
        if row.disabled_at is not None:
            raise StaffRefused(_("staff {staff_id!r} is already disabled").format(staff_id=staff_id))
        if row.role == ROLES[-1] and _active_count(ctx.conn, ROLES[-1]) == 1:
            raise StaffRefused(_("staff {staff_id!r} is the last active {role} account; add another first")
                               .format(staff_id=staff_id, role=ROLES[-1]))
        ctx.conn.execute(s.update().where(s.c.staff_id == staff_id, s.c.disabled_at.is_(None))
                         .values(disabled_at=ctx.now))
        audit(ctx, by, "staff_disable", None, target=staff_id, detail={"role": row.role})
        return {"staff_id": staff_id, "role": row.role, "disabled_at": ctx.now}


def _active_count(conn, role: str) -> int:
    s = schema.staff
    return conn.execute(select(func.count()).select_from(s).where(s.c.role == role, s.c.disabled_at.is_(None))
                        ).scalar_one()


def accounts(ctx) -> list[dict]:
    """`ils staff list`: every account, active and disabled, by id."""
    s = schema.staff
    query = select(s.c.staff_id, s.c.name, s.c.role, s.c.created_at, s.c.disabled_at).order_by(s.c.staff_id)
    return [dict(row._mapping) for row in ctx.conn.execute(query)]
