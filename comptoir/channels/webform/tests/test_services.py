"""The submission service: ticket, contact matching or creation, custom values, acknowledgment."""

from __future__ import annotations

from email.header import decode_header, make_header
from typing import Any

import pytest
from django.db import transaction

from comptoir.channels.email.delivery import outgoing_deliver_due
from comptoir.channels.email.models import Acknowledgment, OutgoingEmail, OutgoingStatus
from comptoir.channels.webform import services
from comptoir.channels.webform.services import SubmissionData, webform_submit
from comptoir.channels.webform.tests.conftest import PDF
from comptoir.contacts.models import Contact, ContactIdentity, CustomFieldValue
from comptoir.contacts.services import contact_create
from comptoir.testing.smtp_sink import smtp_sink_fixture  # noqa: F401
from comptoir.tickets.models import Channel, Event, EventKind, MessageKind, Status, Ticket
from comptoir.tickets.services import NewAttachment

pytestmark = pytest.mark.django_db


def _data(**overrides: Any) -> SubmissionData:
    values: dict[str, Any] = {
        "name": "Marie Curie",
        "email": "marie@example.org",
        "phone": "+33 6 12 34 56 78",
        "subject": "Colis abîmé",
        "message": "Mon colis est arrivé abîmé.",
        "language": "fr",
    }
    values.update(overrides)
    return SubmissionData(**values)


@pytest.fixture
def ack(cast):
    return Acknowledgment.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        subject="Demande n°{{ticket.number}} reçue",
        body="Bonjour {{contact.name}}, votre demande n°{{ticket.number}} est bien arrivée.",
    )


def test_a_submission_opens_a_webform_ticket_in_the_forms_queue(cast, web_form):
    data = _data(attachments=[NewAttachment("photo.pdf", PDF, "application/pdf")])
    result = webform_submit(web_form=web_form, data=data)
    ticket = result.ticket
    assert result.created
    assert ticket.channel == Channel.WEBFORM
    assert ticket.queue_id == cast.boutique_queue_2.pk
    assert ticket.workspace_id == cast.boutique.pk
    assert ticket.status == Status.NEW
    assert ticket.subject == "Colis abîmé"
    assert ticket.requester_email == "marie@example.org"
    message = ticket.messages.get()
    assert message.kind == MessageKind.INBOUND
    assert message.sender_email == "marie@example.org"
    assert message.body_text.startswith("Mon colis est arrivé abîmé.")
    assert "+33 6 12 34 56 78" in message.body_text
    attachment = message.attachments.get()
    assert attachment.filename == "photo.pdf"
    assert attachment.file.read() == PDF
    assert Event.objects.filter(ticket=ticket, kind=EventKind.CREATED).count() == 1
    assert Ticket.objects.get(pk=ticket.pk).has_unread


def test_a_known_address_links_the_ticket_to_its_contact(cast, web_form):
    contacts = Contact.objects.count()
    ticket = webform_submit(web_form=web_form, data=_data(email="ALICE@Example.com")).ticket
    assert ticket.contact_id == cast.alice.pk
    assert Contact.objects.count() == contacts
    # Her name on file is kept: a public form does not rename a known contact.
    cast.alice.refresh_from_db()
    assert cast.alice.full_name == "Alice Dupont"
    phones = cast.alice.identities.filter(kind="phone").values_list("value", flat=True)
    assert list(phones) == ["+33612345678"]


def test_an_unknown_address_creates_a_contact_from_the_forms_details(cast, web_form):
    ticket = webform_submit(web_form=web_form, data=_data(language="en")).ticket
    contact = ticket.contact
    assert contact is not None
    assert (contact.first_name, contact.last_name) == ("Marie", "Curie")
    assert contact.language == "en"
    assert contact.tenant_id == cast.tenant.pk
    identities = dict(contact.identities.values_list("kind", "value"))
    assert identities == {"email": "marie@example.org", "phone": "+33612345678"}


def test_an_address_known_only_in_another_tenant_makes_a_new_contact(cast, web_form):
    ticket = webform_submit(web_form=web_form, data=_data(email="otto@globex.example")).ticket
    assert ticket.contact is not None
    assert ticket.contact_id != cast.other_contact.pk
    assert ticket.contact.tenant_id == cast.tenant.pk


def test_a_phone_of_another_contact_is_left_to_its_owner(cast, web_form):
    owner = contact_create(tenant=cast.tenant, first_name="Paul", phones=["+33612345678"])
    ticket = webform_submit(web_form=web_form, data=_data()).ticket
    assert ticket.contact is not None
    assert ticket.contact_id != owner.pk
    assert not ticket.contact.identities.filter(kind="phone").exists()
    assert ContactIdentity.objects.get(kind="phone", value="+33612345678").contact_id == owner.pk
    assert "+33 6 12 34 56 78" in ticket.messages.get().body_text


def test_custom_values_are_kept_on_a_new_contact(cast, web_form, custom_fields):
    values = {"order_no": "4521", "tier": "Gold", "since": "2021-05-01"}
    ticket = webform_submit(
        web_form=web_form,
        data=_data(custom_values=values),
        custom_fields=list(custom_fields.values()),
    ).ticket
    stored = dict(
        CustomFieldValue.objects.filter(contact=ticket.contact).values_list("field__key", "value")
    )
    assert stored == values
    body = ticket.messages.get().body_text
    assert "Order number: 4521" in body
    assert "Loyalty tier: Gold" in body


def test_a_known_contacts_values_are_filled_in_never_overwritten(cast, web_form, custom_fields):
    CustomFieldValue.objects.create(contact=cast.alice, field=custom_fields["tier"], value="Bronze")
    webform_submit(
        web_form=web_form,
        data=_data(email="alice@example.com", custom_values={"tier": "Gold", "order_no": "7"}),
        custom_fields=list(custom_fields.values()),
    )
    stored = dict(
        CustomFieldValue.objects.filter(contact=cast.alice).values_list("field__key", "value")
    )
    assert stored == {"tier": "Bronze", "order_no": "7"}


def test_posting_the_same_rendered_form_twice_gives_one_ticket(cast, web_form):
    first = webform_submit(web_form=web_form, data=_data(), nonce="n-1")
    second = webform_submit(web_form=web_form, data=_data(), nonce="n-1")
    assert first.created and not second.created
    assert first.ticket.pk == second.ticket.pk
    assert Ticket.objects.count() == 1
    third = webform_submit(web_form=web_form, data=_data(), nonce="n-2")
    assert third.ticket.pk != first.ticket.pk


def test_the_acknowledgment_is_queued_and_leaves_through_smtp(
    cast, web_form, ack, smtp_sink, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    ticket = webform_submit(web_form=web_form, data=_data()).ticket
    row = OutgoingEmail.objects.get(ticket=ticket)
    assert row.kind == "acknowledgment"
    assert row.to == ["Marie Curie <marie@example.org>"]
    assert row.auto_submitted == "auto-replied"
    assert f"n°{ticket.number}" in row.body_text
    assert ticket.messages.filter(kind=MessageKind.AUTOMATIC).count() == 1
    outgoing_deliver_due()
    row.refresh_from_db()
    assert row.status == OutgoingStatus.SENT
    assert len(smtp_sink.messages) == 1
    mail = smtp_sink.messages[0].parsed()
    assert mail["To"] == "Marie Curie <marie@example.org>"
    assert f"Demande n°{ticket.number} reçue" in mail["Subject"]


def test_a_name_with_accents_reaches_the_acknowledgment_intact(cast, web_form, ack):
    ticket = webform_submit(web_form=web_form, data=_data(name='Hélène "Lena" Ñ')).ticket
    row = OutgoingEmail.objects.get(ticket=ticket)
    assert str(make_header(decode_header(row.to[0]))) == "Hélène Lena Ñ <marie@example.org>"


def test_a_failing_acknowledgment_does_not_lose_the_ticket(cast, web_form, ack, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("template engine on fire")

    monkeypatch.setattr(services, "acknowledgment_send", broken)
    ticket = webform_submit(web_form=web_form, data=_data()).ticket
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert ticket.messages.filter(kind=MessageKind.INBOUND).count() == 1
    assert not OutgoingEmail.objects.exists()


def test_the_acknowledgment_is_not_queued_when_the_submission_rolls_back(cast, web_form, ack):
    with pytest.raises(RuntimeError), transaction.atomic():
        webform_submit(web_form=web_form, data=_data())
        raise RuntimeError("the caller failed after the service")
    assert not Ticket.objects.exists()
    assert not OutgoingEmail.objects.exists()
