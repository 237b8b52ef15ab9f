"""Django's SQLite backend, handing closed connections to a small per-process pool.

Under ASGI each request runs in a context of its own, so Django opens a new SQLite
connection per request and closes it after: each page paid the open, the PRAGMAs, the parse
of the schema (FTS tables and triggers included) and a cold page cache. Kept open, a
connection brings all of that warm to the next request. PostgreSQL gets the same from
psycopg's pool (see settings).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from typing import Any

from django.db.backends.sqlite3 import base

__all__ = ["DatabaseWrapper", "pool_clear"]

# More idle connections than threads that ever run at once buys nothing; each keeps its own
# page cache (PRAGMA cache_size), so the bound also bounds memory.
POOL_SIZE = 4


class _Pool:
    """Idle connections for one database file, owned by the process that opened them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[sqlite3.Connection] = []
        self.pid = os.getpid()

    def take(self) -> sqlite3.Connection | None:
        with self.lock:
            if self.pid != os.getpid():
                # Inherited across fork: SQLite forbids using a parent's connection in a
                # child, and closing it here could release the parent's locks. Let it be.
                self.idle, self.pid = [], os.getpid()
            return self.idle.pop() if self.idle else None

    def give(self, conn: sqlite3.Connection, size: int) -> bool:
        with self.lock:
            if self.pid != os.getpid() or len(self.idle) >= size:
                return False
            self.idle.append(conn)
            return True

    def clear(self) -> list[sqlite3.Connection]:
        with self.lock:
            idle, self.idle = self.idle, []
            return idle if self.pid == os.getpid() else []


_pools: dict[str, _Pool] = {}
_pools_lock = threading.Lock()


def _pool_for(name: str) -> _Pool:
    with _pools_lock:
        return _pools.setdefault(name, _Pool())


def pool_clear() -> None:
    """Close every idle connection (before a database file is replaced or removed)."""
    with _pools_lock:
        pools = list(_pools.values())
    for pool in pools:
        for conn in pool.clear():
            conn.close()


class DatabaseWrapper(base.DatabaseWrapper):
    """SQLite whose connections go back to a pool on close instead of being closed.

    OPTIONS["pool"] is the number of idle connections kept (default POOL_SIZE; 0 turns the
    pool off). An in-memory database is never pooled: Django never closes it anyway.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The cursors opened on the current connection: one left mid-SELECT (an abandoned
        # .iterator()) would keep its read snapshot, and its lock, into the next request.
        self._cursors: weakref.WeakSet[Any] = weakref.WeakSet()

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = super().create_cursor(name)
        self._cursors.add(cursor)
        return cursor

    def get_connection_params(self) -> dict[str, Any]:
        params = dict(super().get_connection_params())
        self.pool_size = int(params.pop("pool", POOL_SIZE))
        return params

    def _pooled(self) -> bool:
        return self.pool_size > 0 and not self.is_in_memory_db()

    def get_new_connection(self, conn_params: dict[str, Any]) -> sqlite3.Connection:
        if self._pooled():
            conn = _pool_for(self.settings_dict["NAME"]).take()
            if conn is not None:
                return conn
        return super().get_new_connection(conn_params)  # type: ignore[no-any-return]

    def _close(self) -> None:
        conn = self.connection
        pooled = conn is not None and self._pooled() and self._reusable(conn)
        if pooled and _pool_for(self.settings_dict["NAME"]).give(conn, self.pool_size):
            return
        super()._close()  # type: ignore[misc]

    def _reusable(self, conn: sqlite3.Connection) -> bool:
        """Whether `conn` can serve another request as if it were new."""
        if self.in_atomic_block or self.errors_occurred:
            return False
        try:
            for cursor in list(self._cursors):
                cursor.close()  # ends any statement left unfinished
            self._cursors.clear()
            if conn.in_transaction:
                conn.rollback()
            # Migrations and loaddata turn the checks off on their connection: never
            # pass that on.
            return bool(conn.execute("PRAGMA foreign_keys").fetchone()[0])
        except sqlite3.Error:
            return False
