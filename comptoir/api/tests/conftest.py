"""Helpers for API tests: bearer-authenticated clients for members of the cast."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from comptoir.accounts.models import User
from comptoir.accounts.services import token_create


class ApiClient:
    """A test client that sends one agent's bearer token on every request."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.client = Client()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def get(self, path: str, data: dict[str, Any] | None = None) -> Any:
        return self.client.get("/api/v1" + path, data or {}, headers=self._headers())

    def post(self, path: str, payload: Any) -> Any:
        return self.client.post(
            "/api/v1" + path, payload, content_type="application/json", headers=self._headers()
        )


@pytest.fixture
def api_as(cast) -> Callable[[User], ApiClient]:
    def make(user: User) -> ApiClient:
        return ApiClient(token_create(user=user, name="tests"))

    return make
