"""Values cached under one version token: loaded once, all forgotten at once."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from comptoir.core.versioned_cache import VersionedCache


class Loader:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> tuple[int, ...]:
        self.calls += 1
        return (self.calls,)


def test_a_value_is_loaded_once_then_served_from_the_cache() -> None:
    store = VersionedCache("test-once", timeout=60)
    load = Loader()
    assert store.get(1, load, tuple) == (1,)
    assert store.get(1, load, tuple) == (1,)
    assert store.get(2, load, tuple) == (2,)  # another key, its own load
    assert load.calls == 2


@pytest.mark.django_db  # invalidate() also acts after the commit
def test_invalidate_makes_every_process_load_again() -> None:
    store = VersionedCache("test-invalidate", timeout=60)
    other_process = VersionedCache("test-invalidate", timeout=60)  # its own local copies
    load = Loader()
    assert store.get(1, load, tuple) == (1,)
    assert other_process.get(1, load, tuple) == (1,)  # from the shared cache
    assert load.calls == 1

    store.invalidate()

    assert other_process.get(1, load, tuple) == (2,)
    assert store.get(1, load, tuple) == (2,)
    assert load.calls == 2


def test_the_shared_cache_losing_the_version_only_costs_a_load() -> None:
    store = VersionedCache("test-lost", timeout=60)
    load = Loader()
    store.get(1, load, tuple)
    cache.clear()  # a restarted Redis, a culled file cache
    assert store.get(1, load, tuple) == (2,)


def test_local_copies_age_out_with_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import comptoir.core.versioned_cache as module

    store = VersionedCache("test-age", timeout=60)
    load = Loader()
    clock = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    assert store.get(1, load, tuple) == (1,)
    # Only the local copy is left (the shared entry expired), under the same version.
    cache.delete(f"test-age:{store._version()}:1")
    clock[0] += 59
    assert store.get(1, load, tuple) == (1,)
    clock[0] += 2
    assert store.get(1, load, tuple) == (2,)  # aged out: loaded again
