"""The demo day: the sample city's night at 03:00 and its 10:00 mail, written as .eml files."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from batch.runner import RunReport, run_batch
from ils.infra.context import open_context
from ils.infra.installation import DEMO_MORNING, DEMO_NIGHT
from ils.mail.deliver import FileTransport, send_due
from ils.mail.newsletter import queue_newsletter
from ils.mail.render import render
from ils.mail.settings import MailSettings


@dataclass
class DemoDay:
    night: RunReport
    mail: dict
    mail_dir: Path
    reports_dir: Path


def run_demo_day(url: str, mail_dir: Path, reports_dir: Path) -> DemoDay:
    """The sample city's night at 03:00 with its reports, then its 10:00 mail as .eml files."""
    settings = MailSettings(transport="files", directory=str(mail_dir))
    with open_context(url, None, DEMO_NIGHT) as ctx:
        ctx.settings = replace(ctx.settings, reports={"directory": str(reports_dir)})
        night = run_batch(ctx, now_given=True)
        ctx.now = DEMO_MORNING
        mail = render(ctx, settings)
        mail["newsletters"] = queue_newsletter(ctx, settings)
        mail.update(send_due(ctx, settings, FileTransport(mail_dir), lambda: DEMO_MORNING))
    return DemoDay(night, dict(mail), mail_dir, reports_dir / DEMO_NIGHT.date().isoformat())
