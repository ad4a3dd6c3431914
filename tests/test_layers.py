"""The arrows point down: the core (holds, the library's calendar and policy) imports nothing of the layers above it."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORE = ("ils/holds", "ils/library")
ABOVE = ("ils.mail", "ils.reports", "ils.batch", "ils.cli")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def is_above(module: str) -> bool:
    return any(module == layer or module.startswith(layer + ".") for layer in ABOVE)


def test_the_core_imports_nothing_from_mail_reports_the_batch_or_the_cli():
    upward = {
        f"{path.relative_to(REPO)} imports {module}"
        for folder in CORE for path in sorted((REPO / folder).rglob("*.py"))
        for module in imported_modules(path) if is_above(module)
    }
    assert not upward, sorted(upward)


def test_the_check_sees_an_upward_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from ils.mail.schedule import due_at\n\ndef f():\n    import ils.batch.runner\n", encoding="utf-8")
    assert sorted(m for m in imported_modules(sample) if is_above(m)) == [
        "ils.batch.runner", "ils.mail.schedule", "ils.mail.schedule.due_at"]
