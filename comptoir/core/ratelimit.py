"""Fixed-window failure counters in the Django cache (login, later password reset, forms).

A window opens at the first failure for a key and lasts `window_s` seconds. `cache.add` +
`cache.incr` are atomic on Redis and local memory; the file cache (one machine) may let a
few concurrent attempts through, which is acceptable for slowing down guessing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.core.cache import cache

RateKey = tuple[str, str]  # (scope, value), e.g. ("login-ip", "203.0.113.7")


def _cache_key(key: RateKey) -> str:
    scope, value = key
    # Hashed so that any submitted text (spaces, unicode, long strings) is a valid cache key.
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"comptoir:rl:{scope}:{digest}"


def failures(key: RateKey) -> int:
    """How many failures the key has in its current window."""
    return int(cache.get(_cache_key(key), 0))


def is_limited(keys: Iterable[RateKey], *, limit: int) -> bool:
    """True when any key already reached `limit` failures in its window."""
    return any(failures(k) >= limit for k in keys)


def record_failure(keys: Iterable[RateKey], *, window_s: int) -> None:
    """Count one failure for each key, opening its window on the first one."""
    for key in keys:
        name = _cache_key(key)
        cache.add(name, 0, timeout=window_s)
        try:
            cache.incr(name)
        except ValueError:
            # Expired between add and incr.
            cache.set(name, 1, timeout=window_s)


def reset(keys: Iterable[RateKey]) -> None:
    """Forget the failures of these keys."""
    cache.delete_many([_cache_key(k) for k in keys])
