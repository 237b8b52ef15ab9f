"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest

pytest_plugins = ["comptoir.testing.browser"]


@pytest.fixture
def cast(db):
    from comptoir.testing.cast import make_cast

    return make_cast()


@pytest.fixture(autouse=True)
def _fast_hashing_and_media(settings, tmp_path):
    # argon2 is the production hasher; tests only need passwords to round-trip quickly.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
