"""Passwords by each library's rules: initial values, resets, temporary passwords, lockout, audit."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ils import cli
from ils.infra import schema
from ils.infra.context import Context
from ils.patrons.passwords import (
    PasswordRejected,
    change_password,
    hash_password,
    password_matches,
    reset,
    self_service,
    set_first_password,
    verify_login,
)
from scenario import D, Library, at


def ctx_for(lib: Library, now="2026-11-26 10:00") -> Context:
    return Context(conn=lib.conn, policy=lib.policy, now=at(now))


@pytest.fixture
def make(new_library):
    def build(profile):
        lib = new_library(profile)
        lib.branch("chuo")
        lib.patron("7001", birth=D(1970, 4, 1), phone="0120-11-2233")
        for supervisor in ("s1", "s2", "s3", "s7", "s9"):  # a password reset needs a supervisor
            lib.staff(supervisor, role="supervisor")
        return lib

    return build


def stored(lib, card="7001"):
    p = schema.patrons
    row = lib.conn.execute(select(p.c.password_hash, p.c.password_state).where(p.c.card_number == card)).one()
    lib.conn.rollback()
    return row


def test_hashes_are_salted_scrypt_and_never_the_password():
    first, second = hash_password("0401"), hash_password("0401")
    assert first != second and first.startswith("scrypt$16384$8$1$") and "0401" not in first
    assert password_matches("0401", first) and not password_matches("0402", first)
    assert not password_matches("0401", None) and not password_matches("0401", "md5$abc")


def test_mito_initial_is_the_birth_month_and_day_and_reset_returns_to_it(make):
    lib = make("mito")
    ctx = ctx_for(lib)
    assert verify_login(ctx, "7001", "0401").ok  # 4月1日生まれの場合は0401
    change_password(ctx, "7001", "0401", "123456")
    assert not verify_login(ctx, "7001", "0401").ok
    with pytest.raises(PasswordRejected, match="may contain only half-width digits"):
        change_password(ctx, "7001", "123456", "abc")
    with pytest.raises(PasswordRejected, match="must be 1 to 6 characters"):
        change_password(ctx, "7001", "123456", "1234567")
    done = reset(ctx, "7001", staff="s9", why="忘れた")
    assert (done.mode, done.state, done.shown_once) == ("initial", "temporary", None)
    login = verify_login(ctx, "7001", "0401")
    assert login.ok and not login.must_change  # 変更をお勧めします: recommended, not forced


def test_murakami_temporary_is_the_birth_date_and_must_be_changed_to_four_digits(make):
    lib = make("murakami")
    ctx = ctx_for(lib)
    login = verify_login(ctx, "7001", "19700401")
    assert login.ok and login.must_change  # パスワード変更画面が展開します
    with pytest.raises(PasswordRejected, match="must be 4 to 4 characters"):
        change_password(ctx, "7001", "19700401", "12345")
    change_password(ctx, "7001", "19700401", "4321")
    assert stored(lib).password_state == "real"
    assert verify_login(ctx, "7001", "4321") == verify_login(ctx, "7001", "4321")
    reset(ctx, "7001", staff="s9")
    assert verify_login(ctx, "7001", "19700401").must_change


def test_kitami_reset_erases_and_the_patron_registers_a_new_one(make):
    lib = make("kitami")
    ctx = ctx_for(lib)
    assert verify_login(ctx, "7001", "anything").outcome == "no_password"
    set_first_password(ctx, "7001", "kitami-2026")
    assert verify_login(ctx, "7001", "kitami-2026").ok
    with pytest.raises(PasswordRejected, match="already has a password"):
        set_first_password(ctx, "7001", "hijack")
    done = reset(ctx, "7001", staff="s1", why="forgotten")  # パスワードを消去いたします
    assert (done.mode, done.state) == ("clear", "none")
    assert stored(lib) == (None, "none")


def test_kitakyushu_self_service_with_birth_date_and_phone(make):
    lib = make("kitakyushu")
    ctx = ctx_for(lib)
    with pytest.raises(PasswordRejected, match="does not match"):
        self_service(ctx, "7001", D(1970, 4, 2), "0120-11-2233", "Secret123")
    with pytest.raises(PasswordRejected, match="6 to 20"):
        self_service(ctx, "7001", D(1970, 4, 1), "0120112233", "abc")
    self_service(ctx, "7001", D(1970, 4, 1), "0120112233", "Secret123")
    assert verify_login(ctx, "7001", "Secret123").ok
    assert not verify_login(ctx, "7001", "secret123").ok  # 大文字・小文字は区別されます
    lib.patron("7002", phone=None)
    with pytest.raises(PasswordRejected, match="no phone number is registered"):
        self_service(ctx, "7002", D(1980, 5, 5), "", "Secret123")


def test_a_random_temporary_password_is_shown_once_and_audited(runner, make):
    lib = make("kitakyushu")
    result = runner.invoke(cli.main, ["password", "reset", "--card", "7001", "--reason", "電話番号なし",
                                      "--db", lib.url, "--now", "2026-11-26T10:00", "--json"], env={"ILS_STAFF": "s7"})
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    temporary = row["temporary_password"]
    assert len(temporary) == 10 and temporary.isalnum()
    assert verify_login(ctx_for(lib), "7001", temporary).must_change
    assert temporary not in stored(lib).password_hash
    audit = runner.invoke(cli.main, ["audit", "--db", lib.url, "--json"])
    [entry] = json.loads(audit.stdout)
    assert (entry["staff_id"], entry["action"], entry["reason"]) == ("s7", "password_reset", "電話番号なし")
    assert temporary not in audit.stdout  # no command ever prints an existing password
    show = runner.invoke(cli.main, ["patron", "show", "7001", "--db", lib.url])
    assert temporary not in show.stdout and "temporary" in show.stdout


def test_five_failures_lock_the_account_and_a_staff_reset_unlocks_it(make):
    lib = make("mito")
    ctx = ctx_for(lib)
    outcomes = [verify_login(ctx, "7001", "9999").outcome for _ in range(5)]
    assert outcomes == ["wrong_password"] * 4 + ["locked"]
    locked = verify_login(ctx, "7001", "0401")  # even the right password, while locked
    assert (locked.outcome, locked.locked_until) == ("locked", at("2026-11-26 10:30"))
    assert verify_login(ctx_for(lib, "2026-11-26 10:31"), "7001", "0401").ok  # 30 minutes later
    for _ in range(5):
        verify_login(ctx, "7001", "9999")
    reset(ctx, "7001", staff="s2", why="locked out")
    assert verify_login(ctx, "7001", "0401").ok


def test_kitsuki_issues_a_temporary_password_that_may_be_kept(make):
    lib = make("kitsuki")
    ctx = ctx_for(lib)
    assert verify_login(ctx, "7001", "0401").outcome == "no_password"  # no birth-date password here
    issued = reset(ctx, "7001", staff="s3", why="Webサービス利用登録")  # 申込書の受付後、仮パスワードを発行
    assert issued.mode == "random" and issued.shown_once
    login = verify_login(ctx, "7001", issued.shown_once)
    assert login.ok and not login.must_change  # 仮パスワードのままでもご利用いただけます


def test_kitakyushu_self_service_locks_the_card_after_five_mismatches(make):
    lib = make("kitakyushu")
    ctx = ctx_for(lib)
    for _ in range(5):
        with pytest.raises(PasswordRejected, match="does not match"):
            self_service(ctx, "7001", D(1970, 4, 2), "0120112233", "Secret123")
    with pytest.raises(PasswordRejected, match="too many failed attempts"):
        self_service(ctx, "7001", D(1970, 4, 1), "0120112233", "Secret123")
