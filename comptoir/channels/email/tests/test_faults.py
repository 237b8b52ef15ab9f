"""Reliability of inbound processing: crashes, redeliveries, parser bugs, storage faults."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import FileSystemStorage

from comptoir.accounts.models import User
from comptoir.channels.email import parse as parse_module
from comptoir.channels.email.models import InboundEmail, InboundStatus, OutgoingEmail, ThreadRef
from comptoir.channels.email.process import (
    MAX_ATTEMPTS,
    inbound_process,
    inbound_process_many,
    inbound_process_pending,
    inbound_replay,
)
from comptoir.channels.email.store import inbound_store
from comptoir.channels.email.tests.inbound_helpers import deliver, eml
from comptoir.core import clock
from comptoir.tickets.models import Attachment, Message, Ticket


class FullDiskStorage(FileSystemStorage):
    """A storage whose every write fails, as a full disk or an unreachable bucket does."""

    def _save(self, name, content):
        raise OSError(28, "No space left on device")


@pytest.fixture
def broken_storage(settings):
    """Break file storage; calling the fixture's value repairs it."""
    working = settings.STORAGES

    def repair() -> None:
        settings.STORAGES = working

    settings.STORAGES = {**working, "default": {"BACKEND": f"{__name__}.FullDiskStorage"}}
    return repair


def _store(mailbox, raw, transport="lmtp"):
    row, created = inbound_store(raw=raw, transport=transport, mailbox=mailbox, schedule=False)
    return row, created


def test_a_mail_stored_before_a_crash_is_processed_exactly_once_on_restart(acme_mailbox):
    row, _ = _store(acme_mailbox, eml())  # the process died before its task ran
    later = clock.now() + timedelta(minutes=5)
    result = inbound_process_pending(now=later)
    assert result.processed == 1
    again = inbound_process_pending(now=later)
    assert again.processed == 0
    inbound_process(inbound_id=row.pk)  # the lost task turns up after all
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1


def test_the_sweeper_leaves_mail_that_its_task_is_about_to_process(acme_mailbox):
    _store(acme_mailbox, eml())
    assert inbound_process_pending().processed == 0


def test_redelivery_after_commit_makes_no_second_ticket_and_no_second_acknowledgment(
    acme_mailbox, acknowledgment
):
    raw = eml()
    first = deliver(acme_mailbox, raw)
    # The transport crashed before acknowledging: the sender delivers the same bytes again.
    row, created = _store(acme_mailbox, raw)
    assert not created and row.pk == first.pk
    inbound_process(inbound_id=row.pk)
    assert Ticket.objects.count() == 1
    assert Message.objects.filter(kind="inbound").count() == 1
    assert OutgoingEmail.objects.filter(kind="acknowledgment").count() == 1


def test_same_message_id_delivered_twice_by_two_transports_is_one_message(acme_mailbox):
    raw = eml()
    deliver(acme_mailbox, raw, transport="imap")
    deliver(acme_mailbox, b"Received: from relay2 by mx; Mon, 2 Mar 2026\r\n" + raw, "http")
    assert InboundEmail.objects.count() == 1
    assert Message.objects.count() == 1


def test_same_message_id_sent_to_two_tenants_is_stored_once_per_tenant_and_never_linked(
    cast, acme_mailbox, globex_mailbox
):
    raw = eml(to="support@acme.test, help@globex.test")
    deliver(acme_mailbox, raw)
    deliver(globex_mailbox, raw)
    assert InboundEmail.objects.count() == 2
    ours = Ticket.objects.get(tenant=cast.tenant)
    theirs = Ticket.objects.get(tenant=cast.other_tenant)
    reply = eml(message_id="<m2@client.example>", in_reply_to="<m1@client.example>")
    deliver(acme_mailbox, reply)
    assert ours.messages.count() == 2 and theirs.messages.count() == 1
    assert set(
        ThreadRef.objects.filter(message_id="m1@client.example").values_list("ticket_id", flat=True)
    ) == {ours.pk, theirs.pk}


def test_mail_without_message_id_is_deduplicated_by_a_hash_of_its_bytes(acme_mailbox):
    raw = eml(message_id=None)
    first = deliver(acme_mailbox, raw)
    assert first.dedup_key.startswith("sha256:")
    again, created = _store(acme_mailbox, raw)
    assert not created
    inbound_process(inbound_id=again.pk)
    assert Message.objects.count() == 1
    assert Message.objects.get().message_id == ""


def test_parser_crash_quarantines_the_raw_mail_writes_nothing_else_and_replay_fixes_it(
    acme_mailbox, monkeypatch
):
    def parser_bug(*args, **kwargs):
        raise RuntimeError("parser bug")

    # Simulates a bug inside the parser (the parser turns its own crash into a defect).
    monkeypatch.setattr(parse_module, "_build", parser_bug)
    row = deliver(acme_mailbox, eml())
    assert row.status == InboundStatus.QUARANTINED
    assert "parser-crash" in row.error
    assert row.attempts == 1
    assert bytes(row.raw) == eml()
    assert Ticket.objects.count() == 0 and Message.objects.count() == 0
    assert InboundEmail.objects.filter(status=InboundStatus.QUARANTINED).count() == 1
    inbound_process(inbound_id=row.pk)  # a plain re-run does not retry quarantined mail
    assert Ticket.objects.count() == 0

    monkeypatch.undo()  # the parser is fixed
    result = inbound_replay(all_quarantined=True)
    assert result.processed == 1
    row.refresh_from_db()
    assert row.status == InboundStatus.PROCESSED
    assert Ticket.objects.count() == 1


def test_storage_error_on_an_attachment_fails_the_whole_mail_for_a_retry(
    acme_mailbox, broken_storage
):
    raw = eml(attachments=[("facture.pdf", "application/pdf", b"%PDF-1.4 fake")])
    row, _ = _store(acme_mailbox, raw)
    with pytest.raises(OSError):
        inbound_process(inbound_id=row.pk)
    row.refresh_from_db()
    assert row.status == InboundStatus.RECEIVED
    assert row.attempts == 1 and "No space left" in row.error
    assert Ticket.objects.count() == 0 and Message.objects.count() == 0
    assert Attachment.objects.count() == 0

    broken_storage()  # the disk has room again
    inbound_process(inbound_id=row.pk)
    ticket = Ticket.objects.get()
    assert ticket.messages.get().attachments.get().filename == "facture.pdf"


def test_a_mail_failing_again_and_again_ends_in_quarantine(acme_mailbox, broken_storage):
    raw = eml(attachments=[("a.pdf", "application/pdf", b"%PDF")])
    row, _ = _store(acme_mailbox, raw)
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(OSError):
            inbound_process(inbound_id=row.pk)
    row.refresh_from_db()
    assert row.status == InboundStatus.QUARANTINED


def test_one_failing_mail_in_a_batch_does_not_lose_the_others(acme_mailbox, broken_storage):
    ids = [
        _store(acme_mailbox, eml(message_id="<a@client.example>"))[0].pk,
        _store(
            acme_mailbox,
            eml(message_id="<b@client.example>", attachments=[("a.pdf", "application/pdf", b"x")]),
        )[0].pk,
        _store(acme_mailbox, eml(message_id="<c@client.example>", subject="Autre"))[0].pk,
    ]
    result = inbound_process_many(inbound_ids=ids)
    assert result.processed == 2
    assert result.failed == [ids[1]]
    statuses = dict(InboundEmail.objects.values_list("pk", "status"))
    assert statuses[ids[1]] == InboundStatus.RECEIVED
    assert Message.objects.count() == 2


def test_administrators_see_the_quarantine_count_and_can_replay(client, acme_mailbox, monkeypatch):
    monkeypatch.setattr(parse_module, "_build", lambda *a, **k: 1 / 0)
    row = deliver(acme_mailbox, eml())
    monkeypatch.undo()
    admin = User.objects.create_superuser(email="root@comptoir.test", password="x")
    client.force_login(admin)
    page = client.get("/admin/mail/inboundemail/")
    assert page.status_code == 200
    assert page.context["quarantined_count"] == 1
    assert [m.level_tag for m in page.context["messages"]] == ["warning"]
    replay = client.post(
        "/admin/mail/inboundemail/",
        {"action": "replay", "_selected_action": [row.pk]},
        follow=True,
    )
    assert replay.status_code == 200
    row.refresh_from_db()
    assert row.status == InboundStatus.PROCESSED


def test_another_tenants_administrator_never_sees_our_received_mail(
    client, cast, acme_mailbox, globex_mailbox
):
    deliver(acme_mailbox, eml())
    theirs = deliver(globex_mailbox, eml(to="help@globex.test", message_id="<g@client.example>"))
    User.objects.filter(pk=cast.other_agent.pk).update(is_staff=True)
    client.force_login(cast.other_agent)
    page = client.get("/admin/mail/inboundemail/")
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    assert [r.pk for r in page.context["cl"].result_list] == [theirs.pk]


def test_an_administrator_adds_a_mailbox_to_one_of_their_workspaces(client, cast):
    from comptoir.channels.email.models import Mailbox

    User.objects.filter(pk=cast.admin.pk).update(is_staff=True)
    client.force_login(cast.admin)
    response = client.post(
        "/admin/mail/mailbox/add/",
        {
            "address": "contact@acme.test",
            "display_name": "Acme",
            "workspace": cast.boutique.pk,
            "queue": cast.boutique_queue.pk,
            "is_active": "on",
            "imap_port": 993,
            "imap_security": "ssl",
            "imap_folder": "INBOX",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    mailbox = Mailbox.objects.get(address="contact@acme.test")
    assert mailbox.tenant_id == cast.tenant.pk
    # Another tenant's administrator sees no mailbox of ours.
    User.objects.filter(pk=cast.other_agent.pk).update(is_staff=True)
    client.force_login(cast.other_agent)
    page = client.get("/admin/mail/mailbox/")
    assert page.context["cl"].result_count == 0
