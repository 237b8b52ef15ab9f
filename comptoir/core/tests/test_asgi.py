"""The ASGI application uvicorn serves: the whole middleware chain, entered in one hop."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from asgiref.testing import ApplicationCommunicator

from comptoir.asgi import SyncChainASGIHandler, application


async def _aget(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(timeout=10)
    body = b""
    while True:
        message = await communicator.receive_output(timeout=10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(timeout=10)
    return {
        "status": start["status"],
        "headers": [(k.decode().lower(), v.decode()) for k, v in start["headers"]],
        "body": body.decode(),
    }


def _get(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    # A thread of its own, as a server's: the browser tests' Playwright keeps an event loop
    # running in this worker's main thread, where async_to_sync refuses to start another.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _aget(path, headers)).result(timeout=30)


def test_the_served_application_builds_its_middleware_chain_in_sync_mode():
    assert isinstance(application, SyncChainASGIHandler)
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
