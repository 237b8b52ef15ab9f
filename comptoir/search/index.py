"""Maintenance of the full-text index: rebuild it, or pause its triggers for a bulk load.

The triggers (migration 0001) keep the index in step with every write. A bulk load that
bypasses them (PostgreSQL COPY with session_replication_role = replica) or that would pay
them row by row (millions of SQLite rows) runs inside `search_index_paused()`, which
rebuilds the whole index at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

_SQLITE_HEAD = (
    "replace(replace(replace(t.subject, char(2), ''), char(3), ''), char(31), ' ') || char(31) "
    "|| coalesce((SELECT replace(replace(replace(c.first_name, char(2), ''), char(3), ''), "
    "char(31), ' ') || ' ' || replace(replace(replace(c.last_name, char(2), ''), char(3), ''), "
    "char(31), ' ') || char(31) || replace(replace(replace(c.company, char(2), ''), char(3), ''), "
    "char(31), ' ') FROM contacts_contact c WHERE c.id = t.contact_id), char(31)) || char(31) "
    "|| replace(replace(replace(t.requester_name, char(2), ''), char(3), ''), char(31), ' ')"
)
_SQLITE_BODY = (
    "coalesce((SELECT substr(group_concat(b, char(10)), 1, 1000000) FROM ("
    "SELECT replace(replace(replace(substr(m.body_text, 1, 20000), char(2), ''), char(3), ''), "
    "char(31), ' ') AS b FROM tickets_message m WHERE m.ticket_id = t.id "
    "AND m.kind <> 'automatic' AND m.body_text <> '' ORDER BY m.created_at, m.id)), '')"
)

SQLITE_REBUILD = [
    "DELETE FROM search_ticket_fts",
    "INSERT INTO search_ticket_fts (rowid, scope, head, body) "
    f"SELECT t.id, 'w' || t.workspace_id, {_SQLITE_HEAD}, {_SQLITE_BODY} FROM tickets_ticket t",
    "INSERT INTO search_ticket_fts (search_ticket_fts) VALUES ('optimize')",
]

PG_REBUILD = [
    "DROP INDEX IF EXISTS search_ticket_doc_match",
    "TRUNCATE search_ticket_doc",
    # One pass over the messages grouped by ticket (search_body() per ticket would probe
    # the messages index 100,000 times); same text and limits as search_body().
    r"""
    INSERT INTO search_ticket_doc (ticket_id, workspace_id, doc)
    SELECT t.id, t.workspace_id,
           search_head(t.subject, t.contact_id, t.requester_name) || coalesce(b.body, '')
    FROM tickets_ticket t LEFT JOIN (
        SELECT m.ticket_id, to_tsvector('comptoir_french', left(string_agg(
            search_clean(left(m.body_text, 20000)), E'\n' ORDER BY m.created_at, m.id), 500000))
            AS body
        FROM tickets_message m WHERE m.kind <> 'automatic' AND m.body_text <> ''
        GROUP BY m.ticket_id
    ) b ON b.ticket_id = t.id
    """,
    "CREATE INDEX search_ticket_doc_match ON search_ticket_doc USING gin (doc)",
    "ANALYZE search_ticket_doc",
]


def search_index_rebuild() -> None:
    """Index every ticket again from the tables (after a load that bypassed the triggers)."""
    statements = PG_REBUILD if connection.vendor == "postgresql" else SQLITE_REBUILD
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for sql in statements:
            cursor.execute(sql)


def _triggers() -> list[tuple[str, str, str]]:
    """(name, table, definition) of the search triggers."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname, tgrelid::regclass::text, pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE NOT tgisinternal AND tgname LIKE 'search\\_%%'"
            )
        else:
            cursor.execute(
                "SELECT name, tbl_name, sql FROM sqlite_master "
                "WHERE type = 'trigger' AND name LIKE 'search\\_%%' ESCAPE '\\'"
            )
        return [(name, table, sql) for name, table, sql in cursor.fetchall()]


@contextmanager
def search_index_paused() -> Iterator[None]:
    """Drop the search triggers for a bulk load, then restore them and rebuild the index."""
    triggers = _triggers()
    with connection.cursor() as cursor:
        for name, table, _sql in triggers:
            quoted = connection.ops.quote_name(name)
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER {quoted} ON {table}")
            else:
                cursor.execute(f"DROP TRIGGER {quoted}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for _name, _table, sql in triggers:
                cursor.execute(sql)
        search_index_rebuild()
