"""The demo day: the sample city's night at 03:00 (the morning's mail rendered) and its 10:00 mail, written as .eml files."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from batch.runner import RunReport, run_batch
from ils.infra.context import open_context
from ils.infra.installation import DEMO_MORNING, DEMO_NIGHT
from ils.mail.deliver import FileTransport
from ils.mail.run import run as run_mail
from ils.mail.settings import mail_settings


@dataclass
class DemoDay:
    night: RunReport
    mail: dict
    mail_dir: Path
    reports_dir: Path


def run_demo_day(url: str, mail_dir: Path, reports_dir: Path) -> DemoDay:
    """The sample city's night at 03:00 with its reports and the morning's mail rendered,
    then its 10:00 mail run writing .eml files."""
    with open_context(url, None, DEMO_NIGHT) as ctx:
        ctx.settings = replace(ctx.settings, reports={"directory": str(reports_dir)},
                               mail={"transport": "files", "directory": str(mail_dir)})
        night = run_batch(ctx, now_given=True)
        ctx.now = DEMO_MORNING
        morning = run_mail(ctx, mail_settings(ctx.settings.mail), FileTransport(mail_dir), lambda: DEMO_MORNING)
    rendered = Counter(next(step.counts for step in night.steps if step.step == "render"))
    return DemoDay(night, dict(rendered + morning), mail_dir, reports_dir / DEMO_NIGHT.date().isoformat())
