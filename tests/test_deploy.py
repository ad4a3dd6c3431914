"""deploy/: the systemd units do what the README's cron lines do, at the same Tokyo times, and systemd accepts them."""

from __future__ import annotations

import configparser
import datetime as dt
import re
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "deploy" / "systemd"
INSTALLED_ILS = "/usr/local/bin/ils"
TOKYO = ZoneInfo("Asia/Tokyo")
CRON = re.compile(r"^(?P<minute>\S+) (?P<hour>\S+) \* \* \*\s+cd /var/lib/ils && ils (?P<args>.*?) 2>>(?P<log>\S+)$")


def cron_lines() -> list[re.Match]:
    return [m for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines() if (m := CRON.match(line))]


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser


def ils_arguments(exec_start: str) -> str:
    """What a unit's ExecStart asks of ils (through sh -c where it needs the shell, systemd's $$ read as $)."""
    command = exec_start.replace("$$", "$")
    shell = re.fullmatch(r"/bin/sh -c 'exec (.*)'", command)
    return (shell[1] if shell else command).removeprefix(f"{INSTALLED_ILS} ")


def _services() -> dict[str, str]:
    return {path.stem: ils_arguments(unit(path)["Service"]["ExecStart"]) for path in UNITS.glob("*.service")}


def _field(text: str, top: int) -> set[int]:
    if text == "*":
        return set(range(top))
    if text.startswith("*/"):
        return set(range(0, top, int(text[2:])))
    if "-" in text:
        low, high = map(int, text.split("-"))
        return set(range(low, high + 1))
    return {int(text)}


def cron_times(line: re.Match) -> set[tuple[int, int]]:
    return {(h, m) for h in _field(line["hour"], 24) for m in _field(line["minute"], 60)}


def timer_times(spec: str) -> set[tuple[int, int]]:
    """The times of day (Tokyo) at which systemd would fire a timer, over its next 200 elapses."""
    listed = subprocess.run(["systemd-analyze", "calendar", "--iterations=200", spec], capture_output=True, text=True,
                            check=True, env={"TZ": "UTC", "PATH": "/usr/bin:/bin"}).stdout
    found = set()
    for stamp in re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", listed):
        at = dt.datetime.fromisoformat(stamp).replace(tzinfo=dt.timezone.utc).astimezone(TOKYO)
        found.add((at.hour, at.minute))
    return found


def test_every_cron_line_of_the_readme_has_a_service_that_runs_the_same_command_into_the_same_log():
    lines = cron_lines()
    assert len(lines) == 5
    for line in lines:
        matching = [name for name, args in _services().items() if args == line["args"]]
        assert len(matching) == 1, f"no single unit runs `ils {line['args']}`"
        service = unit(UNITS / f"{matching[0]}.service")["Service"]
        assert service["StandardError"] == f"append:{line['log']}"
        assert service["WorkingDirectory"] == "/var/lib/ils"
        assert (UNITS / f"{matching[0]}.timer").is_file()


needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="systemd-analyze is not installed on this machine (no systemd)")


@needs_systemd
def test_every_timer_fires_at_the_tokyo_times_of_its_cron_line():
    for line in cron_lines():
        [name] = [n for n, args in _services().items() if args == line["args"]]
        spec = unit(UNITS / f"{name}.timer")["Timer"]["OnCalendar"]
        assert spec.endswith(" Asia/Tokyo"), f"{name}.timer: library time whatever the host's zone"
        assert timer_times(spec) == cron_times(line), name


@needs_systemd
def test_systemd_verifies_the_units(tmp_path):
    # verify needs ExecStart's program to exist: the units name the installed /usr/local/bin/ils,
    # so the copies checked here name this environment's ils instead.
    ils = Path(sys.executable).parent / "ils"
    assert ils.exists(), f"{ils}: install the package (pip install -e .) first"
    for path in UNITS.iterdir():
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8").replace(INSTALLED_ILS, str(ils)), encoding="utf-8")
    verified = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                              capture_output=True, text=True, check=False)
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr.strip() == "", verified.stderr


@pytest.mark.skipif(shutil.which("logrotate") is None, reason="logrotate is not installed on this machine")
def test_logrotate_accepts_its_file_and_rotates_the_logs(tmp_path):
    logs = tmp_path / "log"
    logs.mkdir()
    (logs / "batch.log").write_text("2026-12-01T03:00:02+09:00 Error: ...\n", encoding="utf-8")
    config = (ROOT / "deploy" / "logrotate" / "ils").read_text(encoding="utf-8")
    # here: this machine's user, the test's folder, and a rotation forced now
    config = config.replace("/var/log/ils", str(logs)).replace("su ils ils", "").replace("create 0640 ils ils", "create 0640")
    (tmp_path / "ils").write_text(config, encoding="utf-8")
    rotated = subprocess.run(["logrotate", "--force", "--state", str(tmp_path / "state"), str(tmp_path / "ils")],
                             capture_output=True, text=True, check=False)
    assert rotated.returncode == 0, rotated.stderr
    assert sorted(p.name for p in logs.iterdir()) == ["batch.log", "batch.log.1"]
    assert (logs / "batch.log").read_text(encoding="utf-8") == ""
