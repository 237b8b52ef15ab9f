"""Django's PostgreSQL backend, reading `timestamptz` values with a faster loader.

Django reads every `timestamptz` through a loader of its own (to give the time zone it
wants) built on psycopg's pure-Python parser: ~5 µs a value, and a page of the inbox reads
~170 of them, the API list ~190. Python's own `datetime.fromisoformat` (C) parses the
server's ISO output in well under a microsecond; anything it does not take (another
`DateStyle`, `infinity`, BC dates, years past 9999) still goes through Django's loader, so
values and errors are the same.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any

from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.adapt import AdaptersMap

__all__ = ["DatabaseWrapper", "FastTzLoader"]


class FastTzLoader(BaseTzLoader):
    """Django's `timestamptz` loader, with the ISO format parsed in C."""

    def load(self, data: Any) -> datetime:
        try:
            value = datetime.fromisoformat(bytes(data).decode("ascii"))
        except ValueError:
            return super().load(data)  # type: ignore[no-any-return]
        # The server wrote the time in the session's zone, which Django sets to its own:
        # the same instant and zone as Django's loader gives (no zone without USE_TZ).
        if self.timezone is None:
            return value.replace(tzinfo=None)
        return value.astimezone(self.timezone)


@lru_cache
def _adapters_with_fast_loader(template: AdaptersMap, timezone: tzinfo | None) -> AdaptersMap:
    adapters = AdaptersMap(template)
    loader = type("SpecificFastTzLoader", (FastTzLoader,), {"timezone": timezone})
    adapters.register_loader("timestamptz", loader)
    return adapters


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        # Django's adapters map, shared by the connections (and the pool) of this process.
        # A cursor whose time zone differs from it (a test overriding TIME_ZONE) gets
        # Django's own loader back from Django's create_cursor.
        if "context" in params:
            params["context"] = _adapters_with_fast_loader(params["context"], self.timezone)
        return params
