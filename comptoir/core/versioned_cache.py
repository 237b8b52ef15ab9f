"""Entries of the shared cache that one version token invalidates all at once.

For what every page reads and rarely changes (the action bar's people and reasons, the
composer's templates): the token is part of every key, and replacing it forgets them all,
right away and again once the transaction commits (a page read by another process between
the two could otherwise keep the old data under the new token). Writes that bypass the
signals calling `invalidate` are not seen: entries also expire after `timeout`.

Each process also keeps the values of the current version it has read: only the version is
read from the shared cache on every use (one small read instead of two, and no unpickling
of the value), and a new version makes the process read the values again. The local copy
ages out with the same `timeout`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction


class VersionedCache:
    """Values under `name`, each loaded once per version (or per `timeout` seconds)."""

    def __init__(self, name: str, *, timeout: int) -> None:
        self.name = name
        self.timeout = timeout
        self.version_key = f"{name}:version"
        self._local: dict[str, tuple[float, Any]] = {}  # full key: (read at, value)

    def _version(self) -> str:
        version = cache.get(self.version_key)
        if version is None:
            version = uuid.uuid4().hex
            cache.set(self.version_key, version, None)
        return str(version)

    def get(self, key: Any, load: Callable[[], Any], kind: type) -> Any:
        """The value for `key` (an instance of `kind`), loaded by `load()` when not cached."""
        full_key = f"{self.name}:{self._version()}:{key}"
        now = time.monotonic()
        local = self._local.get(full_key)
        if local is not None and now - local[0] < self.timeout and isinstance(local[1], kind):
            return local[1]
        value = cache.get(full_key)
        if not isinstance(value, kind):
            value = load()
            cache.set(full_key, value, self.timeout)
        if len(self._local) > 1000:  # old versions' keys: let them go
            self._local.clear()
        self._local[full_key] = (now, value)
        return value

    def invalidate(self) -> None:
        """Forget every value (now, and again after the commit)."""
        cache.set(self.version_key, uuid.uuid4().hex, None)
        transaction.on_commit(lambda: cache.set(self.version_key, uuid.uuid4().hex, None))
