"""A real SMTP server for tests: aiosmtpd on a free loopback port, recording what it receives.

    def test_x(smtp_sink):          # Django's SMTP backend now talks to the sink
        ...
        assert len(smtp_sink.messages) == 1
        smtp_sink.stop()            # relay down: connections are refused
        smtp_sink.start()           # back, on the same port
        smtp_sink.refuse = "451 4.3.0 Try again later"   # answer DATA with a 4xx
        smtp_sink.hold = threading.Event()               # DATA waits until .hold.set()

Import the fixture into a test module: `from comptoir.testing.smtp_sink import smtp_sink_fixture`
(registered under the name `smtp_sink`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from comptoir.testing.net import free_port


@dataclass(frozen=True)
class ReceivedMail:
    envelope_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    def parsed(self) -> EmailMessage:
        """The message as the stdlib parses it (modern policy)."""
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address.lower() in self.sink.refuse_recipients:
            return self.sink.refuse_recipients[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.hold is not None:
            # Blocking wait off the event loop, so the test thread can decide when to answer.
            await asyncio.get_running_loop().run_in_executor(None, self.sink.hold.wait, 30)
        if self.sink.refuse:
            return self.sink.refuse
        data = envelope.original_content or envelope.content
        with self.sink.lock:
            self.sink.messages.append(
                ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(data))
            )
        return "250 2.0.0 Message accepted"


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.messages: list[ReceivedMail] = []
        self.lock = threading.Lock()
        self.refuse: str | None = None
        self.refuse_recipients: dict[str, str] = {}
        self.hold: threading.Event | None = None
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is None:
            controller = Controller(_Handler(self), hostname=self.host, port=self.port)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            if self.hold is not None:
                self.hold.set()
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    def parsed(self, index: int = -1) -> EmailMessage:
        return self.messages[index].parsed()


@pytest.fixture(name="smtp_sink")
def smtp_sink_fixture(settings: Any) -> Iterator[SmtpSink]:
    """A running sink, and Django's SMTP backend pointed at it for the test."""
    sink = SmtpSink()
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = sink.host
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    try:
        yield sink
    finally:
        sink.stop()
