"""The acceptance table ties each hold check to its reason code, the words people read for it, and its --override key."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click

from ils import cli
from ils.frontend.reasons import REASON_CODES, REASONS
from ils.holds.acceptance import HOLD_RULES, OVERRIDE_KEYS
from ils.holds.counter import OVERRIDABLE
from ils.infra import words

ROOT = Path(__file__).resolve().parent.parent


def _section(doc: str, heading: str) -> str:
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_table_pins_each_rules_code_and_key_so_renaming_a_check_changes_neither():
    # A change to this list is a change patrons (their mail), the log and staff (--override) see.
    assert [(rule.reason, rule.override) for rule in HOLD_RULES] == [
        ("unknown_card", None), ("patron_blocked", None), ("not_eligible", None), ("unknown_title", None),
        ("not_holdable", "not_holdable"), ("counter_only", None), ("not_catalogued", "not_catalogued"),
        ("not_owned", None), ("only_copy_long_overdue", "only_copy_long_overdue"), ("on_shelf", None),
        ("already_on_loan", "already_on_loan"), ("already_held", "already_held"), ("unknown_pickup", None),
        ("pickup_not_offered", "pickup_not_offered"), ("contact_not_offered", "contact_not_offered"),
        ("contact_unavailable", None), ("overdue", "overdue"), ("limit_reached", "limit_reached"),
    ]


def test_each_rule_has_a_check_and_a_code_of_its_own():
    checks = [rule.check for rule in HOLD_RULES]
    codes = [rule.reason for rule in HOLD_RULES]
    assert len(set(checks)) == len(checks) and len(set(codes)) == len(codes)
    assert len(set(OVERRIDE_KEYS)) == len(OVERRIDE_KEYS)


def test_every_rule_refuses_with_a_code_said_in_every_language():
    texts = words.section("reasons", REASON_CODES)
    for rule in HOLD_RULES:
        assert rule.reason in REASONS, f"{rule.check.__name__}: {rule.reason} is not a reason code"
        for language in words.LANGUAGES:
            assert texts[language][rule.reason].strip(), f"{rule.reason} has no {language} text"


def test_every_reason_code_is_in_the_reason_codes_table_of_docs_batch():
    table = re.findall(r"^\| ([a-z_]+) \|", _section("batch.md", "Reason codes"), re.MULTILINE)
    assert sorted(code for code in table if code != "code") == sorted(REASON_CODES)


def test_the_override_keys_are_the_clis_choices_and_are_documented():
    ctx = click.Context(cli.main)
    place = cli.main.get_command(ctx, "hold").get_command(ctx, "place")
    [option] = [p for p in place.params if p.name == "overrides"]
    assert tuple(option.type.choices) == OVERRIDE_KEYS
    assert OVERRIDABLE == set(OVERRIDE_KEYS)  # what place_holds accepts from any caller
    documented = set(re.findall(r"`([a-z_]+)`", _section("counter.md", "Holds at the counter")))
    assert set(OVERRIDE_KEYS) <= documented, f"add to docs/counter.md: {set(OVERRIDE_KEYS) - documented}"
    never = {rule.reason for rule in HOLD_RULES if rule.override is None}
    assert not never & documented, f"docs/counter.md offers a key the table does not: {never & documented}"


def _string_constants(path: Path) -> set[str]:
    return {node.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_every_reason_code_with_words_is_used_by_something():
    # The words files say exactly REASON_CODES (ils.infra.words refuses others at start-up);
    # each code must be given by some code path or template, or its sentence is never read.
    used: set[str] = set()
    for top in ("ils", "batch"):
        for path in (ROOT / top).rglob("*.py"):
            if path != ROOT / "ils" / "frontend" / "reasons.py":
                used |= _string_constants(path)
    templates = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "templates_mail").rglob("*.j2"))
    orphans = [code for code in REASON_CODES if code not in used and f'"{code}"' not in templates]
    assert not orphans, f"reason codes nothing refuses with: {orphans}"
