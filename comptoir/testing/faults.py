"""Real database faults for tests: the database itself refuses the work, nothing is mocked."""

from __future__ import annotations

import threading
from collections.abc import Sequence


class LockedDatabase:
    """Another connection holds the write lock on `tables`, as a stuck writer would.

    On the in-memory SQLite test database a second writer is refused at once
    ("database table is locked"); on PostgreSQL it would wait, so callers skip there.
    """

    def __init__(self, tables: Sequence[str] = ("mail_inboundemail",)) -> None:
        self._tables = tuple(tables)
        self._locked = threading.Event()
        self._release = threading.Event()
        self._holder = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        from django.db import connections

        with connections["default"].cursor() as cursor:
            cursor.execute("BEGIN IMMEDIATE")
            for table in self._tables:
                # A no-op write takes the table's write lock until the ROLLBACK.
                cursor.execute(f'UPDATE "{table}" SET id = id WHERE 1 = 1')
            self._locked.set()
            self._release.wait(30)
            cursor.execute("ROLLBACK")
        connections.close_all()

    def lock(self) -> None:
        self._holder.start()
        assert self._locked.wait(10)

    def release(self) -> None:
        self._release.set()
        if self._holder.is_alive():
            self._holder.join(10)
