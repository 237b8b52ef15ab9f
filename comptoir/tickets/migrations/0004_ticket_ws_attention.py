"""The inbox's "needs attention" index: new tickets and tickets with unread inbound messages.

On PostgreSQL it is built CONCURRENTLY (the migration is not atomic), so applying it to a
live database does not block the writes on tickets while it builds.
"""

from __future__ import annotations

import django.db.models.functions.comparison
from django.db import migrations, models

from comptoir.tickets.migrations._live import AddIndexLive


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0003_event_waiting_message"),
    ]

    operations = [
        AddIndexLive(
            model_name="ticket",
            index=models.Index(
                models.F("workspace"),
                models.OrderBy(
                    django.db.models.functions.comparison.Coalesce("last_message_at", "created_at"),
                    descending=True,
                ),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("has_unread", True), ("status", "new"), _connector="OR"),
                name="ticket_ws_attention",
            ),
        ),
    ]
