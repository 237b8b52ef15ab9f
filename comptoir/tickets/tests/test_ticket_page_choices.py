"""The action bar's choices are cached per workspace: every change shows on the next page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comptoir.accounts.models import Membership, Role
from comptoir.accounts.rights import Right, RoleCode
from comptoir.accounts.services import agent_create, membership_set
from comptoir.testing.cast import PASSWORD
from comptoir.tickets.models import ContactReason
from comptoir.tickets.services import ticket_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def boutique(client, cast):
    client.force_login(cast.boutique_agent)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def ticket(cast):
    return ticket_create(queue=cast.boutique_queue, channel="email", subject="Colis abîmé")


def _page(client, ticket) -> str:
    response = client.get(reverse("ticket_detail", args=[ticket.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _assign_panel(body: str) -> str:
    start = body.index('id="action-assign"')
    return body[start : body.index("</details>", start)]


def test_a_second_page_of_the_workspace_reads_no_member_nor_reason(boutique, cast, ticket):
    other = ticket_create(queue=cast.boutique_queue, channel="email", subject="Autre")
    _page(boutique, ticket)
    with CaptureQueriesContext(connection) as queries:
        body = _page(boutique, other)
    sql = [q["sql"] for q in queries.captured_queries]
    assert not any('FROM "tickets_contactreason"' in q for q in sql)
    # Only the agent's own memberships (their rights), not the workspace's members.
    members_of_workspace = f'"accounts_membership"."workspace_id" = {cast.boutique.pk}'
    assert not any(members_of_workspace in q for q in sql)
    assert "Eve X" in body  # the expert is still offered


def test_a_new_member_renamed_then_deactivated_shows_on_the_next_page(boutique, cast, ticket):
    assert "Zoé Nouvelle" not in _page(boutique, ticket)
    newcomer = agent_create(
        tenant=cast.tenant,
        email="zoe@boutique.test",
        password=PASSWORD,
        first_name="Zoé",
        last_name="Nouvelle",
    )
    membership_set(user=newcomer, workspace=cast.boutique, role=RoleCode.AGENT)
    assert "Zoé Nouvelle" in _assign_panel(_page(boutique, ticket))
    newcomer.first_name = "Zoëlle"
    newcomer.save()
    panel = _assign_panel(_page(boutique, ticket))
    assert "Zoëlle Nouvelle" in panel and "Zoé Nouvelle" not in panel
    newcomer.is_active = False
    newcomer.save()
    assert "Zoëlle Nouvelle" not in _page(boutique, ticket)


def test_a_member_whose_role_loses_the_right_is_no_longer_offered(boutique, cast, ticket):
    assert "Eve X" in _page(boutique, ticket)
    role = Role.objects.get(tenant=cast.tenant, code=RoleCode.EXPERT)
    role.rights = [r for r in role.rights if r != Right.HANDLE_TICKETS]
    role.save()
    assert "Eve X" not in _page(boutique, ticket)


def test_a_removed_membership_is_no_longer_offered(boutique, cast, ticket):
    assert "Eve X" in _page(boutique, ticket)
    Membership.objects.filter(user=cast.expert, workspace=cast.boutique).delete()
    assert "Eve X" not in _page(boutique, ticket)


def test_reasons_added_renamed_and_retired_show_on_the_next_page(boutique, cast, ticket):
    _page(boutique, ticket)
    reason = ContactReason.objects.create(
        tenant=cast.tenant, workspace=cast.boutique, name="Retour produit"
    )
    assert "Retour produit" in _page(boutique, ticket)
    reason.name = "Retour d'un produit"
    reason.save()
    body = _page(boutique, ticket)
    assert "Retour d&#x27;un produit" in body and "Retour produit" not in body
    reason.is_active = False
    reason.save()
    assert "Retour d&#x27;un produit" not in _page(boutique, ticket)
    # A retired reason the ticket still has stays shown, selected.
    ticket.contact_reason = reason
    ticket.save()
    assert f'<option value="{reason.pk}" selected>' in _page(boutique, ticket)
