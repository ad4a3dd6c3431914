"""The Python API the web/OPAC front end calls: requests, logins, passwords and enrolment, the patron's loans and holds.

Open a context once per request with `ils.infra.context.open_context(url, config, now)`; every
function below works on it and commits its own change. Errors are `ils.errors.IlsError`
subclasses whose message can be shown to staff; a patron-facing text for a reason code is
in `ils.frontend.reasons`.
"""

from __future__ import annotations

import datetime as dt

from ils.frontend.my_page import hold_check, loans_with_renewal
from ils.frontend.requests import refuse_if_closed, submit
from ils.infra.context import Context
from ils.patrons.passwords import (
    Login,
    change_password,
    forgotten,
    reset_with_code,
    self_service,
    set_first_password,
    verify_login,
)
from ils.patrons.view import patron_holds


def submit_request(ctx: Context, request: dict) -> int:
    """Store one pending request (the fields of docs/integration.md); returns its id. Every
    kind goes this way: hold, cancel, pickup_change (受取館の変更), renew, email_change, suspend,
    resume (予約の一時停止) and not_needed_after (有効期限).

    Raises RequestsClosed in the profile's closed window (Murakami: 午前3時から午前4時の間は
    予約できません), whatever the batch is doing; BatchRunning while the nightly batch runs;
    RequestInvalid for a field the table refuses. The patron's text for RequestsClosed is
    `ils.frontend.reasons.reason("requests_closed")`.
    """
    refuse_if_closed(ctx.policy, ctx.now)
    with ctx.writing():
        [request_id] = submit(ctx.conn, [request], now=ctx.now)
    return request_id


def run_intraday(ctx: Context) -> dict[str, dict]:
    """Serve the requests stored so far now, in this process: the intraday batch
    (`ils batch run --intraday`, Mito's every-ten-minutes run) at `ctx.now`; returns each
    step's counts. A front end that calls this skips a process start (most of a small
    run's time: the imports of Python, SQLAlchemy and the rules).

    Raises BatchRunning while another run holds the lock, BatchFailed if a step fails (its
    changes undone; the next run resumes it).
    """
    from ils.batch.runner import run_batch  # the batch's steps load only for a front end that runs them

    report = run_batch(ctx, now_given=True, mode="intraday")
    return {step.step: step.counts for step in report.steps}


def log_in(ctx: Context, card: str, password: str) -> Login:
    """Check a card and password. `must_change` asks the page to force a new password
    (Murakami's パスワード変更画面); `locked_until` says when a locked account opens again."""
    return verify_login(ctx, card, password)


def new_password(ctx: Context, card: str, old: str, new: str) -> None:
    """Replace the current password (temporary or real) with a real one, by the profile's rules.

    Murakami's first log-in (the birth-date temporary password changed for one's own) and a
    change of a counter-issued password enrol the patron for the web service."""
    change_password(ctx, card, old, new)


def register_password(ctx: Context, card: str, new: str) -> None:
    """Kitami: set a password on a card that has none (new, or erased by staff); this is the
    patron's registration for the web service (マイページサービスに登録)."""
    set_first_password(ctx, card, new)


def password_by_birth_date_and_phone(ctx: Context, card: str, birth_date: dt.date, phone: str, new: str) -> None:
    """Kitakyushu's 本パスワード申請 with card, birth date and registered phone number; enrols
    the patron for the web service."""
    self_service(ctx, card, birth_date, phone, new)


def forgot_password(ctx: Context, card: str, email: str) -> None:
    """Kitsuki's 「パスワードを忘れた時」, first half: a one-time code is mailed to the registered
    address if card and address match. Returns nothing either way: show the same words,
    e.g. 「ご登録のメールアドレスに確認コードをお送りしました(ご登録の内容と一致した場合)」."""
    forgotten(ctx, card, email)


def reset_forgotten_password(ctx: Context, card: str, code: str, new: str) -> None:
    """Second half: the mailed code and a new password (PasswordRejected says what was wrong)."""
    reset_with_code(ctx, card, code, new)


def my_holds(ctx: Context, card: str) -> list[dict]:
    """The patron's holds with the library's status labels (予約申込, 確保待ち, 準備中, 他館確保,
    貸出可能, 取消申込, 一時停止中...), queue rank, pickup branch and deadline, `suspended_until`
    (the day a suspended hold resumes; None: until resumed) and `not_needed_after` (有効期限); a
    waiting hold also has `expected_wait_days` (whole days, None with no basis) and
    `expected_wait`, the words to show (「ご用意の目安: 約3週間」, 「ご用意の目安: 未定」):
    docs/integration.md."""
    return patron_holds(ctx, card)


def my_loans(ctx: Context, card: str) -> list[dict]:
    """The patron's open loans: title, due date, renewals, and `renewable` with `why_not` (a
    reason code) and `why_not_text` (Japanese) when 延長 should not be offered. Writes nothing."""
    return loans_with_renewal(ctx, card)


def can_hold(ctx: Context, card: str, bib_id: str, pickup: str, contact: str | None = None,
             channel: str = "web") -> dict:
    """Would the night accept this hold? `ok`, and `reason`/`reason_text` if not, by the batch's
    own checks, judged now. Writes nothing; the request itself goes through submit_request."""
    return hold_check(ctx, card, bib_id, pickup, contact=contact, channel=channel)
