"""The inbound pipeline end to end: real MIME bytes in, tickets and messages out."""

from __future__ import annotations

import pytest

from comptoir.channels.email.ids import reply_token
from comptoir.channels.email.models import (
    AddressFlag,
    InboundEmail,
    InboundStatus,
    OutgoingEmail,
    OutgoingStatus,
)
from comptoir.channels.email.outbound import email_send
from comptoir.channels.email.selectors_inbound import inbound_original
from comptoir.channels.email.tests.inbound_helpers import (
    ACME_ADDRESS,
    bounce_eml,
    deliver,
    eml,
    message_of,
)
from comptoir.core.errors import NotFound
from comptoir.tickets.models import Event, EventKind, MessageKind, Status, Ticket
from comptoir.tickets.services import ticket_change_status, ticket_close


def _acks() -> int:
    return OutgoingEmail.objects.filter(kind="acknowledgment").count()


def _agent_reply(ticket, *, in_reply_to="m1@client.example") -> OutgoingEmail:
    return email_send(
        tenant=ticket.tenant_id,
        to=["jean@client.example"],
        subject=f"Re: {ticket.subject}",
        body_text="Nous regardons.",
        kind="reply",
        idempotency_key=f"reply:{ticket.pk}:{OutgoingEmail.objects.count()}",
        ticket=ticket,
        in_reply_to=in_reply_to,
    )


def test_mail_from_an_unknown_address_opens_a_ticket_with_no_contact(acme_mailbox):
    row = deliver(acme_mailbox, eml())
    assert row.status == InboundStatus.PROCESSED
    ticket = Ticket.objects.get()
    assert ticket.queue_id == acme_mailbox.queue_id
    assert ticket.channel == "email"
    assert ticket.subject == "Ma commande n'est pas arrivée"
    assert ticket.contact is None
    assert (ticket.requester_email, ticket.requester_name) == ("jean@client.example", "Jean Client")
    message = ticket.messages.get()
    assert message.kind == MessageKind.INBOUND
    assert "pas reçu ma commande" in message.body_text
    assert message.message_id == "m1@client.example"
    assert row.ticket == ticket and row.ticket_message == message


def test_mail_from_an_address_of_a_known_contact_links_that_contact(cast, acme_mailbox):
    deliver(acme_mailbox, eml(from_="Alice <ALICE@example.com>"))
    assert Ticket.objects.get().contact == cast.alice


def test_the_same_address_known_in_another_tenant_is_not_linked(cast, acme_mailbox):
    deliver(acme_mailbox, eml(from_="Otto <otto@globex.example>"))
    assert Ticket.objects.get().contact is None


def test_visible_text_is_the_message_and_the_full_original_stays_viewable(cast, acme_mailbox):
    body = (
        "Merci, c'est reçu.\n\n"
        "Le lun. 2 mars 2026 à 09:30, Support <support@acme.test> a écrit :\n"
        "> Votre colis est parti.\n"
    )
    row = deliver(acme_mailbox, eml(body=body))
    message = message_of(row)
    assert message.body_text.strip() == "Merci, c'est reçu."
    original = inbound_original(user=cast.boutique_agent, message_id=message.pk)
    assert "Votre colis est parti." in original.body_text
    with pytest.raises(NotFound):
        inbound_original(user=cast.other_agent, message_id=message.pk)
    with pytest.raises(NotFound):
        inbound_original(user=cast.assurance_agent, message_id=message.pk)


def test_attachments_and_inline_images_are_stored_on_the_message(acme_mailbox):
    raw = eml(
        html='<p>Voir <img src="cid:img1@client.example"></p>',
        inline_images=[("img1@client.example", "photo.png", b"\x89PNG\r\n\x1a\nfake")],
        attachments=[("facture.pdf", "application/pdf", b"%PDF-1.4 fake")],
    )
    message = message_of(deliver(acme_mailbox, raw))
    files = {a.filename: a for a in message.attachments.all()}
    assert set(files) == {"photo.png", "facture.pdf"}
    assert files["photo.png"].content_id == "img1@client.example"
    assert files["facture.pdf"].file.read() == b"%PDF-1.4 fake"


# --- case 20: threading -------------------------------------------------------------


def test_reply_with_in_reply_to_only_joins_the_ticket(acme_mailbox):
    deliver(acme_mailbox, eml())
    deliver(acme_mailbox, eml(message_id="<m2@client.example>", in_reply_to="<m1@client.example>"))
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().messages.count() == 2


def test_reply_with_references_only_joins_the_ticket(acme_mailbox):
    deliver(acme_mailbox, eml())
    deliver(
        acme_mailbox,
        eml(message_id="<m2@client.example>", references="<x@else> <m1@client.example>"),
    )
    assert Ticket.objects.count() == 1


def test_reply_to_our_outgoing_mail_joins_its_ticket(acme_mailbox):
    deliver(acme_mailbox, eml())
    ticket = Ticket.objects.get()
    ours = _agent_reply(ticket)
    deliver(acme_mailbox, eml(message_id="<m2@client.example>", in_reply_to=f"<{ours.message_id}>"))
    assert Ticket.objects.count() == 1 and ticket.messages.filter(kind="inbound").count() == 2


def test_reply_with_no_headers_but_our_subject_token_joins_the_ticket(cast, acme_mailbox):
    deliver(acme_mailbox, eml())
    ticket = Ticket.objects.get()
    token = reply_token(cast.tenant.pk, ticket.number)
    deliver(acme_mailbox, eml(message_id="<m2@client.example>", subject=f"RE: commande {token}"))
    assert Ticket.objects.count() == 1


def test_reply_that_arrives_before_its_original_lands_on_one_ticket(acme_mailbox):
    deliver(acme_mailbox, eml(message_id="<m2@client.example>", in_reply_to="<m1@client.example>"))
    deliver(acme_mailbox, eml())
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().messages.count() == 2


# --- case 21, 22: tenants and forged tokens -------------------------------------------


def test_in_reply_to_pointing_at_another_tenants_message_never_threads_there(
    cast, acme_mailbox, globex_mailbox
):
    deliver(globex_mailbox, eml(to="help@globex.test", message_id="<theirs@client.example>"))
    theirs = Ticket.objects.get(tenant=cast.other_tenant)
    deliver(
        acme_mailbox, eml(message_id="<m2@client.example>", in_reply_to="<theirs@client.example>")
    )
    ours = Ticket.objects.get(tenant=cast.tenant)
    assert ours != theirs
    assert theirs.messages.count() == 1


def test_a_token_of_another_tenant_opens_a_new_ticket(cast, acme_mailbox, globex_mailbox):
    deliver(globex_mailbox, eml(to="help@globex.test"))
    theirs = Ticket.objects.get(tenant=cast.other_tenant)
    token = reply_token(cast.other_tenant.pk, theirs.number)
    deliver(acme_mailbox, eml(message_id="<m9@client.example>", subject=f"Re: {token}"))
    assert theirs.messages.count() == 1
    assert Ticket.objects.filter(tenant=cast.tenant).count() == 1


def test_forged_reply_token_is_treated_as_a_new_message(acme_mailbox):
    deliver(acme_mailbox, eml())
    ticket = Ticket.objects.get()
    deliver(
        acme_mailbox,
        eml(message_id="<m2@client.example>", subject=f"Re: [#{ticket.number}-0badc0de]"),
    )
    assert Ticket.objects.count() == 2
    assert ticket.messages.count() == 1


# --- statuses -------------------------------------------------------------------------


def test_a_reply_to_a_closed_ticket_reopens_it_and_says_why(acme_mailbox):
    deliver(acme_mailbox, eml())
    ticket = Ticket.objects.get()
    ticket_close(ticket=ticket, author=None)
    deliver(acme_mailbox, eml(message_id="<m2@client.example>", in_reply_to="<m1@client.example>"))
    ticket.refresh_from_db()
    assert ticket.status == Status.TO_PROCESS
    event = Event.objects.filter(ticket=ticket, kind=EventKind.STATUS).latest("id")
    assert event.data["old"] == Status.CLOSED and event.data["new"] == Status.TO_PROCESS
    assert event.data["reason"]


def test_a_reply_to_a_ticket_awaiting_the_contact_moves_it_back_to_process(acme_mailbox):
    deliver(acme_mailbox, eml())
    ticket = Ticket.objects.get()
    ticket_change_status(ticket=ticket, status=Status.AWAITING_CONTACT, author=None)
    deliver(acme_mailbox, eml(message_id="<m2@client.example>", in_reply_to="<m1@client.example>"))
    ticket.refresh_from_db()
    assert ticket.status == Status.TO_PROCESS


# --- cases 23-27: loops, auto-replies, bounces ----------------------------------------


def test_a_new_ticket_from_a_person_gets_one_acknowledgment(acme_mailbox, acknowledgment):
    deliver(acme_mailbox, eml())
    ack = OutgoingEmail.objects.get(kind="acknowledgment")
    assert ack.to == ["jean@client.example"]
    assert ack.in_reply_to == "m1@client.example"
    assert ack.auto_submitted == "auto-replied"


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-generated"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"Precedence": "list"},
        {"X-Loop": "helpdesk@other.example"},
        {"X-Autoreply": "yes"},
        {"List-Id": "<news.shop.example>"},
    ],
)
def test_auto_submitted_mail_is_stored_but_gets_no_automatic_reply(
    acme_mailbox, acknowledgment, headers
):
    row = deliver(acme_mailbox, eml(headers=headers))
    assert row.status == InboundStatus.PROCESSED
    assert Ticket.objects.count() == 1
    assert _acks() == 0


def test_mail_from_a_mailer_daemon_gets_no_automatic_reply(acme_mailbox, acknowledgment):
    deliver(acme_mailbox, eml(from_="MAILER-DAEMON@mx.example"))
    assert _acks() == 0


def test_our_own_notification_coming_back_is_recognised_and_not_looped(
    acme_mailbox, acknowledgment
):
    deliver(acme_mailbox, eml())
    ticket = Ticket.objects.get()
    ours = _agent_reply(ticket)
    # The reply we sent comes back to our own mailbox (a CC, a forward, a misconfigured alias).
    back = eml(
        from_=ACME_ADDRESS,
        to=ACME_ADDRESS,
        subject=ours.subject,
        message_id=f"<{ours.message_id}>",
        in_reply_to="<m1@client.example>",
    )
    row = deliver(acme_mailbox, back)
    assert row.status == InboundStatus.IGNORED
    assert ticket.messages.filter(kind="inbound").count() == 1
    assert Ticket.objects.count() == 1
    assert _acks() == 1


def test_two_help_desks_auto_replying_to_each_other_get_at_most_one_reply_per_window(
    acme_mailbox, acknowledgment
):
    # The other desk's acknowledgments carry no RFC 3834 header at all (the worst case).
    for i in range(5):
        deliver(
            acme_mailbox,
            eml(
                from_="Other Desk <desk@other.example>",
                subject=f"Nous avons bien reçu votre message [{i}]",
                message_id=f"<desk{i}@other.example>",
            ),
        )
    assert Ticket.objects.count() == 5
    assert OutgoingEmail.objects.filter(to=["desk@other.example"]).count() == 1


def test_bounce_is_attached_to_the_outgoing_message_flags_the_recipient_and_opens_nothing(
    acme_mailbox, acknowledgment
):
    deliver(acme_mailbox, eml())
    ticket = Ticket.objects.get()
    ours = _agent_reply(ticket)
    acks = _acks()
    row = deliver(
        acme_mailbox, bounce_eml(original_message_id=ours.message_id, failed="jean@client.example")
    )
    assert row.status == InboundStatus.PROCESSED
    assert row.ticket == ticket
    assert Ticket.objects.count() == 1
    note = message_of(row)
    assert note.kind == MessageKind.NOTE
    assert "jean@client.example" in note.body_text and "5.1.1" in note.body_text
    ours.refresh_from_db()
    assert ours.status == OutgoingStatus.FAILED and "5.1.1" in ours.last_error
    flag = AddressFlag.objects.get(tenant=ticket.tenant, address="jean@client.example")
    assert flag.reason == "bounce"
    assert _acks() == acks


def test_a_bounce_for_mail_we_never_sent_opens_no_ticket(acme_mailbox):
    row = deliver(acme_mailbox, bounce_eml(original_message_id="unknown@elsewhere.example"))
    assert row.status == InboundStatus.IGNORED
    assert Ticket.objects.count() == 0


def test_out_of_office_reply_is_kept_but_does_not_count_as_the_contacts_answer(acme_mailbox):
    deliver(acme_mailbox, eml())
    ticket = Ticket.objects.get()
    ticket_change_status(ticket=ticket, status=Status.AWAITING_CONTACT, author=None)
    entered = Ticket.objects.get().status_changed_at
    ooo = eml(
        subject="Réponse automatique : Ma commande",
        message_id="<ooo@client.example>",
        in_reply_to="<m1@client.example>",
        headers={"Auto-Submitted": "auto-replied"},
        body="Je suis absent jusqu'au 12 mars.",
    )
    row = deliver(acme_mailbox, ooo)
    ticket.refresh_from_db()
    assert row.ticket == ticket
    assert message_of(row).is_auto_reply is True
    assert ticket.status == Status.AWAITING_CONTACT
    assert ticket.status_changed_at == entered


def test_out_of_office_reply_does_not_reopen_a_closed_ticket(acme_mailbox):
    deliver(acme_mailbox, eml())
    ticket = Ticket.objects.get()
    ticket_close(ticket=ticket, author=None)
    deliver(
        acme_mailbox,
        eml(
            message_id="<ooo@client.example>",
            in_reply_to="<m1@client.example>",
            subject="Out of Office: Ma commande",
        ),
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_inbound_headers_imitating_our_control_headers_are_ignored(
    cast, acme_mailbox, acknowledgment
):
    deliver(acme_mailbox, eml())
    first = Ticket.objects.get()
    row = deliver(
        acme_mailbox,
        eml(
            from_="Marie <marie@client.example>",
            message_id="<m2@client.example>",
            subject="Autre chose",
            headers={
                "X-Comptoir-Ticket": str(first.number),
                "X-Comptoir-Auto-Submitted": "no",
                "X-Comptoir-Kind": "acknowledgment",
            },
        ),
    )
    assert row.ticket != first  # not threaded by a forged header
    original = inbound_original(user=cast.boutique_agent, message_id=message_of(row).pk)
    assert not [h for h in original.headers if h.lower().startswith("x-comptoir-")]
    assert _acks() == 2


def test_shuffled_arrival_of_fifty_conversations_gives_fifty_tickets_of_four_messages(
    cast, acme_mailbox
):
    import random

    from comptoir.channels.email.models import ThreadRef

    rng = random.Random(20260302)

    def conv(k: int, part: int, token: str = "") -> bytes:
        root = f"<c{k}-0@client.example>"
        if part == 0:
            return eml(subject=f"Demande {k}", message_id=root, body=f"Demande {k}")
        if part == 1:
            return eml(
                subject=f"Re: Demande {k}",
                message_id=f"<c{k}-1@client.example>",
                in_reply_to=root,
                body="suite",
            )
        if part == 2:
            return eml(
                subject=f"Re: Demande {k}",
                message_id=f"<c{k}-2@client.example>",
                references=f"{root} <c{k}-1@client.example>",
                body="encore",
            )
        return eml(subject=f"Re: Demande {k} {token}", message_id=f"<c{k}-3@client.example>")

    order = [(k, part) for k in range(50) for part in range(4)]
    rng.shuffle(order)
    # A subject token exists only once its ticket does (we sent it): a token reply that the
    # shuffle put before every other message of its conversation moves right after the first.
    seen: set[int] = set()
    fixed: list[tuple[int, int]] = []
    deferred: dict[int, tuple[int, int]] = {}
    for k, part in order:
        if part == 3 and k not in seen:
            deferred[k] = (k, part)
            continue
        fixed.append((k, part))
        if k not in seen:
            seen.add(k)
            if k in deferred:
                fixed.append(deferred.pop(k))
    for k, part in fixed:
        if part == 3:
            ticket_id = ThreadRef.objects.filter(
                tenant=cast.tenant, message_id__startswith=f"c{k}-"
            ).values_list("ticket_id", flat=True)[0]
            number = Ticket.objects.get(pk=ticket_id).number
            raw = conv(k, part, reply_token(cast.tenant.pk, number))
        else:
            raw = conv(k, part)
        deliver(acme_mailbox, raw)
    assert InboundEmail.objects.filter(status=InboundStatus.PROCESSED).count() == 200
    assert Ticket.objects.count() == 50
    for ticket in Ticket.objects.all():
        ids = sorted(ticket.messages.values_list("message_id", flat=True))
        conversation = ids[0].split("-")[0]
        assert ids == [f"{conversation}-{i}@client.example" for i in range(4)], ids
