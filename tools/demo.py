"""The demo day: the sample city's night at 03:00 (the morning's mail rendered) and its morning mail, written as .eml files."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from batch.runner import RunReport, run_batch
from ils.infra.context import open_context
from ils.infra.installation import DEMO_MORNING, DEMO_NIGHT
from ils.library.clock import LIBRARY_TZ
from ils.mail.deliver import FileTransport
from ils.mail.run import run as run_mail
from ils.mail.settings import mail_settings

# How far the demo follows the mail: a library that sends on the next open day (Mito's digest)
# sends the night's news the morning after; a week covers a closure of several days too.
MAIL_DAYS = 7


@dataclass
class DemoDay:
    night: RunReport
    mail: dict
    mail_dir: Path
    reports_dir: Path
    mail_runs: list[dt.datetime]  # when the mail went out (the first run at 10:00, then each slot it took)


def _mail_slots(send_times) -> list[dt.datetime]:
    """The demo's mail runs: 10:00 on the demo day, then each of the profile's send times for a week."""
    slots = [DEMO_MORNING]
    for days in range(MAIL_DAYS + 1):
        day = DEMO_MORNING.date() + dt.timedelta(days=days)
        for hhmm in sorted(send_times):
            at = dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=LIBRARY_TZ)
            if at > DEMO_MORNING:
                slots.append(at)
    return slots


def run_demo_day(url: str, mail_dir: Path, reports_dir: Path,
                 say: Callable[[str], None] = lambda line: None, on_step=None) -> DemoDay:
    """The sample city's night at 03:00 with its reports and the morning's mail rendered,
    then the mail run at 10:00 writing .eml files — and, for a library whose mail waits for
    a later slot (Mito's digest goes the next open day's morning), each later slot of the
    profile until a run sends something, up to a week. `say` hears what it is doing, `on_step` each step of the night."""
    with open_context(url, None, DEMO_NIGHT) as ctx:
        ctx.settings = replace(ctx.settings, reports={"directory": str(reports_dir)},
                               mail={"transport": "files", "directory": str(mail_dir)})
        say(f"Running the night of {DEMO_NIGHT:%Y-%m-%d} at 03:00 (accept … reports, render)…")
        night = run_batch(ctx, now_given=True, on_step=on_step)
        settings = mail_settings(ctx.settings.mail)
        morning: Counter = Counter()
        runs: list[dt.datetime] = []
        for at in _mail_slots(ctx.policy.notices.send_times):
            if morning["sent"]:
                break
            say(f"Mail run at {at:%Y-%m-%d %H:%M}…")
            ctx.now = at
            sent = run_mail(ctx, settings, FileTransport(mail_dir), lambda at=at: at)
            morning.update(sent)
            runs.append(at)
    rendered = Counter(next(step.counts for step in night.steps if step.step == "render"))
    return DemoDay(night, dict(rendered + morning), mail_dir, reports_dir / DEMO_NIGHT.date().isoformat(), runs)
