"""Which solicitation thread an inbound email answers, if any.

Evidence, within the mail's tenant, strongest first:
1. the mail cites (In-Reply-To, then References from the newest) the Message-ID of a
   message of a thread: one we sent, or an earlier answer;
2. a valid side-thread token in the subject (`ids.find_thread_token`), for clients that
   drop the headers; a forged token is ignored.
Routing asks this before anything else, so an answer never lands in the customer's
conversation, never creates a ticket and never changes the ticket's contact.
"""

from __future__ import annotations

from collections.abc import Iterable

from comptoir.channels.email.ids import find_thread_token, has_thread_token
from comptoir.channels.email.parsed import ParsedEmail
from comptoir.solicitations.models import Solicitation, SolicitationMessage


def _normalized(value: str) -> str:
    from comptoir.channels.email.threads import normalize_id

    return normalize_id(value)


def cited_ids(parsed: ParsedEmail) -> list[str]:
    """The ids the mail answers, most direct first: In-Reply-To, then References newest first.

    Bounded as the threading index bounds them (the thread's root and the newest ones).
    """
    from comptoir.channels.email.threads import MAX_REFERENCES

    refs = list(parsed.references)
    if len(refs) > MAX_REFERENCES:
        refs = refs[:1] + refs[-(MAX_REFERENCES - 1) :]
    seen: dict[str, None] = {}
    for value in [*parsed.in_reply_to, *reversed(refs), parsed.message_id]:
        n = _normalized(value)
        if n:
            seen.setdefault(n, None)
    return list(seen)


class SolicitationFinder:
    """Thread lookups for the mails of one transaction (a batch asks the database once)."""

    def __init__(self) -> None:
        self._by_id: dict[tuple[int, str], int] = {}
        self._looked_up: set[tuple[int, str]] = set()

    def prefetch(self, tenant_id: int, ids: Iterable[str]) -> None:
        """Load which of `ids` (normalized) are messages of a solicitation thread."""
        wanted = sorted({i for i in ids if (tenant_id, i) not in self._looked_up})
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = SolicitationMessage.objects.filter(
                message__tenant_id=tenant_id, message__message_id__in=chunk
            ).values_list("message__message_id", "solicitation_id")
            for message_id, solicitation_id in rows:
                self._by_id.setdefault((tenant_id, message_id), solicitation_id)
            self._looked_up.update((tenant_id, m) for m in chunk)

    def record(self, *, tenant_id: int, ids: Iterable[str], solicitation_id: int) -> None:
        """The ids of an answer just added to a thread (normalized): a later mail of the same
        batch that cites only them is an answer in that thread too, not the customer's."""
        for message_id in ids:
            self._by_id.setdefault((tenant_id, message_id), solicitation_id)
            self._looked_up.add((tenant_id, message_id))

    def find(self, *, tenant_id: int, parsed: ParsedEmail) -> Solicitation | None:
        """The solicitation this mail answers, or None."""
        cited = cited_ids(parsed)
        self.prefetch(tenant_id, cited)
        for message_id in cited:
            solicitation_id = self._by_id.get((tenant_id, message_id))
            if solicitation_id is not None:
                return Solicitation.objects.select_related("ticket").get(pk=solicitation_id)
        if not has_thread_token(parsed.subject):
            return None
        token = find_thread_token(parsed.subject, tenant_id)
        if token is None:
            return None
        number, thread = token
        return (
            Solicitation.objects.select_related("ticket")
            .filter(tenant_id=tenant_id, ticket__number=number, number=thread)
            .first()
        )
