"""Parse ahead: a child process parses the next batch of mails while this one writes the last.

Bulk ingestion spends about half of its time in the parser, which is pure and CPU-bound, and
the other half in database work. Threads cannot parse in parallel with the writes (the GIL),
so `comptoir mail ingest` hands the raw bytes of batch N+1 to one child process while it
stores and routes batch N. The database is only ever written from the calling process.

The child imports the parser alone (no Django, no settings, no database): it reads pickled
lists of raw bytes on stdin and writes pickled lists of results on stdout, in order: for each
mail its dedup key (`headers.dedup_key`, what storing it needs) and its ParsedEmail. It
exits at the end of its stdin, so it also ends when this process dies (kill -9 included).

A result is None when the child could not do that mail, and every result of a batch is None
once the child is gone (it crashed, could not start, was killed): the caller then does those
mails itself, so the outcome — quarantine and its error text included — is the same as
without a child. Both are pure functions of the bytes, so where they ran does not change
what is stored.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from comptoir.channels.email.parsed import ParsedEmail

Prepared = tuple[str, ParsedEmail]  # (dedup key, parsed)
Results = list[Prepared | None]

_PROTOCOL = pickle.HIGHEST_PROTOCOL
_STOP = object()


class ParseAhead:
    """One child process parsing batches in submission order; see the module docstring."""

    def __init__(self) -> None:
        self._requests: queue.Queue[object] = queue.Queue()
        self._results: queue.Queue[object] = queue.Queue()
        self._sizes: dict[int, int] = {}
        self._submitted = 0
        self._collected = 0
        self._dead = False
        self.waited = 0.0  # seconds spent in `results` waiting for the child
        self.child_peak_rss_mb: float | None = None  # told by the child when it ends
        root = str(Path(__file__).resolve().parents[3])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        }
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "comptoir.channels.email.parse_ahead"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
        except OSError:
            self._proc = None
            self._dead = True
            return
        # Two threads so that neither pipe can fill up and block this process: the writer
        # waits on the child while the caller works, the reader drains the results.
        self._writer = threading.Thread(target=self._write, name="parse-ahead-w", daemon=True)
        self._reader = threading.Thread(target=self._read, name="parse-ahead-r", daemon=True)
        self._writer.start()
        self._reader.start()

    def submit(self, raws: Sequence[bytes]) -> int:
        """Queue a batch for parsing; returns its number, for `results`."""
        number = self._submitted
        self._submitted += 1
        self._sizes[number] = len(raws)
        if not self._dead:
            self._requests.put([bytes(r) for r in raws])
        return number

    def results(self, number: int) -> Results:
        """The parsed mails of batch `number` (batches are collected in submission order)."""
        if number != self._collected:
            raise ValueError("batches are collected in the order they were submitted")
        self._collected += 1
        size = self._sizes.pop(number)
        if self._dead:
            return [None] * size
        start = time.perf_counter()
        got = self._results.get()
        self.waited += time.perf_counter() - start
        if not isinstance(got, list) or len(got) != size:
            self._dead = True
            return [None] * size
        return got

    def close(self) -> None:
        """End the child (it finishes at the end of its input) and wait for it."""
        if self._proc is None:
            return
        self._requests.put(_STOP)
        self._writer.join(timeout=10)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=10)
        self._proc = None

    def __enter__(self) -> ParseAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        stdin = self._proc.stdin
        try:
            while True:
                request = self._requests.get()
                if request is _STOP:
                    break
                pickle.dump(request, stdin, protocol=_PROTOCOL)
                stdin.flush()
        except (OSError, ValueError):
            self._dead = True
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        try:
            while True:
                got = pickle.load(stdout)
                if isinstance(got, dict):  # the child's last words
                    self.child_peak_rss_mb = got.get("peak_rss_mb")
                    continue
                self._results.put(got)
        except Exception:  # EOF or a truncated answer: the child is gone
            self._dead = True
            self._results.put(None)  # wakes a caller waiting in `results`


def _parse_all(raws: Sequence[bytes]) -> Results:
    from comptoir.channels.email.headers import dedup_key
    from comptoir.channels.email.parse import parse_email

    out: Results = []
    for raw in raws:
        try:
            out.append((dedup_key(raw), parse_email(raw)))
        except Exception:  # the caller does it again, and gets the error itself
            out.append(None)
    return out


def _serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    while True:
        try:
            raws = pickle.load(stdin)
        except EOFError:
            break
        pickle.dump(_parse_all(raws), stdout, protocol=_PROTOCOL)
        stdout.flush()
    pickle.dump({"peak_rss_mb": _peak_rss_mb()}, stdout, protocol=_PROTOCOL)
    stdout.flush()


def _peak_rss_mb() -> float | None:
    # VmHWM: this process's own peak. ru_maxrss would count the parent's pages that the
    # child had before exec.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def main() -> None:
    # Ctrl-C reaches the whole process group: the parent decides, the child just ends with
    # its input.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    results = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the answers
    try:
        _serve(sys.stdin.buffer, results)
    except BrokenPipeError:
        # The parent is gone (killed): nothing to tell anyone.
        os._exit(0)


if __name__ == "__main__":
    main()
