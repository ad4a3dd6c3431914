"""The installation's mail settings (ils.toml [mail]): where mail goes and how it is sent."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ils.infra.sections import section_settings


class MailSettings(BaseModel):
    """`transport = "files"` (the default) writes .eml files into `directory` — what the
    demo does and what a site without an SMTP relay can hand to its mail system;
    `transport = "smtp"` sends through `host`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    transport: Literal["files", "smtp"] = "files"
    directory: str = "mail-out"
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    password_env: str | None = None  # the name of an environment variable holding the password
    sender: str | None = None  # overrides the profile's library.mail_from
    timeout_seconds: float = Field(default=30, gt=0)
    # The wait for the answer once the message itself is sent (RFC 5321 4.5.3.2.6 allows a
    # relay 10 minutes); no answer by then leaves the message `unconfirmed`. At most 10
    # minutes, so one message never outlasts the sender's lock (lock.STALE_AFTER).
    data_timeout_seconds: float = Field(default=300, gt=0, le=600)
    max_attempts: int = Field(default=6, ge=1)
    retry_minutes: int = Field(default=5, ge=1)  # doubled after each temporary failure

    @property
    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


def mail_settings(raw: dict) -> MailSettings:
    return section_settings(MailSettings, raw, "mail")
