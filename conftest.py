"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest

pytest_plugins = ["comptoir.testing.browser"]


@pytest.fixture
def cast(db):
    from comptoir.testing.cast import make_cast

    return make_cast()


@pytest.fixture
def external(cast):
    """An external agent (a partner company's) of the Boutique workspace."""
    from comptoir.accounts.rights import RoleCode
    from comptoir.accounts.services import agent_create, membership_set
    from comptoir.testing.cast import PASSWORD

    user = agent_create(
        tenant=cast.tenant,
        email="xavier@partner.test",
        password=PASSWORD,
        first_name="Xavier",
        last_name="Partner",
    )
    membership_set(user=user, workspace=cast.boutique, role=RoleCode.EXTERNAL_AGENT)
    return user


@pytest.fixture
def huey_immediate():
    """Background tasks run inline, in the thread that queues them (after its commit)."""
    from huey.contrib.djhuey import HUEY

    previous = HUEY.immediate
    HUEY.immediate = True
    try:
        yield HUEY
    finally:
        HUEY.immediate = previous


@pytest.fixture(autouse=True)
def _fast_hashing_and_media(settings, tmp_path):
    # argon2 is the production hasher; tests only need passwords to round-trip quickly.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Local-memory caches of one location share their data across instances: without this,
    # a test could read what an earlier one cached under the same (reused) ids.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    # The middleware activates each request's language on the thread that served it, and the
    # test client serves on the test's thread: without this, a test in English would leave
    # English to whichever test runs next on that worker.
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
