"""Network helpers for tests that start real servers on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from comptoir.channels.email.lmtp import InboundController


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def inbound_listener(protocol: str = "lmtp") -> Iterator[InboundController]:
    """Our LMTP (or SMTP) receiver on a free loopback port, for the block's duration."""
    from comptoir.channels.email.lmtp import InboundController, InboundHandler

    controller = InboundController(
        InboundHandler(protocol=protocol), hostname="127.0.0.1", port=free_port()
    )
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()
