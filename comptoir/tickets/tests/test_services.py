from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from comptoir.core.errors import DomainError
from comptoir.tickets.counts import counts_rebuild
from comptoir.tickets.models import (
    ContactReason,
    Event,
    EventKind,
    InboxCount,
    MessageKind,
    MessageRead,
    Priority,
    Status,
    Ticket,
)
from comptoir.tickets.services import (
    NewAttachment,
    message_add,
    ticket_assign,
    ticket_change_status,
    ticket_close,
    ticket_create,
    ticket_edit_subject,
    ticket_link_contact,
    ticket_mark_read,
    ticket_mark_unread,
    ticket_qualify,
)


def _counts() -> dict[tuple, int]:
    return {
        (c.workspace_id, c.queue_id, c.channel, c.status, c.assignee_key): c.count
        for c in InboxCount.objects.all()
        if c.count
    }


def test_ticket_numbers_follow_one_sequence_per_tenant(cast):
    a = ticket_create(queue=cast.boutique_queue, channel="email", subject="A")
    b = ticket_create(queue=cast.assurance_queue, channel="phone", subject="B")
    other = ticket_create(queue=cast.other_queue, channel="email", subject="C")
    assert (a.number, b.number) == (1, 2)
    assert other.number == 1
    assert b.workspace_id == cast.assurance.pk


def test_new_ticket_starts_new_low_priority_with_a_created_event(cast):
    t = ticket_create(queue=cast.boutique_queue, channel="webform", subject="  Hello ")
    assert t.status == Status.NEW
    assert t.priority == Priority.LOW
    assert t.subject == "Hello"
    assert list(t.events.values_list("kind", flat=True)) == [EventKind.CREATED]


def test_ticket_create_refuses_unknown_channel_and_foreign_contact(cast):
    with pytest.raises(DomainError):
        ticket_create(queue=cast.boutique_queue, channel="pigeon", subject="x")
    with pytest.raises(DomainError):
        ticket_create(
            queue=cast.boutique_queue, channel="email", subject="x", contact=cast.other_contact
        )


def test_status_change_records_event_and_entry_time(cast):
    t0 = timezone.now() - timedelta(hours=5)
    t = ticket_create(queue=cast.boutique_queue, channel="email", subject="x", now=t0)
    later = t0 + timedelta(hours=2)
    ticket_change_status(ticket=t, status=Status.TO_PROCESS, author=cast.admin, now=later)
    t.refresh_from_db()
    assert t.status == Status.TO_PROCESS
    assert t.status_changed_at == later
    event = t.events.get(kind=EventKind.STATUS)
    assert event.data == {"old": "new", "new": "to_process"}
    assert event.author == cast.admin
    # Setting the same status again is not a change: no new event, entry time kept.
    ticket_change_status(ticket=t, status=Status.TO_PROCESS, author=cast.admin)
    assert t.events.filter(kind=EventKind.STATUS).count() == 1
    t.refresh_from_db()
    assert t.status_changed_at == later


def test_assign_only_to_agents_of_the_workspace(cast):
    t = ticket_create(queue=cast.boutique_queue, channel="email", subject="x")
    ticket_assign(ticket=t, assignee=cast.boutique_agent, author=cast.admin)
    assert Ticket.objects.get(pk=t.pk).assignee == cast.boutique_agent
    with pytest.raises(DomainError):
        ticket_assign(ticket=t, assignee=cast.assurance_agent, author=cast.admin)
    ticket_assign(ticket=t, assignee=None, author=cast.admin)
    kinds = list(t.events.filter(kind=EventKind.ASSIGNMENT).values_list("data", flat=True))
    assert kinds[0]["new_id"] == cast.boutique_agent.pk
    assert kinds[1]["new"] == ""


def test_qualify_sets_priority_and_reason_of_the_same_workspace(cast):
    reason = ContactReason.objects.create(
        tenant=cast.tenant, workspace=cast.boutique, name="Livraison"
    )
    foreign = ContactReason.objects.create(
        tenant=cast.tenant, workspace=cast.assurance, name="Sinistre"
    )
    t = ticket_create(queue=cast.boutique_queue, channel="email", subject="x")
    ticket_qualify(ticket=t, author=cast.admin, priority=Priority.HIGH, contact_reason=reason)
    t.refresh_from_db()
    assert (t.priority, t.contact_reason_id) == (Priority.HIGH, reason.pk)
    event = t.events.get(kind=EventKind.QUALIFICATION)
    assert event.data["changes"]["priority"] == {"old": "low", "new": "high"}
    assert event.data["changes"]["contact_reason"]["new"] == "Livraison"
    with pytest.raises(DomainError):
        ticket_qualify(ticket=t, author=cast.admin, contact_reason=foreign)
    with pytest.raises(DomainError):
        ticket_qualify(ticket=t, author=cast.admin, priority="urgent")


def test_subject_edit_keeps_old_subject_in_history_and_refuses_empty(cast):
    t = ticket_create(queue=cast.boutique_queue, channel="email", subject="Old")
    ticket_edit_subject(ticket=t, subject="  New\r\nsubject ", author=cast.boutique_agent)
    t.refresh_from_db()
    assert t.subject == "New subject"
    assert t.events.get(kind=EventKind.SUBJECT).data == {"old": "Old", "new": "New subject"}
    with pytest.raises(DomainError):
        ticket_edit_subject(ticket=t, subject="   ", author=cast.boutique_agent)


def test_contact_link_refuses_other_tenant_and_records_event(cast):
    t = ticket_create(queue=cast.boutique_queue, channel="email", subject="x")
    ticket_link_contact(ticket=t, contact=cast.alice, author=cast.admin)
    assert Ticket.objects.get(pk=t.pk).contact == cast.alice
    assert t.events.get(kind=EventKind.CONTACT).data["new_id"] == cast.alice.pk
    with pytest.raises(DomainError):
        ticket_link_contact(ticket=t, contact=cast.other_contact, author=cast.admin)


def test_inbound_message_marks_unread_until_an_agent_reads_it(cast):
    t = ticket_create(queue=cast.boutique_queue, channel="email", subject="x")
    m = message_add(ticket=t, kind=MessageKind.INBOUND, body_text="Bonjour")
    assert t.has_unread and t.message_count == 1
    assert ticket_mark_read(ticket=t, agent=cast.boutique_agent) == 1
    assert not Ticket.objects.get(pk=t.pk).has_unread
    assert MessageRead.objects.filter(message=m, agent=cast.boutique_agent).exists()
    # Reading twice records nothing more.
    assert ticket_mark_read(ticket=t, agent=cast.boutique_agent) == 0
    ticket_mark_unread(ticket=t, agent=cast.boutique_agent)
    assert Ticket.objects.get(pk=t.pk).has_unread


def test_notes_and_outbound_messages_do_not_mark_unread(cast):
    t = ticket_create(queue=cast.boutique_queue, channel="email", subject="x")
    message_add(ticket=t, kind=MessageKind.NOTE, body_text="note", author=cast.admin)
    message_add(ticket=t, kind=MessageKind.OUTBOUND, body_text="reply", author=cast.admin)
    t.refresh_from_db()
    assert not t.has_unread
    assert t.message_count == 2


def test_attachments_are_stored_under_a_safe_name(cast):
    t = ticket_create(queue=cast.boutique_queue, channel="email", subject="x")
    m = message_add(
        ticket=t,
        kind=MessageKind.INBOUND,
        body_text="see attached",
        attachments=[NewAttachment("..\\..\\<b>passwd<b>.txt", b"data", "text/plain")],
    )
    att = m.attachments.get()
    assert att.filename == "b_passwd_b.txt"
    stored = att.file.name or ""
    assert ".." not in stored
    assert stored.startswith(f"attachments/{cast.tenant.pk}/")
    assert att.file.read() == b"data"
    assert att.size == 4


def test_inbox_counts_follow_every_change_and_match_a_rebuild(cast):
    t1 = ticket_create(queue=cast.boutique_queue, channel="email", subject="1")
    t2 = ticket_create(queue=cast.boutique_queue_2, channel="phone", subject="2")
    ticket_create(queue=cast.assurance_queue, channel="email", subject="3")
    ticket_assign(ticket=t1, assignee=cast.boutique_agent, author=cast.admin)
    ticket_change_status(ticket=t1, status=Status.AWAITING_CONTACT, author=cast.admin)
    ticket_close(ticket=t2, author=cast.admin)
    maintained = _counts()
    assert sum(maintained.values()) == Ticket.objects.count() == 3
    assert (
        maintained[
            (
                cast.boutique.pk,
                cast.boutique_queue.pk,
                "email",
                "awaiting_contact",
                cast.boutique_agent.pk,
            )
        ]
        == 1
    )
    counts_rebuild()
    assert _counts() == maintained


def test_history_events_are_written_by_services_only(cast):
    t = ticket_create(queue=cast.boutique_queue, channel="email", subject="x")
    # Saving the model directly (as a data migration might) records nothing.
    Ticket.objects.filter(pk=t.pk).update(status=Status.CLOSED)
    assert Event.objects.filter(ticket=t, kind=EventKind.STATUS).count() == 0


def test_a_change_made_from_a_stale_copy_keeps_the_inbox_counts_exact(cast):
    # Two agents had the ticket open; both close it (or one closes while a reply reopens
    # it): the second works on an out-of-date object, and the counts must not drift.
    t = ticket_create(queue=cast.boutique_queue, channel="email", subject="x")
    first, second = Ticket.objects.get(pk=t.pk), Ticket.objects.get(pk=t.pk)
    ticket_close(ticket=first, author=cast.admin)
    ticket_close(ticket=second, author=cast.boutique_agent)
    ticket_assign(ticket=first, assignee=cast.boutique_agent, author=cast.admin)
    ticket_assign(ticket=second, assignee=cast.boutique_agent, author=cast.admin)
    assert Event.objects.filter(ticket=t, kind=EventKind.STATUS).count() == 1
    assert Event.objects.filter(ticket=t, kind=EventKind.ASSIGNMENT).count() == 1
    maintained = _counts()
    counts_rebuild()
    assert _counts() == maintained
