"""Two partial indexes on the tickets app's tables, for the dashboard's "today" figures.

No index of the tickets app finds "closed today" (status_changed_at is in none) or "first
replies sent today" (messages are indexed by ticket only): without these, both figures read
every closed ticket / every message of the visible workspaces. Both are partial, so they
cost only closed tickets and outbound messages, and are plain SQL that SQLite and
PostgreSQL share. They live here, not in the tickets models, because the dashboard is their
only reader; moving them to `Ticket.Meta.indexes` later needs a migration that drops these.

On PostgreSQL they are built CONCURRENTLY (the migration is not atomic) so that applying it
to a live database does not block the writes on tickets and messages while they build.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEXES = [
    (
        "dashboard_ticket_closed_day",
        "tickets_ticket (workspace_id, status_changed_at, queue_id) WHERE status = 'closed'",
    ),
    (
        "dashboard_message_reply_time",
        "tickets_message (tenant_id, created_at, ticket_id) WHERE kind = 'outbound'",
    ),
]


def create(apps: Any, schema_editor: Any) -> None:
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name, target in INDEXES:
        schema_editor.execute(f"CREATE INDEX {concurrently}IF NOT EXISTS {name} ON {target}")


def drop(apps: Any, schema_editor: Any) -> None:
    for name, _target in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0002_event_transfer_unread")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
