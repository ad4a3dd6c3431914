"""batch/ is the pipeline: its step modules are the runner's one list, in file order, and the help and docs name every step."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from ils import cli
from ils.batch import runner

REPO = Path(__file__).resolve().parent.parent
NIGHT = ", ".join(runner.step_names())


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_runner_lists_every_step_module_of_batch_once_in_file_order():
    files = sorted(path.stem for path in (REPO / "batch").glob("s[0-9][0-9]_*.py"))
    assert [step.__name__.removeprefix("ils.batch.") for step in runner.PIPELINE] == files
    assert sorted(p.name for p in (REPO / "batch").glob("*.py")) == sorted(["__init__.py", "runner.py", *(f + ".py" for f in files)])


def test_every_step_names_itself_and_says_where_it_runs():
    for step in runner.PIPELINE:
        assert isinstance(step.NAME, str) and callable(step.run), step.__name__
        assert isinstance(step.INTRADAY, bool) and isinstance(step.IN_DRY_RUN, bool), step.__name__
        assert step.__doc__ and step.__doc__.startswith("Step: "), step.__name__
    assert len(runner.STEPS) == len(runner.PIPELINE), "two steps share a name"


def test_an_intraday_run_does_the_intraday_steps_in_night_order():
    intraday = runner.step_names("intraday")
    assert intraday == [name for name in runner.step_names() if runner.STEPS[name].INTRADAY]
    assert "expire" not in intraday and "render" not in intraday and "reports" not in intraday


def test_batch_run_help_names_every_step_in_order():
    for command in (["batch", "--help"], ["batch", "run", "--help"]):
        result = CliRunner().invoke(cli.main, command)
        assert result.exit_code == 0 and NIGHT in _flat(result.output), command


def test_the_docs_and_the_readme_name_every_step_in_order():
    for doc in ("README.md", "docs/cli.md"):
        assert NIGHT in _flat((REPO / doc).read_text(encoding="utf-8")), doc
    table = re.findall(r"^\| (\w+) \| `(batch/s\d\d_\w+\.py)` \|", (REPO / "docs/batch.md").read_text(encoding="utf-8"),
                       re.MULTILINE)
    assert table == [(step.NAME, step.__file__.replace(str(REPO) + "/", "")) for step in runner.PIPELINE]
