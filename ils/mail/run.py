"""The mail run: render what is due, queue the week's newsletter, deliver the outbox (`ils mail run`, the demo's morning)."""

from __future__ import annotations

from collections import Counter

from ils.infra.context import Context
from ils.mail.deliver import send_due
from ils.mail.newsletter import queue_newsletter
from ils.mail.render import render_due
from ils.mail.settings import MailSettings


def queue_due(ctx: Context, settings: MailSettings) -> Counter:
    """Render the notices due now into the outbox, and this week's newsletter once its slot has come."""
    counts = render_due(ctx, settings)
    counts["newsletters"] = queue_newsletter(ctx, settings)
    return counts


def run(ctx: Context, settings: MailSettings, transport, clock) -> Counter:
    """Queue what is due, then deliver every message whose time has come (the night's render
    step queued the morning's, each for its slot); `clock` stamps what was sent when."""
    counts = queue_due(ctx, settings)
    counts.update(send_due(ctx, settings, transport, clock))
    return counts
