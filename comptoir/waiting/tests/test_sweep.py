"""The sending rules of waiting messages, each checked with moved time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from comptoir.channels.email.models import OutgoingEmail
from comptoir.tickets.models import Event, EventKind, Message, MessageKind, Status
from comptoir.tickets.services import message_add, ticket_change_status, ticket_close
from comptoir.waiting import services, sweep
from comptoir.waiting.models import WaitingMessage, WaitingMessageSend
from comptoir.waiting.tests.conftest import T0

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def _message(cast, workspace=None, **hours):
    values = {
        "title": "Nous traitons votre demande n°{{ticket.number}}",
        "body": "Bonjour {{contact.first_name}}, merci de votre patience.",
    }
    values.update(hours or {"hours_to_process": 4})
    return services.waiting_message_create(
        workspace=workspace or cast.boutique, user=cast.admin, **values
    )


def _assign(cast, message, queue=None):
    services.waiting_message_assign(
        waiting_message=message, user=cast.admin, workspace=message.workspace, queue=queue
    )


def _sent_for(ticket):
    return OutgoingEmail.objects.filter(ticket=ticket, kind=sweep.KIND)


@pytest.mark.parametrize(
    ("status", "field"),
    [
        (Status.TO_PROCESS, "hours_to_process"),
        (Status.AWAITING_EXPERT, "hours_awaiting_expert"),
        (Status.AWAITING_EXTERNAL, "hours_awaiting_external"),
    ],
)
def test_each_status_sends_once_its_threshold_has_passed(cast, make_ticket, status, field):
    _assign(cast, _message(cast, **{field: 4}))
    ticket = make_ticket(status=status)

    assert sweep.waiting_sweep(now=T0 + 4 * H - timedelta(minutes=1)).sent == 0
    result = sweep.waiting_sweep(now=T0 + 4 * H)

    assert result.sent == 1
    outgoing = _sent_for(ticket).get()
    assert outgoing.auto_submitted == "auto-generated"
    assert outgoing.to == ["alice@example.com"]
    assert f"n°{ticket.number}" in outgoing.subject
    assert "Bonjour Alice, merci" in outgoing.body_text
    automatic = Message.objects.get(ticket=ticket, kind=MessageKind.AUTOMATIC)
    assert automatic.body_text == outgoing.body_text
    event = Event.objects.get(ticket=ticket, kind=EventKind.WAITING_MESSAGE)
    assert event.data["message_id"] == automatic.pk
    assert event.data["status"] == status
    # A second sweep right after sends nothing more for this stay.
    assert sweep.waiting_sweep(now=T0 + 5 * H).sent == 0
    assert _sent_for(ticket).count() == 1


def test_an_empty_threshold_never_sends_for_that_status(cast, make_ticket):
    _assign(cast, _message(cast, hours_to_process=4))
    ticket = make_ticket(status=Status.AWAITING_EXPERT)
    assert sweep.waiting_sweep(now=T0 + 1000 * H).sent == 0
    assert not _sent_for(ticket).exists()


def test_zero_and_all_empty_are_refused_with_a_message_per_field(cast):
    with pytest.raises(ValidationError) as zero:
        _message(cast, hours_to_process=0)
    assert "hours_to_process" in zero.value.message_dict
    assert "hours_awaiting_expert" not in zero.value.message_dict

    with pytest.raises(ValidationError) as empty:
        _message(cast, hours_to_process=None)
    assert set(empty.value.message_dict) == {
        "hours_to_process",
        "hours_awaiting_expert",
        "hours_awaiting_external",
    }
    # One status is enough; the others may stay empty.
    assert _message(cast, hours_awaiting_external=2).hours_to_process is None


def test_unknown_merge_fields_are_refused_at_save(cast):
    with pytest.raises(ValidationError) as exc:
        services.waiting_message_create(
            workspace=cast.boutique,
            user=cast.admin,
            title="Votre demande",
            body="Bonjour {{contact.shoe_size}}",
            hours_to_process=4,
        )
    assert "contact.shoe_size" in str(exc.value.message_dict["body"])


def test_the_queue_assignment_wins_over_the_workspace(cast, make_ticket):
    _assign(cast, _message(cast, hours_to_process=4))
    slow = _message(cast, hours_to_process=24)
    _assign(cast, slow, queue=cast.boutique_queue)
    in_queue = make_ticket(queue=cast.boutique_queue)
    elsewhere = make_ticket(queue=cast.boutique_queue_2)

    assert sweep.waiting_sweep(now=T0 + 5 * H).sent == 1
    assert _sent_for(elsewhere).count() == 1
    assert not _sent_for(in_queue).exists()

    assert sweep.waiting_sweep(now=T0 + 24 * H).sent == 1
    assert WaitingMessageSend.objects.get(ticket=in_queue).waiting_message == slow


def test_an_unassigned_message_never_sends(cast, make_ticket):
    _message(cast, hours_to_process=1)
    ticket = make_ticket()
    assert sweep.waiting_sweep(now=T0 + 100 * H).sent == 0
    assert not _sent_for(ticket).exists()


def test_removing_the_assignment_stops_it(cast, make_ticket):
    message = _message(cast, hours_to_process=1)
    _assign(cast, message)
    services.waiting_message_assign(waiting_message=None, user=cast.admin, workspace=cast.boutique)
    make_ticket()
    assert sweep.waiting_sweep(now=T0 + 100 * H).sent == 0


def test_an_edit_applies_at_the_next_sweep(cast, make_ticket):
    message = _message(cast, hours_to_process=48)
    _assign(cast, message)
    ticket = make_ticket()
    assert sweep.waiting_sweep(now=T0 + 5 * H).sent == 0

    services.waiting_message_update(
        waiting_message=message, user=cast.admin, hours_to_process=4, body="Toujours là."
    )

    assert sweep.waiting_sweep(now=T0 + 5 * H).sent == 1
    assert _sent_for(ticket).get().body_text == "Toujours là."


def test_deleting_cancels_the_sends_to_come(cast, make_ticket):
    message = _message(cast, hours_to_process=4)
    _assign(cast, message)
    first = make_ticket()
    assert sweep.waiting_sweep(now=T0 + 4 * H).sent == 1
    second = make_ticket(at=T0 + 1 * H)

    services.waiting_message_delete(waiting_message=message, user=cast.admin)

    assert sweep.waiting_sweep(now=T0 + 100 * H).sent == 0
    assert not _sent_for(second).exists()
    # What was sent stays recorded.
    assert WaitingMessageSend.objects.filter(ticket=first, waiting_message=None).count() == 1
    assert not WaitingMessage.objects.filter(pk=message.pk).exists()


def test_a_reply_to_the_contact_during_the_stay_prevents_it(cast, make_ticket):
    _assign(cast, _message(cast, hours_to_process=4))
    ticket = make_ticket()
    # An outbound message that did not move the ticket (e.g. sent through another channel).
    message_add(
        ticket=ticket,
        kind=MessageKind.OUTBOUND,
        body_text="On s'en occupe",
        author=cast.boutique_agent,
        now=T0 + 1 * H,
    )
    assert sweep.waiting_sweep(now=T0 + 10 * H).sent == 0


def test_a_note_does_not_count_as_a_reply(cast, make_ticket):
    _assign(cast, _message(cast, hours_to_process=4))
    ticket = make_ticket()
    message_add(ticket=ticket, kind=MessageKind.NOTE, body_text="interne", now=T0 + H)
    assert sweep.waiting_sweep(now=T0 + 10 * H).sent == 1


def test_leaving_and_reentering_a_status_allows_one_more(cast, make_ticket):
    _assign(cast, _message(cast, hours_to_process=4))
    ticket = make_ticket()
    assert sweep.waiting_sweep(now=T0 + 4 * H).sent == 1

    ticket_change_status(ticket=ticket, status=Status.AWAITING_CONTACT, author=None, now=T0 + 5 * H)
    ticket_change_status(ticket=ticket, status=Status.TO_PROCESS, author=None, now=T0 + 6 * H)

    assert sweep.waiting_sweep(now=T0 + 9 * H).sent == 0
    assert sweep.waiting_sweep(now=T0 + 10 * H).sent == 1
    assert sweep.waiting_sweep(now=T0 + 11 * H).sent == 0
    assert _sent_for(ticket).count() == 2


def test_a_closed_ticket_never_gets_one(cast, make_ticket):
    _assign(cast, _message(cast, hours_to_process=4))
    ticket = make_ticket()
    ticket_close(ticket=ticket, author=None, now=T0 + H)
    assert sweep.waiting_sweep(now=T0 + 100 * H).sent == 0


def test_a_ticket_without_contact_email_is_skipped(cast, make_ticket):
    _assign(cast, _message(cast, hours_to_process=4))
    make_ticket(contact=False)
    assert sweep.waiting_sweep(now=T0 + 100 * H).sent == 0


def test_a_ticket_of_another_workspace_is_not_touched(cast, make_ticket):
    _assign(cast, _message(cast, hours_to_process=4))
    other = make_ticket(queue=cast.assurance_queue)
    assert sweep.waiting_sweep(now=T0 + 100 * H).sent == 0
    assert not _sent_for(other).exists()


def test_a_crash_before_commit_leaves_nothing_and_the_next_sweep_sends_once(
    cast, make_ticket, monkeypatch
):
    _assign(cast, _message(cast, hours_to_process=4))
    ticket = make_ticket()

    def crash(*args, **kwargs):
        raise RuntimeError("the outbox table is unreachable")

    # The batch and its one-stay-at-a-time fallback fail between record and outbox row.
    monkeypatch.setattr(sweep, "email_send_many", crash)
    result = sweep.waiting_sweep(now=T0 + 5 * H)
    assert result.sent == 0 and result.errors
    assert not WaitingMessageSend.objects.exists()
    assert not Message.objects.filter(ticket=ticket, kind=MessageKind.AUTOMATIC).exists()

    monkeypatch.undo()
    assert sweep.waiting_sweep(now=T0 + 5 * H).sent == 1
    assert sweep.waiting_sweep(now=T0 + 6 * H).sent == 0
    assert _sent_for(ticket).count() == 1


def test_a_stale_selection_is_checked_again_before_sending(cast, make_ticket):
    _assign(cast, _message(cast, hours_to_process=4))
    ticket = make_ticket()
    due = sweep.due_stays(now=T0 + 5 * H)
    assert [d[0] for d in due] == [ticket.pk]
    ticket_change_status(ticket=ticket, status=Status.AWAITING_CONTACT, author=None, now=T0 + 5 * H)
    assert not sweep.waiting_send_batch(due, now=T0 + 5 * H)
