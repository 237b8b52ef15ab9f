"""Services behind the ticket page's actions: transfer, take back, reopen, contact linking."""

from __future__ import annotations

import pytest
from django.utils import translation

from comptoir.accounts.models import Role
from comptoir.accounts.rights import Right, RoleCode
from comptoir.contacts.models import ContactIdentity
from comptoir.contacts.services import contact_create
from comptoir.core.errors import Conflict, DomainError, NotAllowed
from comptoir.tickets.models import Event, EventKind, InboxCount, Status
from comptoir.tickets.selectors_actions import (
    contact_reason_pickable,
    ticket_assignees,
    ticket_get_for_handling,
    transfer_choices,
)
from comptoir.tickets.services import (
    ticket_assign,
    ticket_change_status,
    ticket_close,
    ticket_create,
    ticket_reopen,
    ticket_take_back,
    ticket_transfer,
)
from comptoir.tickets.services_contact import ticket_contact_from_sender, ticket_contact_link

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    # Messages are checked in English; the French catalog translates them for the UI.
    with translation.override("en"):
        yield


@pytest.fixture
def ticket(cast):
    return ticket_create(
        queue=cast.boutique_queue,
        channel="email",
        subject="Colis abîmé",
        requester_email="bob@example.com",
        requester_name="Bob Leponge",
    )


def _counts(ticket):
    return {
        (c.status, c.assignee_key): c.count
        for c in InboxCount.objects.filter(workspace_id=ticket.workspace_id)
        if c.count
    }


# Transfer ---------------------------------------------------------------------------------


def test_transfer_to_an_expert_waits_for_them_assigns_them_and_records_one_event(cast, ticket):
    ticket_assign(ticket=ticket, assignee=cast.boutique_agent, author=cast.boutique_agent)

    ticket_transfer(ticket=ticket, to=cast.expert, target="expert", author=cast.boutique_agent)

    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_EXPERT
    assert ticket.assignee == cast.expert
    event = Event.objects.filter(ticket=ticket, kind=EventKind.TRANSFER).get()
    assert event.author == cast.boutique_agent
    assert event.data["target"] == "expert"
    assert event.data["old"] == "Bruno Martin"
    assert event.data["new"] == "Eve X"
    assert event.data["old_status"] == Status.NEW
    assert event.data["new_status"] == Status.AWAITING_EXPERT
    # The inbox counts follow the ticket to its new status and assignee.
    assert _counts(ticket) == {(Status.AWAITING_EXPERT, cast.expert.pk): 1}


def test_take_back_returns_it_to_process_assigned_to_whoever_takes_it(cast, ticket, external):
    ticket_transfer(ticket=ticket, to=external, target="external", author=cast.boutique_agent)
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_EXTERNAL

    ticket_take_back(ticket=ticket, author=cast.boutique_agent)

    ticket.refresh_from_db()
    assert ticket.status == Status.TO_PROCESS
    assert ticket.assignee == cast.boutique_agent
    last = Event.objects.filter(ticket=ticket, kind=EventKind.TRANSFER).latest("id")
    assert last.data["action"] == "take_back"
    assert last.data["old"] == "Xavier Partner"
    assert last.data["new"] == "Bruno Martin"
    assert _counts(ticket) == {(Status.TO_PROCESS, cast.boutique_agent.pk): 1}


def test_take_back_refuses_a_ticket_that_is_not_transferred(cast, ticket):
    with pytest.raises(DomainError, match="not transferred"):
        ticket_take_back(ticket=ticket, author=cast.boutique_agent)


def test_transfer_to_an_external_agent_needs_that_role(cast, ticket):
    with pytest.raises(DomainError, match="not an external agent"):
        ticket_transfer(ticket=ticket, to=cast.expert, target="external", author=cast.admin)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert not Event.objects.filter(ticket=ticket, kind=EventKind.TRANSFER).exists()


def test_transfer_refuses_someone_of_another_workspace_or_a_closed_ticket(cast, ticket):
    with pytest.raises(DomainError, match="does not work in this workspace"):
        ticket_transfer(ticket=ticket, to=cast.assurance_agent, target="expert", author=cast.admin)
    ticket_close(ticket=ticket, author=cast.admin)
    with pytest.raises(DomainError, match="reopen it"):
        ticket_transfer(ticket=ticket, to=cast.expert, target="expert", author=cast.admin)
    with pytest.raises(DomainError):
        ticket_transfer(ticket=ticket, to=cast.expert, target="nowhere", author=cast.admin)


def test_transfer_and_take_back_need_the_right_to_handle_requests_in_the_workspace(cast, ticket):
    # An agent of another workspace of the same tenant.
    with pytest.raises(NotAllowed):
        ticket_transfer(ticket=ticket, to=cast.expert, target="expert", author=cast.assurance_agent)
    # A member whose role lost the right.
    role = Role.objects.get(tenant=cast.tenant, code=RoleCode.AGENT)
    role.rights = [Right.USE_REQUEST_MESSAGES]
    role.save()
    agent = type(cast.boutique_agent).objects.get(pk=cast.boutique_agent.pk)
    with pytest.raises(NotAllowed, match="may not handle"):
        ticket_transfer(ticket=ticket, to=cast.expert, target="expert", author=agent)
    with pytest.raises(NotAllowed):
        ticket_get_for_handling(user=agent, ticket_id=ticket.pk)
    # Nor may they be picked.
    assert agent.pk not in [a.user.pk for a in ticket_assignees(ticket=ticket)]
    with pytest.raises(DomainError, match="may not handle"):
        ticket_transfer(ticket=ticket, to=agent, target="expert", author=cast.admin)


def test_reopen_only_a_closed_ticket_back_to_process(cast, ticket):
    with pytest.raises(DomainError, match="not closed"):
        ticket_reopen(ticket=ticket, author=cast.boutique_agent)
    ticket_close(ticket=ticket, author=cast.boutique_agent)
    ticket_reopen(ticket=ticket, author=cast.boutique_agent)
    ticket.refresh_from_db()
    assert ticket.status == Status.TO_PROCESS
    with pytest.raises(NotAllowed):
        ticket_reopen(ticket=ticket, author=cast.other_agent)


def test_assignees_list_members_with_their_roles_and_transfer_puts_experts_apart(
    cast, ticket, external
):
    assignees = ticket_assignees(ticket=ticket)
    roles = {a.user.email: a.role for a in assignees}
    assert roles == {
        "admin@acme.test": RoleCode.ADMINISTRATOR,
        "agent@boutique.test": RoleCode.AGENT,
        "expert@acme.test": RoleCode.EXPERT,
        "xavier@partner.test": RoleCode.EXTERNAL_AGENT,
    }
    experts, others, externals = transfer_choices(assignees, exclude=cast.boutique_agent)
    assert [a.user for a in experts] == [cast.expert]
    assert [a.user for a in others] == [cast.admin]
    assert [a.user for a in externals] == [external]


def test_only_active_reasons_of_the_workspace_may_be_picked(cast, ticket):
    from comptoir.tickets.models import ContactReason

    active = ContactReason.objects.create(tenant=cast.tenant, workspace=cast.boutique, name="A")
    retired = ContactReason.objects.create(
        tenant=cast.tenant, workspace=cast.boutique, name="R", is_active=False
    )
    foreign = ContactReason.objects.create(tenant=cast.tenant, workspace=cast.assurance, name="F")
    assert contact_reason_pickable(ticket=ticket, reason_id=active.pk) == active
    assert contact_reason_pickable(ticket=ticket, reason_id=retired.pk) is None
    assert contact_reason_pickable(ticket=ticket, reason_id=foreign.pk) is None


# Contact ----------------------------------------------------------------------------------


def test_linking_a_contact_remembers_the_sender_address_for_the_next_mail(cast, ticket):
    link = ticket_contact_link(ticket=ticket, contact=cast.alice, author=cast.boutique_agent)

    assert link.remembered == "bob@example.com"
    assert link.address_owner is None
    assert "bob@example.com" in link.notice()
    assert ContactIdentity.objects.get(value="bob@example.com").contact == cast.alice
    ticket.refresh_from_db()
    assert ticket.contact == cast.alice
    event = Event.objects.get(ticket=ticket, kind=EventKind.CONTACT)
    assert event.data["new"] == "Alice Dupont"
    assert event.data["remembered"] == "bob@example.com"


def test_an_address_owned_by_another_contact_stays_with_them_and_the_agent_is_told(cast, ticket):
    bob = contact_create(tenant=cast.tenant, first_name="Bob", emails=["bob@example.com"])

    link = ticket_contact_link(ticket=ticket, contact=cast.alice, author=cast.boutique_agent)

    ticket.refresh_from_db()
    assert ticket.contact == cast.alice
    assert link.remembered == ""
    assert link.address_owner == bob
    assert "already belongs to the contact Bob" in link.notice()
    assert ContactIdentity.objects.get(value="bob@example.com").contact == bob
    assert Event.objects.get(ticket=ticket, kind=EventKind.CONTACT).data["address_owner"] == "Bob"


def test_linking_a_contact_of_another_tenant_is_refused(cast, ticket):
    with pytest.raises(DomainError):
        ticket_contact_link(ticket=ticket, contact=cast.other_contact, author=cast.admin)
    ticket.refresh_from_db()
    assert ticket.contact is None


def test_unlinking_keeps_the_remembered_address_on_the_contact(cast, ticket):
    ticket_contact_link(ticket=ticket, contact=cast.alice, author=cast.boutique_agent)
    ticket_contact_link(ticket=ticket, contact=None, author=cast.boutique_agent)
    ticket.refresh_from_db()
    assert ticket.contact is None
    assert ContactIdentity.objects.filter(contact=cast.alice, value="bob@example.com").exists()


def test_a_contact_is_created_from_the_sender_and_linked(cast, ticket):
    link = ticket_contact_from_sender(ticket=ticket, author=cast.boutique_agent)

    contact = link.contact
    assert contact is not None and link.created
    assert (contact.first_name, contact.last_name) == ("Bob", "Leponge")
    assert contact.tenant == cast.tenant
    assert [i.value for i in contact.identities.all()] == ["bob@example.com"]
    ticket.refresh_from_db()
    assert ticket.contact == contact
    assert Event.objects.get(ticket=ticket, kind=EventKind.CONTACT).data["created"] is True


def test_creating_from_a_sender_whose_address_is_taken_is_a_conflict(cast, ticket):
    contact_create(tenant=cast.tenant, first_name="Bob", emails=["BOB@example.com"])
    with pytest.raises(Conflict, match="link that contact instead"):
        ticket_contact_from_sender(ticket=ticket, author=cast.boutique_agent)
    ticket.refresh_from_db()
    assert ticket.contact is None


def test_creating_from_a_sender_without_details_or_rights_is_refused(cast):
    bare = ticket_create(queue=cast.boutique_queue, channel="phone", subject="Appel")
    with pytest.raises(DomainError, match="no sender details"):
        ticket_contact_from_sender(ticket=bare, author=cast.boutique_agent)
    with pytest.raises(NotAllowed):
        ticket_contact_from_sender(ticket=bare, author=cast.assurance_agent)


def test_a_phone_ticket_links_a_contact_without_remembering_anything(cast):
    call = ticket_create(queue=cast.boutique_queue, channel="phone", subject="Appel")
    ticket_change_status(ticket=call, status=Status.TO_PROCESS, author=None)
    link = ticket_contact_link(ticket=call, contact=cast.alice, author=cast.boutique_agent)
    assert link.remembered == "" and link.notice() == ""
