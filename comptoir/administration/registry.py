"""What the "Associated items" sections of workspace and queue pages list.

Each app that configures something per workspace or queue registers it here from its
AppConfig.ready(), so the administration pages never import those apps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AssociatedItem:
    label: Any  # a lazy translation
    workspace_url: str  # URL name taking workspace_id
    queue_url: str | None  # URL name taking queue_id, or None when not per queue
    right: str


_ITEMS: list[AssociatedItem] = []


def associated_item(*, label: Any, workspace_url: str, queue_url: str | None, right: str) -> None:
    """Register an item (idempotent: ready() may run more than once in tests)."""
    item = AssociatedItem(label, workspace_url, queue_url, right)
    if item not in _ITEMS:
        _ITEMS.append(item)


def associated_items() -> list[AssociatedItem]:
    return list(_ITEMS)
