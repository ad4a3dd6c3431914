"""Staff accounts and who may do what: the first account of an installation, roles, a disabled account, one line per refusal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ils import cli
from ils.infra import schema
from ils.library.staff import PERMISSIONS, ROLES
from lines import unstamped
from scenario import D

DOCS = Path(__file__).resolve().parent.parent / "docs" / "counter.md"


@pytest.fixture
def mito(new_library):
    lib = new_library("mito")
    lib.branch("chuo").patron("3001", birth=D(1970, 4, 1))
    lib.title("B1").copy("B1", "chuo", barcode="111")
    return lib


def ils(runner, lib, *args, now="2026-11-26T10:00"):
    return runner.invoke(cli.main, [*args, "--db", lib.url, "--now", now], env={"ILS_BRANCH": "chuo"})


def ok(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(result, message: str) -> None:
    """One line, `Error: ...`, exit 1."""
    assert result.exit_code == 1, result.output
    assert unstamped(result.stderr).splitlines() == [f"Error: {message}"], result.stderr


def _count(lib, table) -> int:
    value = lib.conn.execute(select(func.count()).select_from(table)).scalar_one()
    lib.conn.rollback()
    return value


def test_the_first_account_is_the_bootstrap_and_every_later_one_needs_a_systems_account(runner, mito):
    [first] = ok(ils(runner, mito, "staff", "add", "sys01", "--role", "systems", "--name", "水戸太郎", "--json"))
    assert first == {"staff_id": "sys01", "name": "水戸太郎", "role": "systems"}
    refused(ils(runner, mito, "staff", "add", "c01", "--role", "counter"),
            "staff accounts exist already: --staff must name the systems account that adds this one")
    ok(ils(runner, mito, "staff", "add", "c01", "--role", "counter", "--staff", "sys01", "--json"))
    refused(ils(runner, mito, "staff", "add", "c02", "--role", "counter", "--staff", "c01"),
            "staff 'c01' (counter) may not staff_manage: it needs systems")
    refused(ils(runner, mito, "staff", "add", "c01", "--role", "supervisor", "--staff", "sys01"),
            "staff 'c01' already exists (counter); to change its role, disable it and add it again")
    listed = ok(ils(runner, mito, "staff", "list", "--json"))
    assert [(a["staff_id"], a["role"], a["disabled_at"]) for a in listed] == [
        ("c01", "counter", None), ("sys01", "systems", None)]
    audit = ok(ils(runner, mito, "audit", "--json"))
    assert [(a["staff_id"], a["action"], a["target"]) for a in audit] == [
        ("sys01", "staff_add", "c01"), ("sys01", "staff_add", "sys01")]


def test_the_first_account_must_be_a_systems_account(runner, mito):
    refused(ils(runner, mito, "staff", "add", "c01", "--role", "counter"),
            "the first account ('c01') must be a systems account, or no one could add the next")
    refused(ils(runner, mito, "staff", "add", "batch", "--role", "systems"),
            "'batch' cannot be a staff id: the history uses it for the system itself")
    assert _count(mito, schema.staff) == 0


def test_a_disabled_account_is_refused_at_the_counter_with_one_line_and_nothing_written(runner, mito):
    mito.staff("sys01", role="systems").staff("c01")
    ok(ils(runner, mito, "staff", "disable", "c01", "--staff", "sys01", "--json"))
    loans, audit = _count(mito, schema.loans), _count(mito, schema.staff_audit)
    refused(ils(runner, mito, "checkout", "--card", "3001", "--barcode", "111", "--staff", "c01"),
            "staff 'c01' is not an active staff account (ils staff list)")
    assert (_count(mito, schema.loans), _count(mito, schema.staff_audit)) == (loans, audit)
    refused(ils(runner, mito, "staff", "disable", "c01", "--staff", "sys01"), "staff 'c01' is already disabled")
    refused(ils(runner, mito, "staff", "disable", "c99", "--staff", "sys01"), "no staff account 'c99' (ils staff list)")
    refused(ils(runner, mito, "staff", "disable", "sys01", "--staff", "c01"),
            "staff 'c01' is not an active staff account (ils staff list)")
    refused(ils(runner, mito, "staff", "disable", "sys01", "--staff", "sys01"),
            "staff 'sys01' is the last active systems account; add another first")
    # Enabled again by adding it, with the role given now.
    ok(ils(runner, mito, "staff", "add", "c01", "--role", "counter", "--staff", "sys01", "--json"))
    ok(ils(runner, mito, "checkout", "--card", "3001", "--barcode", "111", "--staff", "c01", "--json"))


def test_an_unknown_staff_id_is_refused_by_every_counter_command(runner, mito):
    """--staff was free text: now a typo or a stranger is refused before anything is written."""
    before = {t.name: _count(mito, t) for t in (schema.loans, schema.holds, schema.staff_audit, schema.hold_history)}
    commands = [
        ["checkout", "--card", "3001", "--barcode", "111"], ["checkin", "--barcode", "111"],
        ["renew", "--barcode", "111"], ["pull", "confirm", "--barcode", "111"], ["pull", "missing", "--barcode", "111"],
        ["transit", "receive", "--barcode", "111"], ["reshelve", "--barcode", "111"],
        ["hold", "place", "--card", "3001", "--title", "B1", "--pickup", "chuo"], ["hold", "cancel", "1"],
        ["patron", "enrol", "--card", "3001"], ["password", "reset", "--card", "3001"], ["mail", "resend", "1"],
    ]
    for command in commands:
        refused(ils(runner, mito, *command, "--staff", "nobody"),
                "staff 'nobody' is not an active staff account (ils staff list)")
    after = {t.name: _count(mito, t) for t in (schema.loans, schema.holds, schema.staff_audit, schema.hold_history)}
    assert after == before


def test_a_counter_account_may_lend_but_not_override_or_reset_a_password(runner, mito):
    mito.staff("c01").staff("sv01", role="supervisor")
    refused(ils(runner, mito, "password", "reset", "--card", "3001", "--staff", "c01"),
            "staff 'c01' (counter) may not password_reset: it needs supervisor")
    refused(ils(runner, mito, "hold", "place", "--card", "3001", "--title", "B1", "--pickup", "chuo",
                "--override", "already_held", "--reason", "研究用", "--staff", "c01"),
            "staff 'c01' (counter) may not override: it needs supervisor")
    assert _count(mito, schema.holds) == 0
    [placed] = ok(ils(runner, mito, "hold", "place", "--card", "3001", "--title", "B1", "--pickup", "chuo",
                      "--staff", "c01", "--json"))
    [reset] = ok(ils(runner, mito, "password", "reset", "--card", "3001", "--staff", "sv01", "--reason", "忘れた",
                     "--json"))
    assert reset["reset_to"] == "initial"  # Mito: back to the birth month and day
    [entry] = ok(ils(runner, mito, "audit", "--card", "3001", "--json"))
    assert (entry["staff_id"], entry["action"], entry["reason"]) == ("sv01", "password_reset", "忘れた")
    history = ok(ils(runner, mito, "hold", "history", str(placed["hold"]), "--json"))
    assert [h["who"] for h in history] == ["staff c01"]


def _permission_rows() -> dict[str, str]:
    """The action and role columns of docs/counter.md's permissions table."""
    docs = DOCS.read_text(encoding="utf-8")
    table = docs.split("| action | lowest role |", 1)[1].split("\n\n", 1)[0]
    rows = [line.split("|") for line in table.splitlines()[2:] if line.startswith("|")]
    return {re.sub("[` ]", "", r[1]): r[2].strip() for r in rows}


def test_docs_show_the_permissions_table_as_the_module_has_it():
    assert _permission_rows() == PERMISSIONS, (
        "docs/counter.md's table of who may do what is out of date; ils.library.staff.PERMISSIONS says:\n"
        + "\n".join(f"| `{action}` | {role} |" for action, role in PERMISSIONS.items()))
    assert set(PERMISSIONS.values()) <= set(ROLES)


def test_the_new_tables_read_in_japanese_by_default(runner, mito):
    """Issue 16: staff read Japanese at the terminal — these commands' columns and refusals too."""
    from ils.infra import i18n

    mito.staff("sys01", role="systems").staff("c01")
    hold = mito.hold("3001", "B1", "chuo")
    japanese = {"ILS_STAFF_LANGUAGE": None, "ILS_BRANCH": "chuo"}
    commands = [["staff", "list"], ["title", "holds", "B1"], ["hold", "history", str(hold)],
                ["patron", "history", "3001"]]
    seen: set[str] = set()
    for command in commands:
        shown = runner.invoke(cli.main, [*command, "--db", mito.url, "--now", "2026-11-26T10:00"], env=japanese)
        assert shown.exit_code == 0, shown.output
        machine = runner.invoke(cli.main, [*command, "--db", mito.url, "--csv"], env=japanese)
        seen.update(machine.stdout.splitlines()[0].split(","))
    untranslated = sorted(name for name in seen if i18n._catalog("ja").pgettext("column", name) == name)
    assert not untranslated, f"columns with no Japanese in data/locale/ja/LC_MESSAGES/ils.po: {untranslated}"
    counter = runner.invoke(cli.main, ["password", "reset", "--card", "3001", "--staff", "c01", "--db", mito.url],
                            env=japanese)
    assert unstamped(counter.stderr).splitlines() == [
        "Error: 職員 'c01'(counter)は password_reset を行えません。supervisor の権限が必要です"]
