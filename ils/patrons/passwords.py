"""Web-service passwords: salted scrypt hashes only, the profile's rules, resets, lockout, audit."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

from sqlalchemy import select

from ils.errors import IlsError, UnknownPatron
from ils.exchange.journal import Change, record_changes
from ils.holds.facts import patron_by_card
from ils.infra import schema
from ils.infra.audit import audit
from ils.infra.context import Context
from ils.infra.i18n import _
from ils.library.clock import LIBRARY_TZ
from ils.library.policy import Passwords
from ils.mail import compose
from ils.mail.render import Due, queue_rendered
from ils.mail.settings import mail_settings
from ils.patrons.web_service import enrol_on_web

# scrypt parameters (RFC 7914's interactive-login recommendation): about 16 MB and a few
# tens of milliseconds per hash. Stored with the hash, so they can be raised later.
SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_BYTES = 2**14, 8, 1, 32
CHARSETS = {
    "digits": re.compile(r"[0-9]+"),
    "alnum": re.compile(r"[A-Za-z0-9]+"),
    "printable": re.compile(r"[!-~]+"),  # printable ASCII, no space
}


class PasswordRejected(IlsError):
    """A new password breaks the profile's rules, or the check of identity failed."""

    code = "password_rejected"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=KEY_BYTES)
    encode = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt)}${encode(key)}"


def password_matches(password: str, stored: str | None) -> bool:
    """Constant-time comparison against a stored hash; False for no hash or a malformed one."""
    try:
        scheme, n, r, p, salt, key = (stored or "").split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def rule_problem(password: str, rules: Passwords) -> str | None:
    """Why a chosen (real) password breaks the profile's rules, or None."""
    if not rules.min_length <= len(password) <= rules.max_length:
        return f"must be {rules.min_length} to {rules.max_length} characters long"
    if not CHARSETS[rules.charset].fullmatch(password):
        allowed = {"digits": "half-width digits", "alnum": "half-width letters and digits",
                   "printable": "half-width letters, digits and symbols"}[rules.charset]
        return f"may contain only {allowed}"
    return None


def initial_password(birth_date: dt.date | None, rules: Passwords) -> str:
    """The birth-date password of seeds 002 (MMDD) and 004 (YYYYMMDD)."""
    if birth_date is None:
        raise IlsError(_("the patron has no birth date on record, so the initial password cannot be set"))
    return birth_date.strftime("%m%d" if rules.initial == "birth_mmdd" else "%Y%m%d")


def random_temporary(rules: Passwords) -> str:
    alphabet = string.digits if rules.charset == "digits" else string.ascii_letters + string.digits
    length = max(rules.min_length, min(rules.max_length, 10))
    return "".join(secrets.choice(alphabet) for _position in range(length))


def _store(ctx: Context, patron_id: int, password: str | None, state: str, actor: str = "web") -> None:
    p = schema.patrons
    was = ctx.conn.execute(select(p.c.password_state).where(p.c.id == patron_id)).scalar_one()
    # The ILS learns the state (never the password): a reset is an event even to the same state.
    record_changes(ctx.conn, [Change("password", patron_id, "password_state", was, state, always=True)],
                   at=ctx.now, actor=actor)
    ctx.conn.execute(p.update().where(p.c.id == patron_id).values(
        password_hash=hash_password(password) if password else None, password_state=state,
        password_changed_at=ctx.now, failed_logins=0, locked_until=None,
    ))


@dataclass(frozen=True)
class Reset:
    card: str
    mode: str  # initial, random or clear (the profile's)
    state: str
    shown_once: str | None = None  # a random temporary password: shown to staff this once, never stored


def reset(ctx: Context, card: str, *, staff: str, why: str | None = None) -> Reset:
    """Reset a forgotten password as the profile says, unlock the account, and audit it.

    Kitami clears it (パスワードを消去いたしますので、再度設定を); Mito and Murakami return to
    the birth-date initial value; Kitakyushu and Kitsuki issue a random temporary one,
    shown once to the staff member.
    """
    rules = ctx.policy.passwords
    with ctx.writing():
        patron = patron_by_card(ctx.conn, card)
        shown = issue_password(ctx, patron, staff)
        state = "none" if rules.reset == "clear" else "temporary"
        audit(ctx, staff, "password_reset", patron.id, target=patron.card_number, reason=why,
              detail={"mode": rules.reset})
    return Reset(patron.card_number, rules.reset, state, shown)


def issue_password(ctx: Context, patron, staff: str) -> str | None:
    """Give the patron the password the profile issues at the counter, in the caller's
    transaction: none (the patron sets one on the web), the birth-date initial value, or a
    random temporary one, which is returned to be shown this once."""
    rules = ctx.policy.passwords
    if rules.reset == "clear":
        _store(ctx, patron.id, None, "none", staff)
        return None
    if rules.reset == "initial":
        _store(ctx, patron.id, initial_password(patron.birth_date, rules), "temporary", staff)
        return None
    shown = random_temporary(rules)
    _store(ctx, patron.id, shown, "temporary", staff)
    return shown


@dataclass(frozen=True)
class Login:
    ok: bool
    outcome: str  # ok, unknown_card, blocked, no_password, locked, wrong_password
    must_change: bool = False
    locked_until: dt.datetime | None = None


def verify_login(ctx: Context, card: str, password: str) -> Login:
    """Check a login; failures count towards the profile's lockout."""
    rules = ctx.policy.passwords
    with ctx.writing():
        try:
            patron = patron_by_card(ctx.conn, card)
        except UnknownPatron:
            return Login(False, "unknown_card")
        if patron.locked_until is not None and patron.locked_until > ctx.now:
            return Login(False, "locked", locked_until=patron.locked_until)
        if patron.status != "active":
            return Login(False, "blocked")
        if patron.password_hash is None and rules.initial not in ("birth_mmdd", "birth_yyyymmdd"):
            return Login(False, "no_password")
        if not _accepts(patron, password, rules):
            return _failed(ctx, patron, rules)
        ctx.conn.execute(schema.patrons.update().where(schema.patrons.c.id == patron.id)
                         .values(failed_logins=0, locked_until=None))
        temporary = patron.password_state == "temporary" or patron.password_hash is None
        must_change = temporary and rules.temporary_must_change
        return Login(True, "ok", must_change=must_change)


def _accepts(patron, password: str, rules: Passwords) -> bool:
    if patron.password_hash is not None:
        return password_matches(password, patron.password_hash)
    # Never set: the birth-date initial value is the temporary password (seed 004:
    # 初めてログインされる場合、生年月日西暦8桁(例:19700101)が仮パスワードとして設定されています).
    if patron.birth_date is None:
        return False
    return hmac.compare_digest(password.encode(), initial_password(patron.birth_date, rules).encode())


def _failed(ctx: Context, patron, rules: Passwords) -> Login:
    failures = patron.failed_logins + 1
    locked_until = None
    if failures >= rules.lockout_after:
        locked_until = ctx.now + dt.timedelta(minutes=rules.lockout_minutes)
        failures = 0
    ctx.conn.execute(schema.patrons.update().where(schema.patrons.c.id == patron.id)
                     .values(failed_logins=failures, locked_until=locked_until))
    if locked_until is not None:
        return Login(False, "locked", locked_until=locked_until)
    return Login(False, "wrong_password")


def change_password(ctx: Context, card: str, old: str, new: str) -> None:
    """The patron replaces their (temporary or real) password with a real one."""
    login = verify_login(ctx, card, old)
    if not login.ok:
        raise PasswordRejected(_("the current password was not accepted ({outcome})").format(outcome=login.outcome))
    _set_real(ctx, card, new)


def set_first_password(ctx: Context, card: str, new: str) -> None:
    """Kitami: a patron with no password (new, or erased by staff) registers one on the web."""
    with ctx.writing():
        if patron_by_card(ctx.conn, card).password_state != "none":
            raise PasswordRejected(_("the card already has a password; change it after logging in"))
    _set_real(ctx, card, new)


def self_service(ctx: Context, card: str, birth_date: dt.date, phone: str, new: str) -> None:
    """Kitakyushu's 本パスワード申請: card, birth date and the registered phone number prove who it is."""
    if ctx.policy.passwords.self_service != "card_birth_phone":
        raise PasswordRejected(_("this library does not offer password self-service; ask at the counter"))
    digits = lambda s: re.sub(r"\D", "", s or "")  # noqa: E731
    with ctx.writing():
        patron = patron_by_card(ctx.conn, card)
        if not patron.phone:
            # 電話番号登録をしていない方は、パスワードの申請ができません
            raise PasswordRejected(_("no phone number is registered; ask at the counter for a temporary password"))
        if patron.locked_until is not None and patron.locked_until > ctx.now:
            raise PasswordRejected(_("too many failed attempts; try again later"))
        matches = patron.birth_date == birth_date and digits(patron.phone) == digits(phone)
        if not matches:
            _failed(ctx, patron, ctx.policy.passwords)  # committed with the block: the lockout counts it
    if not matches:
        raise PasswordRejected(_("the birth date or phone number does not match the library's record"))
    _set_real(ctx, card, new)


def _set_real(ctx: Context, card: str, new: str) -> None:
    problem = rule_problem(new, ctx.policy.passwords)
    if problem:
        raise PasswordRejected(_("the new password {problem}").format(problem=problem))
    with ctx.writing():
        patron = patron_by_card(ctx.conn, card)
        _store(ctx, patron.id, new, "real")
        # A password the patron chose on the web (registration, 本パスワード申請, the first
        # log-in's change) is their enrolment in the web service.
        enrol_on_web(ctx, patron)


# A one-time code typed from a phone's screen: no 0/O or 1/I to confuse.
RESET_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
RESET_CODE_LENGTH = 10


def forgotten(ctx: Context, card: str, address: str) -> None:
    """Kitsuki's 「パスワードを忘れた時」: with the card and the registered address, a one-time
    code goes to that address (照会にはお答えできません: no password is ever told or mailed).

    Says nothing either way: the page shows the same words whether or not the two matched,
    so it cannot be used to learn whose card or address is whose; a mismatch counts towards
    the lockout.
    """
    rules = ctx.policy.passwords
    if rules.self_service != "card_email":
        raise PasswordRejected(_("this library does not offer password self-service; ask at the counter"))
    with ctx.writing():
        try:
            patron = patron_by_card(ctx.conn, card)
        except UnknownPatron:
            return
        if _locked(ctx, patron) or patron.status != "active":
            return
        if not patron.email or patron.email.strip().lower() != (address or "").strip().lower():
            _failed(ctx, patron, rules)
            return
        code = "".join(secrets.choice(RESET_CODE_ALPHABET) for _position in range(RESET_CODE_LENGTH))
        expires = ctx.now + dt.timedelta(minutes=rules.reset_code_minutes)
        r = schema.password_resets
        reset_id = ctx.conn.execute(r.insert().values(
            patron_id=patron.id, code_hash=_code_hash(code), created_at=ctx.now, expires_at=expires,
        ).returning(r.c.id)).scalar_one()
        _mail_code(ctx, patron, code, expires, reset_id)
        audit(ctx, "web", "password_code_sent", patron.id, target=patron.card_number)


def reset_with_code(ctx: Context, card: str, code: str, new: str) -> None:
    """The second half of 「パスワードを忘れた時」: the mailed code and a new (real) password."""
    rules = ctx.policy.passwords
    if rules.self_service != "card_email":
        raise PasswordRejected(_("this library does not offer password self-service; ask at the counter"))
    problem = rule_problem(new, rules)
    if problem:
        raise PasswordRejected(_("the new password {problem}").format(problem=problem))
    with ctx.writing():
        patron = patron_by_card(ctx.conn, card)
        if _locked(ctx, patron):
            raise PasswordRejected(_("too many failed attempts; try again later"))
        r = schema.password_resets
        found = ctx.conn.execute(select(r.c.id).where(
            r.c.patron_id == patron.id, r.c.code_hash == _code_hash((code or "").strip().upper()),
            r.c.used_at.is_(None), r.c.expires_at > ctx.now,
        )).first()
        if found is None:
            _failed(ctx, patron, rules)  # committed with the block: the lockout counts it
        else:
            ctx.conn.execute(r.update().where(r.c.patron_id == patron.id, r.c.used_at.is_(None)).values(used_at=ctx.now))
            _store(ctx, patron.id, new, "real")
            audit(ctx, "web", "password_reset_by_code", patron.id, target=patron.card_number)
    if found is None:
        raise PasswordRejected(_("the code is wrong, already used or expired; ask for a new one"))


def _locked(ctx: Context, patron) -> bool:
    return patron.locked_until is not None and patron.locked_until > ctx.now


def _code_hash(code: str) -> str:
    # The code is random (32^10, about 50 bits), good once and for an hour, behind the
    # lockout: a plain SHA-256 keeps it unreadable in the database without scrypt's cost.
    return hashlib.sha256(code.encode()).hexdigest()


def _mail_code(ctx: Context, patron, code: str, expires: dt.datetime, reset_id: int) -> None:
    """Queue the code for the next send (ils mail run, every ten minutes), with the library's footer."""
    local = expires.astimezone(LIBRARY_TZ)
    language = compose.language_of(patron.language)
    variables = {"code": code, "expires_on": local.date(), "expires_time": f"{local:%H:%M}"}
    due = Due(0, patron.id, "password_reset", patron.email, patron.name, language, variables)
    rendered = [compose.notice_item("password_reset", language, variables)]
    queue_rendered(ctx, mail_settings(ctx.settings.mail), due, rendered, f"password_reset:{reset_id}")
