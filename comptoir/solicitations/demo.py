"""Demo solicitations: a few open requests waiting on a carrier or a supplier, some answered.

Written as history (messages and links), not sent: the demo's past never goes through the
outbox, as the rest of the demo's mail does not.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime

from comptoir.accounts.models import User
from comptoir.solicitations.models import Solicitation, SolicitationMessage, SolicitationStatus
from comptoir.tickets.models import MessageKind, Status, Ticket
from comptoir.tickets.services import message_add

# (address, name, question, answer) per workspace slug.
PEOPLE: dict[str, list[tuple[str, str, str, str]]] = {
    "boutique": [
        (
            "suivi@transporteur.example",
            "Service suivi — Transporteur",
            "Bonjour, pouvez-vous nous dire où se trouve ce colis ? Le client ne l'a pas reçu.",
            "Bonjour, le colis est bloqué au dépôt de Lyon, il repart demain matin.",
        ),
        (
            "commandes@fournisseur.example",
            "Fournisseur — commandes",
            "Bonjour, cet article est-il encore disponible pour un remplacement ?",
            "Bonjour, oui, nous pouvons l'expédier sous 48 h.",
        ),
    ],
    "assurance": [
        (
            "expertise@cabinet-expert.example",
            "Cabinet d'expertise",
            "Bonjour, pouvez-vous nous transmettre votre rapport sur ce sinistre ?",
            "Bonjour, le rapport sera disponible vendredi ; nous vous l'enverrons.",
        ),
    ],
}


def demo_solicitations(
    *, tickets: Sequence[Ticket], agents: Sequence[User], rng: random.Random, now: datetime
) -> int:
    """Add solicitation threads to some open demo tickets; returns how many."""
    open_tickets = [t for t in tickets if t.status in (Status.TO_PROCESS, Status.AWAITING_EXTERNAL)]
    count = 0
    for ticket in open_tickets[: max(3, len(open_tickets) // 8)]:
        people = PEOPLE.get(ticket.workspace.slug)
        author = next((a for a in agents if a.memberships.filter(
            workspace_id=ticket.workspace_id).exists()), None)  # fmt: skip
        if not people or author is None:
            continue
        address, name, question, answer = rng.choice(people)
        # A third of the way from the request's arrival to now, answered before now.
        sent_at = ticket.created_at + (now - ticket.created_at) / 3
        number = Solicitation.objects.filter(ticket=ticket).count() + 1
        solicitation = Solicitation.objects.create(
            tenant_id=ticket.tenant_id,
            workspace_id=ticket.workspace_id,
            ticket=ticket,
            number=number,
            recipient_email=address,
            subject=ticket.subject,
            created_by=author,
            created_at=sent_at,
            last_message_at=sent_at,
        )
        out = message_add(
            ticket=ticket,
            kind=MessageKind.SOLICITATION_OUT,
            body_text=question,
            author=author,
            to=[address],
            subject=ticket.subject,
            message_id=f"demo-s{ticket.number}-{number}@demo.comptoir.test",
            now=sent_at,
        )
        SolicitationMessage.objects.create(solicitation=solicitation, message=out)
        if rng.random() < 0.6:
            answered_at = sent_at + (now - sent_at) * rng.uniform(0.2, 0.8)
            back = message_add(
                ticket=ticket,
                kind=MessageKind.SOLICITATION_IN,
                body_text=answer,
                sender_email=address,
                sender_name=name,
                subject=f"Re: {ticket.subject}",
                message_id=f"demo-s{ticket.number}-{number}-re@demo.comptoir.test",
                now=answered_at,
            )
            SolicitationMessage.objects.create(solicitation=solicitation, message=back)
            solicitation.status = SolicitationStatus.ANSWERED
            solicitation.answered_at = solicitation.last_message_at = answered_at
            solicitation.save(update_fields=["status", "answered_at", "last_message_at"])
        count += 1
    return count
