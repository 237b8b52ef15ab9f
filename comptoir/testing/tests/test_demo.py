"""The demo loader: what it promises, once, through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from comptoir.accounts.models import Queue, Team, Tenant, User, Workspace
from comptoir.accounts.rights import RoleCode, visible_workspace_ids
from comptoir.channels.email.models import Mailbox
from comptoir.contacts.models import Contact, CustomField, CustomFieldValue
from comptoir.testing.demo import DEMO_CONTACTS, DEMO_TICKETS, demo_load
from comptoir.tickets.models import (
    Channel,
    ContactReason,
    Event,
    EventKind,
    Message,
    MessageKind,
    Status,
    Ticket,
)
from comptoir.tickets.selectors import InboxFilters, inbox_status_counts, inbox_total

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture(scope="module")
def _demo_loaded(django_db_setup, django_db_blocker):
    # Loading takes seconds: do it once for the module, and empty the database afterwards.
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=fast):
        summary = demo_load(now=NOW, seed=0)
    yield summary
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def demo(_demo_loaded, db):
    return _demo_loaded


def test_loading_creates_the_promised_organisation(demo):
    tenant = Tenant.objects.get(slug="demo")
    assert tenant.name == "Démo"
    assert sorted(Workspace.objects.filter(tenant=tenant).values_list("name", flat=True)) == [
        "Assurance",
        "Boutique en ligne",
    ]
    assert Queue.objects.filter(tenant=tenant).count() >= 4
    assert Team.objects.filter(tenant=tenant).count() >= 2
    roles = set(
        User.objects.filter(tenant=tenant).values_list("memberships__role__code", flat=True)
    )
    assert roles == set(RoleCode.values)
    for ws in Workspace.objects.filter(tenant=tenant):
        assert ContactReason.objects.filter(workspace=ws).exists()
        types = set(CustomField.objects.filter(workspace=ws).values_list("field_type", flat=True))
        assert types == {"text", "number", "date", "choice"}
    assert demo.created and demo.tickets == DEMO_TICKETS


def test_loading_creates_contacts_and_tickets_on_every_channel_and_status(demo):
    assert Contact.objects.count() == DEMO_CONTACTS
    assert CustomFieldValue.objects.exists()
    assert Ticket.objects.count() == DEMO_TICKETS
    assert set(Ticket.objects.values_list("channel", flat=True)) == set(Channel.values)
    assert set(Ticket.objects.values_list("status", flat=True)) == set(Status.values)
    kinds = set(Message.objects.values_list("kind", flat=True))
    assert {MessageKind.INBOUND, MessageKind.OUTBOUND, MessageKind.NOTE} <= kinds
    events = set(Event.objects.values_list("kind", flat=True))
    assert {EventKind.CREATED, EventKind.ASSIGNMENT, EventKind.STATUS, EventKind.QUALIFICATION} <= (
        events
    )
    unknown = Ticket.objects.filter(contact=None)
    assert unknown.exists()
    assert all(t.requester_email and t.requester_name for t in unknown)


def test_timelines_are_coherent_and_span_the_last_sixty_days(demo):
    first = Ticket.objects.order_by("created_at").first()
    assert first is not None and first.created_at >= NOW - timedelta(days=61)
    assert first.created_at <= NOW - timedelta(days=30)
    for ticket in Ticket.objects.all():
        times = [m.created_at for m in ticket.messages.all()]
        times += [e.created_at for e in ticket.events.all()]
        assert min(times) >= ticket.created_at
        assert max(times) <= NOW
        assert ticket.status_changed_at >= ticket.created_at
        assert ticket.message_count == len(ticket.messages.all())


def test_demo_passwords_work_and_the_admin_may_open_the_admin_site(demo):
    for email in ("admin@demo.test", "agent@boutique.demo", "agent@assurance.demo"):
        assert authenticate(username=email, password="demo") is not None, email
    assert User.objects.get(email="admin@demo.test").is_staff


def test_a_second_load_does_nothing_and_says_so(demo):
    again = demo_load(now=NOW, seed=0)
    assert not again.created
    assert "already" in str(again)
    assert Ticket.objects.count() == DEMO_TICKETS
    assert Tenant.objects.filter(slug="demo").count() == 1


def test_each_demo_agent_sees_only_their_workspace(demo):
    boutique = Workspace.objects.get(slug="boutique")
    assurance = Workspace.objects.get(slug="assurance")
    admin = User.objects.get(email="admin@demo.test")
    assert visible_workspace_ids(User.objects.get(email="agent@boutique.demo")) == [boutique.pk]
    assert visible_workspace_ids(User.objects.get(email="agent@assurance.demo")) == [assurance.pk]
    assert sorted(visible_workspace_ids(admin)) == sorted([boutique.pk, assurance.pk])


def test_inbox_counts_equal_the_real_ticket_counts(demo):
    admin = User.objects.get(email="admin@demo.test")
    assert inbox_total(user=admin, filters=InboxFilters()) == Ticket.objects.count()
    assert inbox_total(user=admin, filters=InboxFilters(status="open")) == (
        Ticket.objects.exclude(status=Status.CLOSED).count()
    )
    by_status = inbox_status_counts(user=admin, filters=InboxFilters(channel=Channel.EMAIL))
    for status in Status.values:
        assert (
            by_status[status] == Ticket.objects.filter(channel=Channel.EMAIL, status=status).count()
        )
    agent = User.objects.get(email="agent@boutique.demo")
    assert inbox_total(user=agent, filters=InboxFilters()) == (
        Ticket.objects.filter(workspace__slug="boutique").count()
    )


def test_the_same_seed_gives_the_same_data(demo):
    def tickets(slug: str) -> list[tuple[str, str, str]]:
        return list(
            Ticket.objects.filter(tenant__slug=slug)
            .order_by("number")
            .values_list("subject", "channel", "status")
        )

    first = tickets("demo")
    # Move the first load aside so that a second one runs in full beside it.
    Tenant.objects.filter(slug="demo").update(slug="demo-first")
    for user in User.objects.filter(tenant__slug="demo-first"):
        User.objects.filter(pk=user.pk).update(email=f"first-{user.email}")
    Contact.objects.filter(tenant__slug="demo-first").delete()
    Mailbox.objects.filter(tenant__slug="demo-first").delete()
    assert demo_load(now=NOW, seed=0).created
    assert tickets("demo") == first


def test_the_demo_receives_mail_on_its_mailboxes(demo):
    from comptoir.channels.email.models import Acknowledgment
    from comptoir.channels.email.store import mailbox_for_address

    boutique = mailbox_for_address("support@boutique.demo")
    assert boutique is not None and boutique.workspace.name == "Boutique en ligne"
    assert mailbox_for_address("sinistres@assurance.demo") is not None
    assert Acknowledgment.objects.filter(workspace=boutique.workspace, is_enabled=True).exists()


def test_some_open_requests_wait_on_solicitations_some_answered(demo):
    from comptoir.solicitations.models import Solicitation, SolicitationStatus

    threads = list(Solicitation.objects.select_related("ticket"))
    assert len(threads) >= 3
    assert {s.status for s in threads} == {SolicitationStatus.WAITING, SolicitationStatus.ANSWERED}
    for s in threads:
        assert s.ticket.status != Status.CLOSED
        kinds = list(s.links.values_list("message__kind", flat=True))
        assert kinds[0] == MessageKind.SOLICITATION_OUT
        assert (s.status == SolicitationStatus.ANSWERED) == (MessageKind.SOLICITATION_IN in kinds)
