"""Acknowledgment of receipt: settings per workspace and queue, variables, loop guards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from comptoir.channels.email import ids
from comptoir.channels.email.acknowledgments import (
    acknowledgment_send,
    template_unknown_variables,
)
from comptoir.channels.email.autoreply import (
    auto_reply_allowed,
    auto_reply_claim,
    auto_reply_record,
)
from comptoir.channels.email.delivery import outgoing_deliver
from comptoir.channels.email.models import (
    Acknowledgment,
    AddressFlag,
    AutoReplyLog,
    OutgoingEmail,
)
from comptoir.core import clock
from comptoir.testing.smtp_sink import smtp_sink_fixture  # noqa: F401
from comptoir.tickets.models import MessageKind
from comptoir.tickets.services import ticket_create

BODY = (
    "Bonjour {{contact.name}},\n"
    "Votre demande n°{{ ticket.number }} « {{ticket.subject}} » sera traitée sous "
    "{{delay_hours}} heures."
)


@pytest.fixture
def workspace_ack(cast):
    return Acknowledgment.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        subject="Demande n°{{ticket.number}} reçue",
        body=BODY,
        delay_hours=48,
    )


def _ticket(cast, queue=None, **kw):
    args = {"contact": cast.alice, "subject": "Colis perdu"}
    args.update(kw)
    return ticket_create(queue=queue or cast.boutique_queue, channel="email", **args)


def test_a_new_ticket_gets_the_workspace_acknowledgment_with_its_variables(cast, workspace_ack):
    ticket = _ticket(cast)
    row = acknowledgment_send(
        ticket=ticket, recipient="Alice <alice@example.com>", in_reply_to="<orig@example.com>"
    )
    assert row is not None
    assert row.auto_submitted == "auto-replied"
    assert row.idempotency_key == f"ack:{ticket.pk}"
    assert row.subject == (
        f"Demande n°{ticket.number} reçue {ids.reply_token(ticket.tenant_id, ticket.number)}"
    )
    assert row.body_text == (
        f"Bonjour Alice Dupont,\nVotre demande n°{ticket.number} « Colis perdu » sera traitée "
        "sous 48 heures."
    )
    assert row.in_reply_to == "orig@example.com"
    # The timeline shows it as an automatic message, with the ids of the mail sent.
    message = row.ticket_message
    assert message is not None
    assert message.kind == MessageKind.AUTOMATIC
    assert message.message_id == row.message_id
    assert AutoReplyLog.objects.filter(correspondent="alice@example.com").count() == 1


def test_the_acknowledgment_reaches_the_relay_marked_as_automatic(cast, workspace_ack, smtp_sink):
    ticket = _ticket(cast)
    row = acknowledgment_send(
        ticket=ticket,
        recipient="alice@example.com",
        in_reply_to="orig@example.com",
        references=["root@example.com", "orig@example.com", "not an id"],
    )
    assert row is not None
    assert outgoing_deliver(outgoing_id=row.pk)
    mail = smtp_sink.parsed()
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["Message-ID"] == f"<{row.message_id}>"
    assert ids.is_our_message_id(row.message_id)
    assert mail["In-Reply-To"] == "<orig@example.com>"
    assert mail["References"] == "<root@example.com> <orig@example.com>"


def test_a_switched_off_acknowledgment_sends_nothing(cast, workspace_ack):
    workspace_ack.is_enabled = False
    workspace_ack.save()
    assert acknowledgment_send(ticket=_ticket(cast), recipient="alice@example.com") is None
    assert not OutgoingEmail.objects.exists()
    assert not AutoReplyLog.objects.exists()


def test_no_acknowledgment_configured_sends_nothing(cast):
    assert acknowledgment_send(ticket=_ticket(cast), recipient="alice@example.com") is None


def test_a_queue_override_wins_over_the_workspace(cast, workspace_ack):
    Acknowledgment.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        queue=cast.boutique_queue_2,
        subject="Retour n°{{ticket.number}} bien reçu",
        body="Merci",
    )
    Acknowledgment.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        queue=cast.boutique_queue,
        is_enabled=False,
        subject="x",
        body="x",
    )
    returned = _ticket(
        cast, queue=cast.boutique_queue_2, contact=None, requester_email="bob@example.com"
    )
    row = acknowledgment_send(ticket=returned, recipient="bob@example.com")
    assert row is not None
    assert row.subject.startswith(f"Retour n°{returned.number} bien reçu")
    assert row.body_text == "Merci"
    # The other queue switched it off, whatever the workspace says.
    assert acknowledgment_send(ticket=_ticket(cast), recipient="alice@example.com") is None


def test_at_most_one_automatic_mail_per_correspondent_per_window(cast, workspace_ack, settings):
    settings.COMPTOIR_AUTO_REPLY_WINDOW_S = 3600
    start = clock.now()
    first = acknowledgment_send(ticket=_ticket(cast), recipient="alice@example.com", now=start)
    assert first is not None
    # Another help desk answering us, or a customer writing twice: no second mail.
    assert (
        acknowledgment_send(
            ticket=_ticket(cast), recipient="ALICE@example.com", now=start + timedelta(minutes=59)
        )
        is None
    )
    later = acknowledgment_send(
        ticket=_ticket(cast), recipient="alice@example.com", now=start + timedelta(minutes=61)
    )
    assert later is not None
    assert OutgoingEmail.objects.count() == 2


def test_the_same_ticket_acknowledged_twice_queues_one_mail(cast, workspace_ack):
    ticket = _ticket(cast)
    first = acknowledgment_send(ticket=ticket, recipient="alice@example.com")
    again = acknowledgment_send(ticket=ticket, recipient="alice@example.com")
    assert first is not None and again is not None
    assert first.pk == again.pk
    assert OutgoingEmail.objects.count() == 1
    assert AutoReplyLog.objects.count() == 1


def test_never_to_a_flagged_address(cast, workspace_ack):
    AddressFlag.objects.create(tenant=cast.tenant, address="alice@example.com")
    assert acknowledgment_send(ticket=_ticket(cast), recipient="alice@example.com") is None
    assert not OutgoingEmail.objects.exists()


def test_a_flag_in_another_tenant_does_not_count(cast, workspace_ack):
    AddressFlag.objects.create(tenant=cast.other_tenant, address="alice@example.com")
    assert acknowledgment_send(ticket=_ticket(cast), recipient="alice@example.com") is not None


def test_an_unusable_recipient_gets_nothing_and_no_error(cast, workspace_ack):
    assert acknowledgment_send(ticket=_ticket(cast), recipient="a@b\r\nBcc: x@y.z") is None


def test_a_name_with_line_breaks_cannot_reach_the_subject(cast, workspace_ack):
    workspace_ack.subject = "Bonjour {{contact.name}}"
    workspace_ack.save()
    ticket = _ticket(
        cast,
        contact=None,
        requester_name="Eve\r\nBcc: victim@example.net",
        requester_email="eve@example.com",
    )
    row = acknowledgment_send(ticket=ticket, recipient="eve@example.com")
    assert row is not None
    assert "\n" not in row.subject and "\r" not in row.subject
    assert row.subject.startswith("Bonjour Eve Bcc: victim@example.net")


def test_unknown_variables_are_refused_when_saved(cast):
    ack = Acknowledgment(
        tenant=cast.tenant,
        workspace=cast.boutique,
        subject="Bonjour {{contact.password}}",
        body="{{ticket.number}} {{ticket.secret}}",
    )
    with pytest.raises(ValidationError) as err:
        ack.full_clean()
    assert set(err.value.message_dict) == {"subject", "body"}
    assert "ticket.secret" in " ".join(err.value.message_dict["body"])
    ack.subject, ack.body = "Bonjour {{contact.name}}", BODY
    ack.full_clean()


def test_a_queue_of_another_workspace_is_refused(cast):
    ack = Acknowledgment(
        tenant=cast.tenant,
        workspace=cast.boutique,
        queue=cast.assurance_queue,
        subject="s",
        body="b",
    )
    with pytest.raises(ValidationError) as err:
        ack.full_clean()
    assert "queue" in err.value.message_dict


def test_acknowledgments_know_the_template_fields_and_the_delay_only():
    assert template_unknown_variables("{{a}} {{ticket.number}} {{ a }} {{delay_hours}}") == ["a"]
    assert template_unknown_variables("{{contact.name}} {{contact.first_name}}") == []


def test_auto_reply_window_is_per_tenant_and_per_address(cast):
    now = clock.now()
    auto_reply_record(
        tenant_id=cast.tenant.pk, correspondent="Bot@Example.com", kind="ack", now=now
    )
    assert not auto_reply_allowed(
        tenant_id=cast.tenant.pk, correspondent="bot@example.com", now=now
    )
    assert auto_reply_allowed(
        tenant_id=cast.other_tenant.pk, correspondent="bot@example.com", now=now
    )
    assert auto_reply_allowed(tenant_id=cast.tenant.pk, correspondent="other@example.com", now=now)
    assert auto_reply_allowed(
        tenant_id=cast.tenant.pk,
        correspondent="bot@example.com",
        now=now + timedelta(minutes=10),
        window=timedelta(minutes=5),
    )
    assert not auto_reply_claim(
        tenant_id=cast.tenant.pk, correspondent="bot@example.com", kind="ack", now=now
    )


def test_acknowledgments_render_every_template_field_and_issue_a_history_link(cast):
    from comptoir.responses.models import HistoryLink

    Acknowledgment.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        subject="Bien reçu, {{contact.first_name}}",
        body="Suivez vos échanges : {{ticket.history_link}} (priorité {{ticket.priority}})",
    )
    ticket = _ticket(cast)
    row = acknowledgment_send(ticket=ticket, recipient="alice@example.com")
    assert row is not None
    assert row.subject.startswith("Bien reçu, Alice")
    link = HistoryLink.objects.get(ticket=ticket)
    assert link.recipient == "alice@example.com"
    assert "{{" not in row.body_text and "/h/" in row.body_text
    # The contact speaks French (the default): labels are rendered in French.
    assert "(priorité Basse)" in row.body_text


def test_an_acknowledgment_with_an_unknown_field_is_refused_at_save(cast):
    ack = Acknowledgment(
        tenant=cast.tenant, workspace=cast.boutique, subject="s", body="{{contact.shoe_size}}"
    )
    with pytest.raises(ValidationError) as err:
        ack.full_clean()
    assert "contact.shoe_size" in str(err.value.message_dict["body"])
