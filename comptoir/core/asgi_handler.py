"""Django's ASGI handler for a project of synchronous views: one thread hop per request.

Django's own handler enters a worker thread four times per request (the request_started
signal, the middleware chain and view, the response's close, and a new thread for each
request to pin them to), and waits for a client disconnect in a task of its own. Each
switch costs a thread wake-up and an event-loop wake-up: on a 2-core machine, 3 to 5 ms per
request whatever the page, more than a simple page takes to build.

Here the event loop reads the request body and writes the response; everything Django
does in between runs in one call on a worker thread, as under WSGI. All the thread work of
one request stays on one thread (Django's database connections are bound to the thread
that opened them), and the threads are kept for later requests instead of one per request.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

T = TypeVar("T")

# Threads kept idle for the next requests; a burst beyond it gets threads of its own that
# end with it. Like Django's handler, there is no bound on requests in flight.
IDLE_THREADS = 8

_END = object()


class _Workers:
    """Single-thread executors lent to one request at a time, then kept for the next."""

    def __init__(self, idle_max: int) -> None:
        self.idle_max = idle_max
        self.idle: list[ThreadPoolExecutor] = []
        self.lock = threading.Lock()

    def take(self) -> ThreadPoolExecutor:
        with self.lock:
            if self.idle:
                return self.idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="comptoir-web")

    def give(self, worker: ThreadPoolExecutor) -> None:
        with self.lock:
            if len(self.idle) < self.idle_max:
                self.idle.append(worker)
                return
        worker.shutdown(wait=False)


class _Request:
    """The thread and the context one request's synchronous work runs in."""

    def __init__(self, workers: _Workers) -> None:
        self.workers = workers
        self.worker = workers.take()
        # Django keeps the database connections and the active language in context
        # variables: a context of the request's own, entered on every call.
        self.context = contextvars.copy_context()

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.worker, self.context.run, func, *args)

    def done(self, *, reusable: bool) -> None:
        if reusable:
            self.workers.give(self.worker)
        else:
            # Cancelled (the server stopping) or failed mid-way: the thread may still be
            # busy with this request; never lend it to another one.
            self.worker.shutdown(wait=False)


class OneHopASGIHandler(ASGIHandler):
    """Serve HTTP with the request's Django work in one call on a kept worker thread."""

    workers = _Workers(IDLE_THREADS)

    def load_middleware(self, is_async: bool = False) -> None:
        # The chain is entered from a thread: built in sync mode, it runs whole there.
        super().load_middleware(is_async=False)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:  # the client left before the body was read
            return
        request = _Request(self.workers)
        response: HttpResponseBase | None = None
        completed = False
        try:
            response = await request.run(self._respond, scope, body_file)
            try:
                await self._send(response, send, request)
            finally:
                await request.run(response.close)
            completed = True
        finally:
            body_file.close()
            if response is None:
                # Failed or cancelled (the server stopping) before a response: whatever the
                # thread is still doing, the request is finished after it, on that thread,
                # so its database connections go back to their pool. A response, once there,
                # is closed by the `finally` above (its job is queued even if cancelled).
                request.worker.submit(request.context.run, self._finished)
            request.done(reusable=completed)

    def _finished(self) -> None:
        signals.request_finished.send(sender=self.__class__)

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """Everything Django does for one request, on the worker thread."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            assert error_response is not None  # create_request gives one or the other
            return error_response
        response = self.get_response(request)
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        if isinstance(response, FileResponse):
            # The server cuts the body into packets: read the file in big blocks.
            response.block_size = self.chunk_size
        return response

    async def _send(self, response: HttpResponseBase, send: Any, request: _Request) -> None:
        client = _Client(send)
        await client.send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": _headers(response),
            }
        )
        if not response.streaming:
            for chunk, last in self.chunk_bytes(response.content):  # type: ignore[attr-defined]
                await client.send(
                    {"type": "http.response.body", "body": chunk, "more_body": not last}
                )
            return
        if response.is_async:  # type: ignore[attr-defined]
            async for part in response.streaming_content:  # type: ignore[attr-defined]
                if client.gone:
                    break
                await client.send({"type": "http.response.body", "body": part, "more_body": True})
        else:
            # A file or a generator: read on the worker thread, one block per call, so a
            # large download never sits whole in memory, and stops when the client left.
            parts = iter(response.streaming_content)  # type: ignore[attr-defined]
            while not client.gone and (part := await request.run(next, parts, _END)) is not _END:
                await client.send({"type": "http.response.body", "body": part, "more_body": True})
        await client.send({"type": "http.response.body", "body": b"", "more_body": False})


class _Client:
    """The server's `send`, noting a client that left (some servers raise OSError then)."""

    def __init__(self, send: Any) -> None:
        self._send = send
        self.gone = False

    async def send(self, message: dict[str, Any]) -> None:
        if self.gone:
            return
        try:
            await self._send(message)
        except OSError:
            self.gone = True


def _headers(response: HttpResponseBase) -> list[tuple[bytes, bytes]]:
    """The response's headers and cookies as ASGI wants them (case kept, as Django does)."""
    headers = []
    for name, value in response.items():
        headers.append(
            (
                name.encode("ascii") if isinstance(name, str) else bytes(name),
                value.encode("latin1") if isinstance(value, str) else bytes(value),
            )
        )
    for cookie in response.cookies.values():
        headers.append((b"Set-Cookie", cookie.output(header="").encode("ascii").strip()))
    return headers
