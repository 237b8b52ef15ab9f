"""The inbox's unread counts from an index alone: unread tickets, with every filtered column.

Built CONCURRENTLY on PostgreSQL (the migration is not atomic), as 0004.
"""

from __future__ import annotations

from django.db import migrations, models

from comptoir.tickets.migrations._live import AddIndexLive


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0005_ticket_waiting_due"),
    ]

    operations = [
        AddIndexLive(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("has_unread", True)),
                fields=["workspace", "status", "channel", "queue", "assignee"],
                name="ticket_ws_unread",
            ),
        ),
    ]
