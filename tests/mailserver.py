"""A real SMTP server on loopback (aiosmtpd) that records what it receives and can misbehave on cue."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import socket

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Keeps every message accepted; `answers` queues replies to give instead of 250 (e.g. 451,
    550); `kill_after` SIGKILLs `victim` once that many messages have been received."""

    def __init__(self):
        self.received: list[email.message.EmailMessage] = []
        self.answers: list[str] = []
        self.kill_after: int | None = None
        self.victim: int | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.answers:
            return self.answers.pop(0)
        self.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        if self.kill_after is not None and len(self.received) >= self.kill_after and self.victim:
            os.kill(self.victim, signal.SIGKILL)  # the sender dies before it hears our 250
            self.victim = None
        return "250 2.0.0 OK"

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.received]


class MailServer:
    def __init__(self):
        self.recorder = Recorder()
        self.port = free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
        return False

    def config(self, path) -> str:
        """An ils.toml that sends through this server."""
        path.write_text(
            f'[mail]\ntransport = "smtp"\nhost = "127.0.0.1"\nport = {self.port}\nstarttls = false\n'
            "retry_minutes = 5\nmax_attempts = 3\n",
            encoding="utf-8",
        )
        return str(path)
