"""The ASGI application uvicorn serves (`comptoir run`, `uvicorn comptoir.asgi:application`)."""

from __future__ import annotations

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comptoir.settings")
django.setup(set_prefix=False)

from comptoir.core.asgi_handler import OneHopASGIHandler  # noqa: E402 (needs the setup)

application = OneHopASGIHandler()

# What was loaded at start-up lives as long as the process: keep it out of the collector's
# full passes, which otherwise walk it again and again (pauses of ~100 ms under load).
gc.freeze()
