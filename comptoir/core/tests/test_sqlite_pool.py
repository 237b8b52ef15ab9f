"""The pooled SQLite backend: a closed connection serves the next request, clean and warm."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db.utils import ConnectionHandler

from comptoir.core.sqlite_pool import base as pool_base


def _wrapper(path: Path, **options: Any) -> Any:
    handler = ConnectionHandler(
        {"default": {"ENGINE": "comptoir.core.sqlite_pool", "NAME": str(path), "OPTIONS": options}}
    )
    return handler["default"]


@pytest.fixture(autouse=True)
def _own_databases(django_db_blocker: Any) -> Any:
    # These wrappers open files of their own, never the test database.
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def db_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pool.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, parent_id REFERENCES parent(id))")
    yield path
    pool_base.pool_clear()


def _raw(wrapper: Any) -> sqlite3.Connection:
    wrapper.ensure_connection()
    return wrapper.connection  # type: ignore[no-any-return]


def test_a_closed_connection_is_handed_to_the_next_wrapper(db_file: Path) -> None:
    first = _wrapper(db_file)
    raw = _raw(first)
    first.close()
    assert first.connection is None

    second = _wrapper(db_file)
    assert _raw(second) is raw
    with second.cursor() as cursor:
        cursor.execute("INSERT INTO parent (id) VALUES (1)")
        cursor.execute("SELECT count(*) FROM parent")
        assert cursor.fetchone() == (1,)
    second.close()


def test_an_open_transaction_is_rolled_back_before_re_use(db_file: Path) -> None:
    first = _wrapper(db_file)
    raw = _raw(first)
    raw.execute("BEGIN")
    raw.execute("INSERT INTO parent (id) VALUES (7)")
    first.close()

    second = _wrapper(db_file)
    assert _raw(second) is raw
    assert not raw.in_transaction
    assert raw.execute("SELECT count(*) FROM parent").fetchone() == (0,)
    second.close()


def test_foreign_key_checks_turned_off_are_never_passed_on(db_file: Path) -> None:
    first = _wrapper(db_file)
    raw = _raw(first)
    first.disable_constraint_checking()
    first.close()
    with pytest.raises(sqlite3.ProgrammingError):  # really closed
        raw.execute("SELECT 1")

    second = _wrapper(db_file)
    assert _raw(second) is not raw
    with pytest.raises(sqlite3.IntegrityError):
        second.connection.execute("INSERT INTO item (parent_id) VALUES (42)")
    second.close()


def test_a_connection_closed_inside_an_atomic_block_is_closed_for_real(db_file: Path) -> None:
    first = _wrapper(db_file)
    raw = _raw(first)
    first.set_autocommit(False)
    first.in_atomic_block = True
    first.close()
    first.in_atomic_block = False
    with pytest.raises(sqlite3.ProgrammingError):
        raw.execute("SELECT 1")


def test_the_pool_keeps_at_most_its_size_and_closes_the_rest(db_file: Path) -> None:
    wrappers = [_wrapper(db_file, pool=1) for _ in range(2)]
    raws = [_raw(w) for w in wrappers]
    assert raws[0] is not raws[1]
    for w in wrappers:
        w.close()
    raws[0].execute("SELECT 1")  # kept
    with pytest.raises(sqlite3.ProgrammingError):
        raws[1].execute("SELECT 1")


def test_pool_zero_turns_pooling_off(db_file: Path) -> None:
    first = _wrapper(db_file, pool=0)
    raw = _raw(first)
    first.close()
    with pytest.raises(sqlite3.ProgrammingError):
        raw.execute("SELECT 1")


def test_a_forked_child_never_uses_its_parents_connections(
    db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _wrapper(db_file)
    raw = _raw(first)
    first.close()
    parent = os.getpid()
    monkeypatch.setattr(pool_base.os, "getpid", lambda: parent + 1)
    second = _wrapper(db_file)
    assert _raw(second) is not raw
    second.close()
    monkeypatch.undo()
    # The parent's idle connection was dropped from the child's pool, not closed.
    raw.execute("SELECT 1")
    raw.close()


def test_threads_each_get_a_connection_of_their_own(db_file: Path) -> None:
    seen: list[sqlite3.Connection] = []
    both_open = threading.Barrier(2)

    def work() -> None:
        wrapper = _wrapper(db_file)
        seen.append(_raw(wrapper))
        both_open.wait(5)
        wrapper.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(seen) == 2 and seen[0] is not seen[1]


def test_the_in_memory_database_is_left_to_django() -> None:
    wrapper = _wrapper(Path(":memory:"))
    raw = _raw(wrapper)
    wrapper.close()  # Django keeps an in-memory database open: closing would lose it
    assert wrapper.connection is raw
    wrapper.connection = None
    raw.close()


def test_a_select_left_unfinished_does_not_travel_with_the_connection(db_file: Path) -> None:
    first = _wrapper(db_file)
    with first.cursor() as cursor:
        cursor.executemany("INSERT INTO parent (id) VALUES (%s)", [(1,), (2,), (3,)])
    reader = first.cursor()
    reader.execute("SELECT id FROM parent")
    assert reader.fetchone() == (1,)  # and never read to the end: its lock is still held
    raw = first.connection
    first.close()

    # Another writer commits at once: the pooled connection holds no lock any more.
    with sqlite3.connect(db_file, timeout=0.2) as other:
        other.execute("INSERT INTO parent (id) VALUES (4)")
    second = _wrapper(db_file)
    assert _raw(second) is raw
    with second.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM parent")
        assert cursor.fetchone() == (4,)
    second.close()
