"""Fixtures of the email channel tests: mailboxes of the cast and an acknowledgment."""

from __future__ import annotations

import pytest

from comptoir.channels.email.models import Acknowledgment, Mailbox
from comptoir.channels.email.tests.inbound_helpers import (
    ACME_ADDRESS,
    GLOBEX_ADDRESS,
    mailbox_for,
)


@pytest.fixture
def acme_mailbox(cast) -> Mailbox:
    return mailbox_for(cast.boutique_queue, ACME_ADDRESS)


@pytest.fixture
def globex_mailbox(cast) -> Mailbox:
    return mailbox_for(cast.other_queue, GLOBEX_ADDRESS)


@pytest.fixture
def acknowledgment(cast):
    """An acknowledgment of receipt switched on for the Boutique workspace."""
    return Acknowledgment.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        subject="Nous avons bien reçu votre demande",
        body="Bonjour {{contact.name}}, demande n°{{ticket.number}}.",
    )
