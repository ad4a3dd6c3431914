"""Step: the morning's notices (holds ready, accepted, rejected, expired...) rendered into the outbox, each for its send time."""

from __future__ import annotations

import logging

from ils.infra.context import Context
from ils.mail.render import render_notices
from ils.mail.settings import mail_settings

NAME = "render"
INTRADAY = False  # what happens in the day is rendered by the day's mail run (`ils mail run`)
IN_DRY_RUN = True  # it writes the outbox only, which a dry run rolls back

log = logging.getLogger(__name__)


def run(ctx: Context) -> dict:
    """Render every notice due by the library's next send slot (docs/mail.md); `ils mail send`
    delivers each at its time. A notice rendered is marked, so a resumed night renders only
    what is left."""
    counts = render_notices(ctx, mail_settings(ctx.settings.mail), ahead=True)
    log.info("render: %d messages for %d notices", counts["messages"], counts["mailed"])
    return dict(sorted(counts.items()))
