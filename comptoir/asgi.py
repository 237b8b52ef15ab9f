"""The ASGI application uvicorn serves (`comptoir run`, `uvicorn comptoir.asgi:application`)."""

from __future__ import annotations

import gc
import os

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comptoir.settings")
django.setup(set_prefix=False)


class SyncChainASGIHandler(ASGIHandler):
    """Django's ASGI handler, entering the middleware chain and the view in one thread hop.

    Our views and most middleware are synchronous. Django's own chain switches between the
    event loop and a worker thread at every boundary between async-capable and sync-only
    middleware, then once more for the view: about six switches per request, 2 to 4 ms a
    page on a 2-core machine. Built in sync mode, the chain runs whole in one worker thread,
    as under WSGI; reading the request and sending (or streaming) the response stay async.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


application = SyncChainASGIHandler()

# What was loaded at start-up lives as long as the process: keep it out of the collector's
# full passes, which otherwise walk it again and again (pauses of ~100 ms under load).
gc.freeze()
