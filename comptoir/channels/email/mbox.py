"""mbox files read as the standard library reads them, in one streaming pass.

The stdlib's mailbox.mbox indexes the whole file before giving a message (a readline and a
tell per line, ~5 % of an ingest, and `comptoir mail ingest` needed it twice: to count and to
read). These split exactly as mailbox.mbox does: every line that starts with "From " starts a
message (mboxo/mboxrd quoting is left as it is, as the stdlib does), the "From " line itself
is dropped, and so is the blank line before the next one. Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def mbox_count(path: Path) -> int:
    """How many messages `mbox_read` will give."""
    count = 0
    with path.open("rb") as f:
        for line in f:
            if line.startswith(b"From "):
                count += 1
    return count


def mbox_read(path: Path) -> Iterator[bytes]:
    """The messages of the file, each as `mailbox.mbox(path).get_bytes(key)` gives it."""
    lines: list[bytes] | None = None
    last_empty = False
    with path.open("rb") as f:
        for line in f:
            if line.startswith(b"From "):
                if lines is not None:
                    yield b"".join(lines[:-1] if last_empty else lines)
                lines = []
                last_empty = False
                continue
            if lines is not None:
                lines.append(line)
                last_empty = line == b"\n"
    if lines is not None:
        yield b"".join(lines[:-1] if last_empty else lines)
