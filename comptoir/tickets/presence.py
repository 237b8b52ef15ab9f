"""Who has a ticket open right now (collision warning), kept in the Django cache.

Each open ticket page sends a heartbeat every ~12 s while it is visible. A heartbeat writes
one key per (ticket, agent) that expires after `PRESENCE_TTL_S`, so a closed tab vanishes
on its own. A per-ticket index lists the agents' ids; it is written only when an agent is
not in it yet, so two agents beating at once can at worst drop each other from the index
for one beat (the next beat puts them back) — never show someone who left.

Works with every shared cache backend configured in settings (Redis, the file cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache

from comptoir.accounts.models import User
from comptoir.core import clock
from comptoir.tickets.models import Ticket

HEARTBEAT_S = 12
# Two missed beats (a throttled background tab, a slow network) before someone disappears.
PRESENCE_TTL_S = 2 * HEARTBEAT_S + 6
_INDEX_TTL_S = 3600


@dataclass(frozen=True)
class Viewer:
    user_id: int
    name: str
    initials: str
    since: datetime


def _index_key(ticket_id: int) -> str:
    return f"presence:{ticket_id}"


def _viewer_key(ticket_id: int, user_id: int) -> str:
    return f"presence:{ticket_id}:{user_id}"


def presence_beat(*, ticket: Ticket, user: User, now: datetime | None = None) -> None:
    """Record that `user` has `ticket` open now (the caller checked they may see it)."""
    now = now or clock.now()
    key = _viewer_key(ticket.pk, user.pk)
    previous = cache.get(key)
    since = previous["since"] if isinstance(previous, dict) and "since" in previous else now
    cache.set(
        key,
        {"name": str(user), "initials": user.initials, "since": since},
        timeout=PRESENCE_TTL_S,
    )
    index = cache.get(_index_key(ticket.pk)) or []
    if user.pk not in index:
        alive = _alive(ticket.pk, index)
        cache.set(_index_key(ticket.pk), [*alive, user.pk], timeout=_INDEX_TTL_S)


def _alive(ticket_id: int, user_ids: list[int]) -> list[int]:
    found = cache.get_many([_viewer_key(ticket_id, pk) for pk in user_ids])
    return [pk for pk in user_ids if _viewer_key(ticket_id, pk) in found]


def presence_list(*, ticket: Ticket, exclude: User | None = None) -> list[Viewer]:
    """Agents who have the ticket open, earliest first, without `exclude` (the asker)."""
    index = cache.get(_index_key(ticket.pk)) or []
    wanted = [pk for pk in index if exclude is None or pk != exclude.pk]
    found = cache.get_many([_viewer_key(ticket.pk, pk) for pk in wanted])
    viewers = []
    for pk in wanted:
        data = found.get(_viewer_key(ticket.pk, pk))
        if isinstance(data, dict):
            viewers.append(Viewer(pk, data["name"], data["initials"], data["since"]))
    return sorted(viewers, key=lambda v: (v.since, v.user_id))
