"""`comptoir manage counts_rebuild`: recompute the inbox counts from the tickets."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from comptoir.tickets.counts import counts_rebuild


class Command(BaseCommand):
    help = (
        "Recompute the inbox counts (InboxCount) from the tickets, after a bulk import that "
        "bypassed the services. Safe to run at any time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workspace",
            type=int,
            action="append",
            dest="workspaces",
            help="only this workspace id (repeatable); all workspaces by default",
        )

    def handle(self, *args: Any, workspaces: list[int] | None = None, **options: Any) -> None:
        rows = counts_rebuild(workspace_ids=workspaces)
        self.stdout.write(f"Inbox counts rebuilt: {rows} rows.")
