"""The ASGI application uvicorn serves: Django's work for a request in one call on a kept thread."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from asgiref.testing import ApplicationCommunicator
from django.core import signals
from django.http import StreamingHttpResponse

from comptoir.asgi import application
from comptoir.core.asgi_handler import IDLE_THREADS, OneHopASGIHandler


def _scope(path: str, *, method: str = "GET", query: str = "", headers: Any = ()) -> Any:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _arequest(
    path: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    method: str = "GET",
    body: bytes = b"",
) -> dict[str, Any]:
    path, _, query = path.partition("?")
    scope = _scope(path, method=method, query=query, headers=headers or [])
    communicator = ApplicationCommunicator(application, scope)
    # The body in two messages, as a server passes a large one.
    half = len(body) // 2
    await communicator.send_input({"type": "http.request", "body": body[:half], "more_body": True})
    await communicator.send_input({"type": "http.request", "body": body[half:], "more_body": False})
    start = await communicator.receive_output(timeout=10)
    parts: list[bytes] = []
    while True:
        message = await communicator.receive_output(timeout=10)
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await communicator.wait(timeout=10)
    return {
        "status": start["status"],
        "headers": [(k.decode().lower(), v.decode()) for k, v in start["headers"]],
        "body": b"".join(parts).decode(),
        "messages": len(parts),
    }


def _request(path: str, headers: list[tuple[bytes, bytes]] | None = None, **kw: Any) -> Any:
    # A thread of its own, as a server's: the browser tests' Playwright keeps an event loop
    # running in this worker's main thread, where async_to_sync refuses to start another.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _arequest(path, headers, **kw)).result(timeout=30)


_get = _request


def test_the_served_application_builds_its_middleware_chain_in_sync_mode():
    assert isinstance(application, OneHopASGIHandler)
    # A sync chain is a plain callable: no coroutine function anywhere to hop through.
    assert not iscoroutinefunction(application._middleware_chain)  # type: ignore[attr-defined]


@pytest.mark.django_db(transaction=True)
def test_healthz_answers_through_the_asgi_application():
    response = _get("/healthz")

    assert response["status"] == 200
    assert '"database": "ok"' in response["body"]


@pytest.mark.django_db(transaction=True)
def test_every_middleware_still_runs_on_a_page_served_over_asgi():
    response = _get("/login/", headers=[(b"cookie", b"django_language=en")])

    assert response["status"] == 200
    assert 'name="csrfmiddlewaretoken"' in response["body"]
    headers = response["headers"]
    assert ("content-language", "en") in headers
    assert ("x-frame-options", "DENY") in headers
    assert any(k == "set-cookie" and v.startswith("csrftoken=") for k, v in headers)


@pytest.mark.django_db(transaction=True)
def test_an_unknown_address_is_a_404_over_asgi():
    response = _get("/no-such-page/")

    assert response["status"] == 404


@pytest.mark.django_db(transaction=True)
def test_a_posted_body_read_in_several_messages_reaches_the_view():
    page = _get("/login/")
    token = next(
        v.split(";")[0].split("=", 1)[1]
        for k, v in page["headers"]
        if k == "set-cookie" and v.startswith("csrftoken=")
    )
    body = f"csrfmiddlewaretoken={token}&username=nobody%40example.com&password=wrong".encode()
    response = _request(
        "/login/",
        [
            (b"cookie", f"csrftoken={token}; django_language=en".encode()),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
            (b"referer", b"http://127.0.0.1/login/"),
        ],
        method="POST",
        body=body,
    )

    # The form saw both halves of the body: the CSRF token passed and the login was refused.
    assert response["status"] == 200
    assert "Please enter a correct" in response["body"]


@pytest.mark.django_db(transaction=True)
def test_a_streamed_file_arrives_whole_in_several_body_messages():
    path = Path(__file__).resolve().parents[2] / "static/vendor/chartjs/chart.umd.min.js"
    expected = path.read_text()
    assert len(expected.encode()) > OneHopASGIHandler.chunk_size  # more than one block

    response = _get("/static/vendor/chartjs/chart.umd.min.js")

    assert response["status"] == 200
    assert response["body"] == expected
    assert response["messages"] > 2


@pytest.mark.django_db(transaction=True)
def test_a_request_is_started_served_and_finished_on_one_thread():
    seen: list[tuple[str, int]] = []

    def started(**kwargs: Any) -> None:
        seen.append(("started", threading.get_ident()))

    def finished(**kwargs: Any) -> None:
        seen.append(("finished", threading.get_ident()))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        assert _get("/healthz")["status"] == 200
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)

    # Django's connections belong to the thread that opened them: the one that finishes
    # the request (and closes them) must be the one that served it.
    assert [name for name, _ in seen] == ["started", "finished"]
    assert seen[0][1] == seen[1][1] != threading.get_ident()


@pytest.mark.django_db(transaction=True)
def test_one_request_after_another_is_served_by_the_same_kept_thread():
    threads: list[threading.Thread] = []

    def started(**kwargs: Any) -> None:
        # The thread itself, not its id: an ended thread's id is given to the next one.
        threads.append(threading.current_thread())

    signals.request_started.connect(started)
    try:
        for _ in range(IDLE_THREADS + 2):
            assert _get("/healthz")["status"] == 200
    finally:
        signals.request_started.disconnect(started)

    # Not a new thread per request: one kept thread served them all, in turn.
    assert len(set(threads)) == 1
    assert threads[0] is not threading.current_thread()


def test_a_client_gone_before_its_body_ends_is_not_served():
    async def gone() -> list[Any]:
        communicator = ApplicationCommunicator(application, _scope("/login/", method="POST"))
        await communicator.send_input({"type": "http.request", "body": b"a=", "more_body": True})
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(timeout=10)
        sent = []
        while not communicator.output_queue.empty():
            sent.append(communicator.output_queue.get_nowait())
        return sent

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, gone()).result(timeout=30) == []


@pytest.mark.django_db(transaction=True)
def test_a_client_gone_mid_download_ends_the_download_and_closes_the_response():
    finished: list[int] = []

    def on_finished(**kwargs: Any) -> None:
        finished.append(threading.get_ident())

    async def run() -> list[dict[str, Any]]:
        scope = _scope("/static/vendor/chartjs/chart.umd.min.js")
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and sent[1:]:
                raise OSError("connection reset by peer")  # gone after the first block
            sent.append(message)

        await application(scope, receive, send)
        return sent

    signals.request_finished.connect(on_finished)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            sent = pool.submit(asyncio.run, run()).result(timeout=30)
    finally:
        signals.request_finished.disconnect(on_finished)

    # The start and one block went out; nothing was read or sent after; closed once.
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert len(finished) == 1


@pytest.mark.django_db(transaction=True)
def test_a_stream_failing_mid_way_closes_its_response_once():
    finished: list[int] = []

    class Failing(OneHopASGIHandler):
        def _respond(self, scope: dict[str, Any], body_file: Any) -> StreamingHttpResponse:
            def parts() -> Any:
                yield b"first block"
                raise RuntimeError("the generator broke")

            return StreamingHttpResponse(parts())

    async def run() -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            pass

        await Failing()(_scope("/healthz"), receive, send)

    signals.request_finished.connect(lambda **kw: finished.append(1), weak=False, dispatch_uid="t")
    try:
        with (
            ThreadPoolExecutor(max_workers=1) as pool,
            pytest.raises(RuntimeError, match="the generator broke"),
        ):
            pool.submit(asyncio.run, run()).result(timeout=30)
    finally:
        signals.request_finished.disconnect(dispatch_uid="t")
    time.sleep(0.2)  # a second close, if any, would be queued on the request's thread
    assert finished == [1]
