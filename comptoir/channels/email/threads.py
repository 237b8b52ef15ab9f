"""Threading: which ticket an inbound email belongs to, whatever the order of arrival.

Named threads.py so it never shadows the standard library's `threading`.

Order of the evidence, all within the mail's own tenant (never across tenants):
1. any of its Message-ID, In-Reply-To and References already in the ThreadRef index;
2. a Message-ID of one of our outgoing emails that it references (also in ThreadRef when
   the outbound side records it, looked up directly as well);
3. a valid signed reply token in the subject (clients that drop headers); forged → ignored.
Whatever matched, every id of the mail is then recorded against the chosen ticket, so a
reply that arrived before its original leaves the original's id waiting for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from comptoir.channels.email.ids import find_reply_token, is_our_message_id
from comptoir.channels.email.models import OutgoingEmail, ThreadRef
from comptoir.channels.email.parsed import ParsedEmail
from comptoir.tickets.bulk import values_in, values_insert
from comptoir.tickets.models import Ticket

# Longest id we index (the column holds 998); longer ones are junk or attacks.
MAX_ID_LENGTH = 900
# References of long threads can list hundreds of ids; the first (the thread's root) and
# the most recent ones are what matter.
MAX_REFERENCES = 60


def normalize_id(value: str) -> str:
    """A Message-ID as indexed: no brackets or spaces, lower-cased; "" when unusable."""
    cleaned = "".join((value or "").split()).strip("<>")
    if not cleaned or len(cleaned) > MAX_ID_LENGTH:
        return ""
    return cleaned.lower()


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        n = normalize_id(v)
        if n:
            seen.setdefault(n, None)
    return list(seen)


def referenced_ids(parsed: ParsedEmail) -> list[str]:
    """The ids this mail points at, oldest first (References, then In-Reply-To), bounded.

    The order matters for the References of our answers (RFC 5322 §3.6.4: the parent's
    References followed by the parent's id), not for threading.
    """
    refs = list(parsed.references)
    if len(refs) > MAX_REFERENCES:
        refs = refs[:1] + refs[-(MAX_REFERENCES - 1) :]
    return _unique([*refs, *parsed.in_reply_to])


def thread_ids(parsed: ParsedEmail) -> list[str]:
    """Every id that ties this mail to a conversation: its own first, then those it cites."""
    return _unique([parsed.message_id, *referenced_ids(parsed)])


@dataclass(frozen=True)
class ThreadMatch:
    ticket: Ticket
    by: str  # "references" | "outgoing" | "token"


class ThreadIndex:
    """The threading index as one transaction sees it: the database plus what it recorded.

    Bulk ingestion processes a batch of mails in one transaction; looking ids up once for
    the whole batch and writing the new ones in one statement keeps that fast. One mail
    processed alone uses the same object for one mail. Call `flush` before committing.
    """

    def __init__(self) -> None:
        self._refs: dict[tuple[int, str], int] = {}
        self._looked_up: set[tuple[int, str]] = set()
        self._pending: list[tuple[int, str, int]] = []  # (tenant, message id, ticket)
        self.tickets: dict[int, Ticket] = {}
        # Batch ingestion: tickets decided but not written yet, under negative ids, and the
        # numbers they will get (a reply token may name one of them).
        self._numbers: dict[tuple[int, int], int] = {}
        self._by_number: dict[tuple[int, int], int | None] = {}  # prefetched, None: no such
        self._ids: dict[int, tuple[ParsedEmail, list[str]]] = {}

    def ids_of(self, parsed: ParsedEmail) -> list[str]:
        """`thread_ids(parsed)`, computed once per mail of the transaction (asked ~5 times)."""
        got = self._ids.get(id(parsed))
        if got is None or got[0] is not parsed:
            got = (parsed, thread_ids(parsed))
            self._ids[id(parsed)] = got
        return got[1]

    def provisional(self, *, tenant_id: int, ticket: Ticket) -> int:
        """Register an unsaved, numbered ticket under a negative id until `resolve`."""
        ticket_id = -(len(self._numbers) + 1)
        self._numbers[(tenant_id, ticket.number)] = ticket_id
        self.tickets[ticket_id] = ticket
        return ticket_id

    def prefetch_numbers(self, tenant_id: int, numbers: Iterable[int]) -> None:
        """Load the tickets that reply tokens of a batch name (one query for many mails)."""
        wanted = [n for n in set(numbers) if (tenant_id, n) not in self._by_number]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for ticket in Ticket.objects.filter(tenant_id=tenant_id, number__in=chunk):
                self.tickets.setdefault(ticket.pk, ticket)
                self._by_number[(tenant_id, ticket.number)] = ticket.pk
            for n in chunk:
                self._by_number.setdefault((tenant_id, n), None)

    def key_of(self, ticket: Ticket) -> int:
        """The id the index knows `ticket` by (negative while provisional)."""
        if ticket.pk is not None:
            return ticket.pk
        return next(k for k, t in self.tickets.items() if t is ticket)

    def resolve(self, saved: dict[int, int]) -> None:
        """The provisional tickets were written: their negative ids become their real ones."""
        self._refs = {k: saved.get(t, t) for k, t in self._refs.items()}
        self._pending = [(t, m, saved.get(k, k)) for t, m, k in self._pending]
        for old, new in saved.items():
            self.tickets[new] = self.tickets.pop(old)
        self._numbers = {}

    def prefetch(self, tenant_id: int, ids: Iterable[str]) -> None:
        """Load what the database knows about `ids` (one query for many mails)."""
        self._prefetch_normalized(tenant_id, _unique(ids))

    def _prefetch_normalized(self, tenant_id: int, ids: list[str]) -> None:
        wanted = [i for i in ids if (tenant_id, i) not in self._looked_up]
        if not wanted:
            return
        found: set[int] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for mid, ticket_id in values_in(
                ThreadRef,
                ["message_id", "ticket_id"],
                tenant_id=tenant_id,
                column="message_id",
                values=chunk,
            ):
                self._refs.setdefault((tenant_id, mid), ticket_id)
                found.add(ticket_id)
            self._looked_up.update((tenant_id, m) for m in chunk)
        # The tickets too, in one query; later writes of this transaction go through these
        # same instances, so they stay current.
        missing = [t for t in found if t not in self.tickets]
        if len(missing) > 1:
            self.tickets.update(Ticket.objects.in_bulk(missing))

    def ticket(self, ticket_id: int) -> Ticket:
        if ticket_id not in self.tickets:
            self.tickets[ticket_id] = Ticket.objects.get(pk=ticket_id)
        return self.tickets[ticket_id]

    def _oldest(self, ticket_ids: set[int]) -> Ticket:
        if len(ticket_ids) == 1:
            return self.ticket(next(iter(ticket_ids)))
        missing = [t for t in ticket_ids if t not in self.tickets and t > 0]
        self.tickets.update(Ticket.objects.in_bulk(missing))
        # Provisional tickets (negative ids) are newer than any written one, in id order.
        oldest = min(
            (t for t in ticket_ids if t in self.tickets),
            key=lambda t: (self.tickets[t].created_at, t < 0, abs(t)),
        )
        return self.tickets[oldest]

    def find(self, *, tenant_id: int, parsed: ParsedEmail) -> ThreadMatch | None:
        """The ticket this mail continues, or None for a new conversation."""
        ids = self.ids_of(parsed)
        self._prefetch_normalized(tenant_id, ids)
        found = {self._refs[(tenant_id, i)] for i in ids if (tenant_id, i) in self._refs}
        if found:
            return ThreadMatch(self._oldest(found), "references")
        # Our outgoing ids are recorded in ThreadRef when queued; this catches mail queued
        # by code that did not record them. Both spellings: ids are compared lower-cased
        # but stored as generated.
        cited = [
            v
            for v in {*ids, *(r.strip("<> ") for r in (*parsed.in_reply_to, *parsed.references))}
            if v and is_our_message_id(v)
        ]
        if cited:
            outgoing = set(
                OutgoingEmail.objects.filter(
                    tenant_id=tenant_id, message_id__in=cited, ticket__isnull=False
                ).values_list("ticket_id", flat=True)
            )
            if outgoing:
                return ThreadMatch(self._oldest({t for t in outgoing if t}), "outgoing")
        number = find_reply_token(parsed.subject, tenant_id)
        if number is not None and (tenant_id, number) in self._numbers:
            return ThreadMatch(self.tickets[self._numbers[(tenant_id, number)]], "token")
        if number is not None and (tenant_id, number) in self._by_number:
            known = self._by_number[(tenant_id, number)]
            return None if known is None else ThreadMatch(self.tickets[known], "token")
        if number is not None:
            ticket = Ticket.objects.filter(tenant_id=tenant_id, number=number).first()
            if ticket is not None:
                self.tickets.setdefault(ticket.pk, ticket)
                return ThreadMatch(self.tickets[ticket.pk], "token")
        return None

    def record(
        self, *, tenant_id: int, ticket_id: int, ids: Iterable[str], normalized: bool = False
    ) -> None:
        """Index `ids` for the ticket; ids already indexed keep their first ticket.

        `normalized`: `ids` come from `ids_of`/`thread_ids` (no need to normalize again).
        """
        for mid in ids if normalized else _unique(ids):
            key = (tenant_id, mid)
            if key in self._refs:
                continue
            self._refs[key] = ticket_id
            self._pending.append((tenant_id, mid, ticket_id))

    def flush(self) -> None:
        if self._pending:
            # Rows as tuples, one statement: bulk_create's per-instance work cost more than
            # the INSERT itself in the ingest's profile.
            values_insert(
                ThreadRef,
                ["tenant_id", "message_id", "ticket_id"],
                self._pending,
                ignore_conflicts=True,
            )
            self._pending = []


def thread_find(*, tenant_id: int, parsed: ParsedEmail) -> ThreadMatch | None:
    """The ticket this mail continues, or None for a new conversation."""
    return ThreadIndex().find(tenant_id=tenant_id, parsed=parsed)


def thread_record(*, tenant_id: int, ticket_id: int, ids: Iterable[str]) -> None:
    """Index `ids` as belonging to the ticket; ids already indexed keep their first ticket.

    The outbound side calls this with the Message-ID of every mail it queues for a ticket.
    """
    index = ThreadIndex()
    index.record(tenant_id=tenant_id, ticket_id=ticket_id, ids=ids)
    index.flush()
