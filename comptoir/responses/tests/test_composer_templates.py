"""A template used from the composer: the service, the view and the API send what was kept."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from comptoir.accounts.models import Queue
from comptoir.accounts.services import token_create
from comptoir.api.tests.conftest import ApiClient
from comptoir.channels.email.delivery import outgoing_deliver
from comptoir.channels.email.models import OutgoingEmail
from comptoir.channels.email.replies import (
    ReplyConflict,
    newest_message_id,
    ticket_reply,
)
from comptoir.core.errors import DomainError
from comptoir.responses.models import HistoryLink, ResponseTemplate
from comptoir.responses.services import NewTemplateFile, template_create, template_set_active
from comptoir.testing.smtp_sink import smtp_sink_fixture  # noqa: F401
from comptoir.tickets.models import Message, MessageKind
from comptoir.tickets.services import message_add, ticket_create

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x02" * 16
BODY = (
    '<p>Bonjour {{contact.first_name}}, <a href="{{ticket.history_link}}">vos échanges</a>.'
    ' <img src="cid:logo@x"></p>'
)


@pytest.fixture
def template(cast) -> ResponseTemplate:
    return template_create(
        user=cast.admin,
        workspace=cast.boutique,
        name="Suivi",
        body_html=BODY,
        files=[
            NewTemplateFile("cgv.pdf", b"%PDF cgv", "application/pdf"),
            NewTemplateFile("tarifs.pdf", b"%PDF tarifs", "application/pdf"),
            NewTemplateFile("logo.png", PNG, "image/png", is_inline=True, content_id="logo@x"),
        ],
    )


def _ids(template: ResponseTemplate) -> dict[str, int]:
    return {a.filename: a.pk for a in template.attachments.all()}


def _sent_nothing(ticket) -> bool:
    return (
        not Message.objects.filter(ticket=ticket, kind=MessageKind.OUTBOUND).exists()
        and not OutgoingEmail.objects.exists()
        and not HistoryLink.objects.exists()
    )


def _agent_body() -> str:
    # What the composer posts: the rendered template, edited; the link kept as a placeholder.
    return (
        '<p>Bonjour Alice, voici <a href="{{ticket.history_link}}">vos échanges</a>.'
        ' <img src="cid:logo@x"></p><p>Carte : {{contact.first_name}}</p>'
    )


# Service ---------------------------------------------------------------------------------


def test_the_kept_files_are_attached_and_the_link_is_issued_at_send_time(
    cast, ticket, template, smtp_sink
):
    message_add(ticket=ticket, kind=MessageKind.INBOUND, body_text="Où est mon colis ?")
    ids = _ids(template)
    message = ticket_reply(
        ticket=ticket,
        author=cast.boutique_agent,
        body_html=_agent_body(),
        template_id=template.pk,
        template_attachment_ids=[ids["cgv.pdf"], ids["logo.png"]],
    )
    files = {(a.filename, a.is_inline, a.content_id) for a in message.attachments.all()}
    assert files == {("cgv.pdf", False, ""), ("logo.png", True, "logo@x")}
    link = HistoryLink.objects.get()
    assert link.message_id == message.pk
    assert link.cutoff_at == message.created_at
    outgoing = OutgoingEmail.objects.get(ticket_message=message)
    assert "{{" not in outgoing.body_html and "{{" not in outgoing.body_text
    # A field the agent typed is rendered too.
    assert "Carte : Alice" in outgoing.body_html
    url = re.search(r'href="([^"]+/h/[^"]+)"', outgoing.body_html)
    assert url is not None
    # The text version keeps the link's address.
    assert url.group(1) in outgoing.body_text
    assert outgoing_deliver(outgoing_id=outgoing.pk)
    mail = smtp_sink.parsed()
    related = next(p for p in mail.walk() if p.get_content_type() == "multipart/related")
    assert list(related.iter_parts())[1]["Content-ID"] == "<logo@x>"
    assert [p.get_filename() for p in mail.iter_attachments()] == ["cgv.pdf"]


def test_a_reply_without_the_placeholder_issues_no_link(cast, ticket, template):
    ticket_reply(
        ticket=ticket,
        author=cast.boutique_agent,
        body_html="<p>Bonjour, tout est en ordre.</p>",
        template_id=template.pk,
        template_attachment_ids=[],
    )
    assert not HistoryLink.objects.exists()


def test_a_refused_reply_issues_no_link(cast, ticket, template):
    seen = newest_message_id(ticket=ticket)
    message_add(ticket=ticket, kind=MessageKind.INBOUND, body_text="Et alors ?")
    with pytest.raises(ReplyConflict):
        ticket_reply(
            ticket=ticket,
            author=cast.boutique_agent,
            body_html=_agent_body(),
            template_id=template.pk,
            seen_message_id=seen,
        )
    assert _sent_nothing(ticket)


@pytest.mark.parametrize("case", ["other_workspace", "inactive", "out_of_scope", "unknown"])
def test_a_template_not_offered_on_the_ticket_is_refused(cast, ticket, template, case):
    if case == "other_workspace":
        template = template_create(
            user=cast.admin, workspace=cast.assurance, name="Sinistre", body_html="<p>x</p>"
        )
    elif case == "inactive":
        template_set_active(user=cast.admin, template=template, active=False)
    elif case == "out_of_scope":
        template = template_create(
            user=cast.admin,
            workspace=cast.boutique,
            name="Autre file",
            body_html="<p>x</p>",
            queue_ids=[cast.boutique_queue_2.pk],
        )
    template_id = template.pk + 1000 if case == "unknown" else template.pk
    with pytest.raises(DomainError, match="n'est plus disponible"):
        ticket_reply(
            ticket=ticket,
            author=cast.boutique_agent,
            body_html="<p>Bonjour</p>",
            template_id=template_id,
        )
    assert _sent_nothing(ticket)


def test_a_file_of_another_template_or_without_template_is_refused(cast, ticket, template):
    other = template_create(
        user=cast.admin,
        workspace=cast.boutique,
        name="Autre",
        body_html="<p>x</p>",
        files=[NewTemplateFile("secret.pdf", b"%PDF", "application/pdf")],
    )
    foreign = other.attachments.get().pk
    with pytest.raises(DomainError, match="inconnus"):
        ticket_reply(
            ticket=ticket,
            author=cast.boutique_agent,
            body_html="<p>Bonjour</p>",
            template_id=template.pk,
            template_attachment_ids=[foreign],
        )
    with pytest.raises(DomainError, match="sans leur modèle"):
        ticket_reply(
            ticket=ticket,
            author=cast.boutique_agent,
            body_html="<p>Bonjour</p>",
            template_attachment_ids=[foreign],
        )
    assert _sent_nothing(ticket)


def test_a_template_edited_after_the_composer_opened_sends_its_current_files(
    cast, ticket, template
):
    # The ids the composer kept still name files of the template: they are read at send time.
    ids = _ids(template)
    message = ticket_reply(
        ticket=ticket,
        author=cast.boutique_agent,
        body_html="<p>Ci-joint.</p>",
        template_id=template.pk,
        template_attachment_ids=[ids["tarifs.pdf"]],
    )
    assert [a.filename for a in message.attachments.all()] == ["tarifs.pdf"]


# View ------------------------------------------------------------------------------------


def test_the_composer_offers_active_templates_in_scope_only(cast, ticket, template, client):
    template_create(
        user=cast.admin, workspace=cast.assurance, name="Sinistre", body_html="<p>x</p>"
    )
    client.force_login(cast.boutique_agent)
    page = client.get(reverse("ticket_detail", args=[ticket.pk])).content.decode()
    assert "data-composer-template-select" in page
    assert f"/responses/templates/{template.pk}/render?ticket={ticket.pk}" in page
    assert "Sinistre" not in page
    template_set_active(user=cast.admin, template=template, active=False)
    page = client.get(reverse("ticket_detail", args=[ticket.pk])).content.decode()
    assert f"/responses/templates/{template.pk}/render" not in page
    assert "data-composer-template-select" not in page


def test_the_render_endpoint_names_the_missing_fields_for_the_agent(cast, ticket, template, client):
    client.force_login(cast.boutique_agent)
    template_update_body = "<p>{{agent.signature}} {{contact.first_name}}</p>"
    from comptoir.responses.services import template_update

    template_update(user=cast.admin, template=template, body_html=template_update_body)
    data = client.get(reverse("template_render", args=[template.pk]), {"ticket": ticket.pk}).json()
    assert data["missing_fields"] == ["agent.signature"]
    assert len(data["missing_labels"]) == 1 and data["missing_labels"][0] != "agent.signature"
    assert "{{" not in data["html"]


def test_the_view_sends_the_kept_template_files(cast, ticket, template, client):
    client.force_login(cast.boutique_agent)
    ids = _ids(template)
    response = client.post(
        reverse("ticket_reply", args=[ticket.pk]),
        {
            "mode": "reply",
            "body_html": _agent_body(),
            "template_id": template.pk,
            "template_attachment_ids": f"{ids['tarifs.pdf']} {ids['logo.png']}",
            "seen_message_id": newest_message_id(ticket=ticket),
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "ticket-replied"
    message = Message.objects.get(ticket=ticket, kind=MessageKind.OUTBOUND)
    assert sorted(a.filename for a in message.attachments.all()) == ["logo.png", "tarifs.pdf"]
    assert HistoryLink.objects.get().message_id == message.pk


def test_the_view_refuses_a_forged_template_and_keeps_the_draft(cast, ticket, client):
    foreign = template_create(
        user=cast.admin,
        workspace=cast.assurance,
        name="Sinistre",
        body_html="<p>x</p>",
        files=[NewTemplateFile("contrat.pdf", b"%PDF", "application/pdf")],
    )
    client.force_login(cast.boutique_agent)
    response = client.post(
        reverse("ticket_reply", args=[ticket.pk]),
        {
            "mode": "reply",
            "body_html": "<p>Mon brouillon</p>",
            "template_id": foreign.pk,
            "template_attachment_ids": str(foreign.attachments.get().pk),
        },
        HTTP_HX_REQUEST="true",
    )
    # htmx: 200 with only the errors, so the editor keeps the draft and its files.
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#reply-errors"
    assert "n&#x27;est plus disponible" in response.content.decode()
    assert _sent_nothing(ticket)
    # Without JavaScript: the page again, with the draft.
    response = client.post(
        reverse("ticket_reply", args=[ticket.pk]),
        {"body_html": "<p>Mon brouillon</p>", "template_id": foreign.pk},
    )
    assert response.status_code == 400
    assert "Mon brouillon" in response.content.decode()
    response = client.post(
        reverse("ticket_reply", args=[ticket.pk]),
        {"body_html": "<p>Mon brouillon</p>", "template_attachment_ids": "1 x"},
    )
    assert response.status_code == 400
    assert _sent_nothing(ticket)


def test_a_note_takes_the_kept_template_files_and_sends_nothing(cast, ticket, template, client):
    client.force_login(cast.boutique_agent)
    ids = _ids(template)
    response = client.post(
        reverse("ticket_reply", args=[ticket.pk]),
        {
            "mode": "note",
            "body_html": "<p>Modèle joint pour mémoire.</p>",
            "template_id": template.pk,
            "template_attachment_ids": str(ids["cgv.pdf"]),
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    note = Message.objects.get(ticket=ticket, kind=MessageKind.NOTE)
    assert [a.filename for a in note.attachments.all()] == ["cgv.pdf"]
    assert not OutgoingEmail.objects.exists()


# API -------------------------------------------------------------------------------------


def test_the_api_reply_sends_the_kept_template_files(cast, ticket, template):
    api = ApiClient(token_create(user=cast.boutique_agent, name="tests"))
    ids = _ids(template)
    response = api.post(
        f"/tickets/{ticket.pk}/reply",
        {
            "body_html": _agent_body(),
            "template_id": template.pk,
            "template_attachment_ids": [ids["cgv.pdf"], ids["logo.png"]],
        },
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert sorted(a["filename"] for a in data["attachments"]) == ["cgv.pdf", "logo.png"]
    assert "/h/" in data["body_html"] and "{{" not in data["body_html"]
    assert HistoryLink.objects.get().message_id == data["id"]


def test_the_api_refuses_a_forged_template_with_422(cast, ticket, template):
    api = ApiClient(token_create(user=cast.boutique_agent, name="tests"))
    template_set_active(user=cast.admin, template=template, active=False)
    response = api.post(
        f"/tickets/{ticket.pk}/reply",
        {"body_html": "<p>Bonjour</p>", "template_id": template.pk},
    )
    assert response.status_code == 422
    assert "n'est plus disponible" in response.json()["detail"]
    response = api.post(
        f"/tickets/{ticket.pk}/reply",
        {"body_html": "<p>Bonjour</p>", "template_attachment_ids": ["x"]},
    )
    assert response.status_code == 422
    assert _sent_nothing(ticket)


# The picker's cache ------------------------------------------------------------------


def _picker_names(user, ticket):
    from comptoir.responses.picker import template_choices_for_ticket

    return [c.name for c in template_choices_for_ticket(user=user, ticket=ticket)]


def test_the_picker_follows_template_changes_despite_its_cache(cast, django_assert_num_queries):
    from comptoir.responses.models import ResponseTemplate

    ticket = ticket_create(queue=cast.boutique_queue, channel="email", subject="Picker")
    agent = cast.boutique_agent
    assert _picker_names(agent, ticket) == []

    template = ResponseTemplate.objects.create(
        tenant=cast.tenant, workspace=cast.boutique, name="Accusé", body_html="<p>x</p>"
    )
    assert _picker_names(agent, ticket) == ["Accusé"]
    # Read again: from the cache, without a query (the agent's rights are already known).
    with django_assert_num_queries(0):
        assert _picker_names(agent, ticket) == ["Accusé"]

    other = Queue.objects.create(tenant=cast.tenant, workspace=cast.boutique, name="Autre")
    template.queues.set([other])  # now for another queue only
    assert _picker_names(agent, ticket) == []
    template.queues.set([])
    template.is_active = False
    template.save()
    assert _picker_names(agent, ticket) == []
    template.is_active = True
    template.save()
    assert _picker_names(agent, ticket) == ["Accusé"]
    template.delete()
    assert _picker_names(agent, ticket) == []


def test_a_team_template_is_offered_to_the_team_only(cast):
    from comptoir.accounts.models import Team
    from comptoir.responses.models import ResponseTemplate

    ticket = ticket_create(queue=cast.boutique_queue, channel="email", subject="Équipe")
    team = Team.objects.create(tenant=cast.tenant, workspace=cast.boutique, name="Retours")
    template = ResponseTemplate.objects.create(
        tenant=cast.tenant, workspace=cast.boutique, name="Retour colis", body_html="<p>x</p>"
    )
    template.teams.set([team])
    assert _picker_names(cast.boutique_agent, ticket) == []

    team.members.add(cast.boutique_agent)
    assert _picker_names(cast.boutique_agent, ticket) == ["Retour colis"]
