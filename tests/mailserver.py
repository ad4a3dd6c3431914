"""A real SMTP server on loopback (aiosmtpd, its default settings) that records what it receives and can misbehave on cue."""

from __future__ import annotations

import asyncio
import email
import email.policy
import errno
import os
import signal
import socket
import threading

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """The server's handler. Keeps every message it takes, parsed (`received`) and as the exact
    bytes of its DATA (`raw`, dot-unstuffed: what a mail store would keep).

    Misbehaviour on cue: `answers` queues replies to give to DATA instead of 250 (e.g. 451,
    550); `hang_up` ("RCPT" or "DATA") closes the connection instead of answering that
    command — after taking the message, for DATA; `hold_reply`, an Event, keeps the answer
    to DATA back until the test sets it (a relay slower than the client's patience);
    `kill_after` SIGKILLs `victim` once that many messages have been received. `arrived`
    is set each time a message has been taken, so a test can wait for it, not guess.
    """

    def __init__(self):
        self.received: list[email.message.EmailMessage] = []
        self.raw: list[bytes] = []
        self.answers: list[str] = []
        self.hang_up: str | None = None
        self.hold_reply: threading.Event | None = None
        self.arrived = threading.Event()
        self.kill_after: int | None = None
        self.victim: int | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.hang_up == "RCPT":
            server.transport.close()
            return "250 OK"  # never written: the connection is closed
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.answers:
            return self.answers.pop(0)
        self.raw.append(envelope.original_content)
        self.received.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        self.arrived.set()
        if self.hang_up == "DATA":
            server.transport.close()  # the message is here, but the client never hears so
            return "250 2.0.0 OK"
        if self.hold_reply is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.hold_reply.wait)
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
        # The port was free when asked for, but another process (a second pytest-xdist worker,
        # another suite) may take it before the server binds it: then it takes another.
        for _ in range(5):
            try:
                self.controller.start()
                return self
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
            self.port = free_port()
            self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc):
        if self.recorder.hold_reply is not None:
            self.recorder.hold_reply.set()  # a test that failed early must not leave the server waiting
        self.controller.stop()
        return False

    def config(self, path, extra: str = "") -> str:
        """An ils.toml that sends through this server; `extra` is appended (more [mail] keys, a [policy] table)."""
        path.write_text(
            f'[mail]\ntransport = "smtp"\nhost = "127.0.0.1"\nport = {self.port}\nstarttls = false\n'
            f"retry_minutes = 5\nmax_attempts = 3\n{extra}",
            encoding="utf-8",
        )
        return str(path)
