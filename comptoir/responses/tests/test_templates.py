"""Templates: services (rights, scope, merge fields, images), management pages, render, API."""

from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from comptoir.accounts.models import Team
from comptoir.accounts.services import token_create
from comptoir.core.errors import DomainError, NotAllowed
from comptoir.responses.merge import UnknownMergeFields
from comptoir.responses.models import ResponseTemplate, ResponseTemplateAttachment
from comptoir.responses.selectors import template_list, templates_for_ticket
from comptoir.responses.services import (
    NewTemplateFile,
    template_create,
    template_delete,
    template_files_for_message,
    template_set_active,
    template_update,
)
from comptoir.testing.cast import PASSWORD
from comptoir.tickets.services import ticket_create

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 32


def _make(cast, name="Retard", body="<p>Bonjour {{contact.first_name}}</p>", **kw):
    return template_create(
        user=cast.admin, workspace=cast.boutique, name=name, body_html=body, **kw
    )


# Services -------------------------------------------------------------------------------


def test_a_manager_creates_a_template_with_sanitized_html_and_files(cast):
    t = _make(
        cast,
        body='<p onclick="x()">Bonjour {{contact.first_name}}<script>bad()</script> '
        '<a href="https://example.com/suivi">suivi</a></p>',
        files=[NewTemplateFile("cgv.pdf", b"%PDF cgv", "application/pdf")],
    )
    assert "onclick" not in t.body_html and "<script>" not in t.body_html
    assert 'href="https://example.com/suivi"' in t.body_html
    assert "{{contact.first_name}}" in t.body_html
    a = t.attachments.get()
    assert a.filename == "cgv.pdf" and a.size == 8 and not a.is_inline
    assert a.file.name.startswith(f"template-attachments/{cast.tenant.pk}/")


def test_an_agent_without_the_right_may_not_manage_templates(cast):
    with pytest.raises(NotAllowed):
        template_create(
            user=cast.boutique_agent, workspace=cast.boutique, name="x", body_html="<p>x</p>"
        )
    t = _make(cast)
    for call in (
        lambda: template_update(user=cast.boutique_agent, template=t, name="y"),
        lambda: template_set_active(user=cast.boutique_agent, template=t, active=False),
        lambda: template_delete(user=cast.boutique_agent, template=t),
    ):
        with pytest.raises(NotAllowed):
            call()


def test_unknown_merge_fields_are_refused_at_save(cast):
    with pytest.raises(UnknownMergeFields) as exc:
        _make(cast, body="<p>{{contact.nickname}}</p>")
    assert "{{contact.nickname}}" in str(exc.value)
    assert not ResponseTemplate.objects.exists()
    t = _make(cast)
    with pytest.raises(UnknownMergeFields):
        template_update(user=cast.admin, template=t, body_html="{{ticket.secret}}")
    t.refresh_from_db()
    assert "{{contact.first_name}}" in t.body_html


def test_a_name_is_required_and_scope_must_be_of_the_workspace(cast):
    with pytest.raises(DomainError):
        _make(cast, name="   ")
    with pytest.raises(DomainError):
        _make(cast, queue_ids=[cast.assurance_queue.pk])


def test_embedded_images_become_inline_attachments_and_unused_ones_go(cast):
    data = base64.b64encode(PNG).decode()
    t = _make(cast, body=f'<p>Logo <img src="data:image/png;base64,{data}" alt="logo"></p>')
    image = t.attachments.get()
    assert image.is_inline and image.content_type == "image/png"
    assert f'src="cid:{image.content_id}"' in t.body_html
    assert "data:" not in t.body_html
    template_update(user=cast.admin, template=t, body_html="<p>Plus d'image</p>")
    assert not t.attachments.exists()


def test_editor_image_urls_are_stored_back_as_cid(cast):
    from comptoir.responses.services import body_for_editor

    t = _make(
        cast,
        body='<p><img src="cid:logo@x"></p>',
        files=[NewTemplateFile("logo.png", PNG, "image/png", is_inline=True, content_id="logo@x")],
    )
    editor = body_for_editor(t)
    a = t.attachments.get()
    assert f'src="/responses/attachments/{a.pk}/"' in editor and 'data-cid="logo@x"' in editor
    template_update(user=cast.admin, template=t, body_html=editor)
    t.refresh_from_db()
    assert 'src="cid:logo@x"' in t.body_html
    assert t.attachments.count() == 1


def test_removing_an_attachment_and_deactivating(cast):
    t = _make(cast, files=[NewTemplateFile("a.txt", b"a", "text/plain")])
    template_update(user=cast.admin, template=t, remove_attachment_ids=[t.attachments.get().pk])
    assert not t.attachments.exists()
    template_set_active(user=cast.admin, template=t, active=False)
    t.refresh_from_db()
    assert not t.is_active


def test_files_for_a_message_keep_inline_ids_and_skip_removed_ones(cast):
    t = _make(
        cast,
        body='<p><img src="cid:logo@x"></p>',
        files=[
            NewTemplateFile("cgv.pdf", b"%PDF", "application/pdf"),
            NewTemplateFile("logo.png", PNG, "image/png", is_inline=True, content_id="logo@x"),
        ],
    )
    pdf = t.attachments.get(filename="cgv.pdf")
    files = template_files_for_message(t)
    assert [(f.filename, f.is_inline, f.content_id) for f in files] == [
        ("cgv.pdf", False, ""),
        ("logo.png", True, "logo@x"),
    ]
    assert [f.filename for f in template_files_for_message(t, exclude_ids=[pdf.pk])] == ["logo.png"]


# Selectors: list, search, scope -----------------------------------------------------------


def test_list_is_per_managed_workspace_with_search(cast):
    _make(cast, name="Retard de livraison")
    _make(cast, name="Remboursement", body="<p>Votre avoir</p>")
    template_create(
        user=cast.admin, workspace=cast.assurance, name="Sinistre", body_html="<p>x</p>"
    )
    assert [t.name for t in template_list(user=cast.admin, workspace_id=cast.boutique.pk)] == [
        "Remboursement",
        "Retard de livraison",
    ]
    assert [t.name for t in template_list(user=cast.admin, search="avoir")] == ["Remboursement"]
    assert list(template_list(user=cast.boutique_agent)) == []
    assert list(template_list(user=cast.other_agent)) == []


def test_the_picker_offers_active_templates_in_scope(cast):
    ticket = ticket_create(queue=cast.boutique_queue, channel="email", subject="x")
    team = Team.objects.get(name="Niveau 1")  # Bruno is a member
    everywhere = _make(cast, name="A partout")
    this_queue = _make(cast, name="B commandes", queue_ids=[cast.boutique_queue.pk])
    other_queue = _make(cast, name="C retours", queue_ids=[cast.boutique_queue_2.pk])
    for_team = _make(cast, name="D équipe", team_ids=[team.pk])
    inactive = _make(cast, name="E inactif")
    template_set_active(user=cast.admin, template=inactive, active=False)
    template_create(user=cast.admin, workspace=cast.assurance, name="F assurance", body_html="x")
    offered = templates_for_ticket(user=cast.boutique_agent, ticket=ticket)
    assert offered == [everywhere, this_queue, for_team]
    assert other_queue not in offered
    # The expert is in no team: the team's template is not offered to them.
    assert templates_for_ticket(user=cast.expert, ticket=ticket) == [everywhere, this_queue]
    assert templates_for_ticket(user=cast.other_agent, ticket=ticket) == []


# Management pages ------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, cast):
    client.login(email=cast.admin.email, password=PASSWORD)
    return client


def test_the_list_page_searches_and_switches_with_htmx(admin_client, cast):
    t = _make(cast, name="Retard")
    _make(cast, name="Autre")
    page = admin_client.get("/responses/templates/")
    assert page.status_code == 200 and "Retard" in page.content.decode()
    partial = admin_client.get("/responses/templates/?q=Ret", HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert 'id="template-results"' in html and "Retard" in html and "Autre" not in html
    assert "<html" not in html
    switched = admin_client.post(
        f"/responses/templates/{t.pk}/active/", {"active": "0"}, HTTP_HX_REQUEST="true"
    )
    assert switched.status_code == 200
    assert 'aria-checked="false"' in switched.content.decode()
    assert switched.content.decode().lstrip().startswith("<tr")
    t.refresh_from_db()
    assert not t.is_active
    plain = admin_client.post(f"/responses/templates/{t.pk}/active/", {"active": "1"})
    assert plain.status_code == 302
    t.refresh_from_db()
    assert t.is_active


def test_the_pages_are_for_managers_only(client, cast):
    t = _make(cast)
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    assert client.get("/responses/templates/").status_code == 403
    assert client.get(f"/responses/templates/{t.pk}/").status_code == 403
    assert client.post(f"/responses/templates/{t.pk}/active/", {"active": "0"}).status_code == 403
    assert "/responses/templates/" not in client.get("/").content.decode()
    client.login(email=cast.other_agent.email, password=PASSWORD)
    assert client.get(f"/responses/templates/{t.pk}/").status_code == 404


def test_the_nav_shows_templates_to_managers(admin_client):
    assert 'href="/responses/templates/"' in admin_client.get("/").content.decode()


def test_adding_a_template_through_the_form(admin_client, cast, fields):
    response = admin_client.post(
        f"/responses/templates/new/?workspace={cast.boutique.pk}",
        {
            "workspace": cast.boutique.pk,
            "name": "Bienvenue",
            "body_html": "<p>Bonjour {{contact.first_name}} {{contact.custom.loyalty}} "
            '<a href="https://example.com">lien</a> '
            '<img src="cid:img-0123456789abcdef@comptoir"></p>',
            "queues": [cast.boutique_queue.pk],
            "attachments": [SimpleUploadedFile("cgv.pdf", b"%PDF", "application/pdf")],
            "inline_images": [
                SimpleUploadedFile("img-0123456789abcdef@comptoir.png", PNG, "image/png")
            ],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    t = ResponseTemplate.objects.get(name="Bienvenue")
    assert list(t.queues.all()) == [cast.boutique_queue]
    assert {(a.filename, a.is_inline) for a in t.attachments.all()} == {
        ("cgv.pdf", False),
        ("image.png", True),
    }
    assert 'src="cid:img-0123456789abcdef@comptoir"' in t.body_html
    edit = admin_client.get(f"/responses/templates/{t.pk}/").content.decode()
    assert "contact.custom.loyalty" in edit  # the picker offers the custom field
    assert "/responses/attachments/" in edit


def test_an_unknown_field_shows_the_form_again_with_the_error(admin_client, cast):
    response = admin_client.post(
        "/responses/templates/new/",
        {
            "workspace": cast.boutique.pk,
            "name": "Faux",
            "body_html": "<p>Bonjour {{contact.surnom}}</p>",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "{{contact.surnom}}" in html and "alert--error" in html
    assert not ResponseTemplate.objects.exists()


def test_editing_changes_the_next_use(admin_client, cast):
    t = _make(cast, files=[NewTemplateFile("a.txt", b"a", "text/plain")])
    response = admin_client.post(
        f"/responses/templates/{t.pk}/",
        {
            "name": "Nouveau nom",
            "body_html": "<p>Texte modifié {{ticket.number}}</p>",
            "remove_attachments": [t.attachments.get().pk],
        },
    )
    assert response.status_code == 302
    t.refresh_from_db()
    assert t.name == "Nouveau nom" and "Texte modifié" in t.body_html
    assert not t.attachments.exists()


def test_delete_from_the_edit_page(admin_client, cast):
    t = _make(cast)
    assert admin_client.post(f"/responses/templates/{t.pk}/delete/").status_code == 302
    assert not ResponseTemplate.objects.filter(pk=t.pk).exists()


# Rendering for a ticket ------------------------------------------------------------------


def test_render_endpoint_returns_the_filled_template_for_the_composer(client, cast, ticket):
    t = _make(
        cast,
        body="<p>Bonjour {{contact.first_name}}, {{agent.signature}} "
        '<a href="{{ticket.history_link}}">historique</a> <img src="cid:logo@x"></p>',
        files=[
            NewTemplateFile("cgv.pdf", b"%PDF", "application/pdf"),
            NewTemplateFile("logo.png", PNG, "image/png", is_inline=True, content_id="logo@x"),
        ],
    )
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    data = client.get(f"/responses/templates/{t.pk}/render?ticket={ticket.pk}").json()
    assert "Bonjour Alice" in data["html"] and "Bonjour Alice" in data["text"]
    assert data["missing_fields"] == ["agent.signature"]
    assert data["deferred_fields"] == ["ticket.history_link"]
    assert [(a["filename"], a["inline"], a["content_id"]) for a in data["attachments"]] == [
        ("cgv.pdf", False, ""),
        ("logo.png", True, "logo@x"),
    ]
    logo = data["attachments"][1]
    assert client.get(logo["url"]).status_code == 200
    picker = client.get(f"/responses/tickets/{ticket.pk}/templates/").json()
    assert [p["id"] for p in picker["templates"]] == [t.pk]
    template_set_active(user=cast.admin, template=t, active=False)
    assert client.get(f"/responses/tickets/{ticket.pk}/templates/").json()["templates"] == []
    assert client.get(f"/responses/templates/{t.pk}/render?ticket={ticket.pk}").status_code == 404


def test_render_refuses_a_template_of_another_workspace(client, cast, ticket):
    t = template_create(user=cast.admin, workspace=cast.assurance, name="A", body_html="x")
    client.login(email=cast.admin.email, password=PASSWORD)
    assert client.get(f"/responses/templates/{t.pk}/render?ticket={ticket.pk}").status_code == 404


# API ---------------------------------------------------------------------------------------


@pytest.fixture
def api(client, cast):
    key = token_create(user=cast.admin)

    def call(method, url, data=None):
        return client.generic(
            method,
            url,
            data="{}" if data is None else __import__("json").dumps(data),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )

    return call


def test_api_crud_with_base64_attachments(api, cast):
    created = api(
        "POST",
        "/api/v1/templates",
        {
            "workspace_id": cast.boutique.pk,
            "name": "API",
            "body_html": '<p>Bonjour {{contact.first_name}} <img src="cid:logo@api"></p>',
            "queue_ids": [cast.boutique_queue.pk],
            "attachments": [
                {
                    "filename": "cgv.pdf",
                    "content_base64": base64.b64encode(b"%PDF").decode(),
                    "content_type": "application/pdf",
                },
                {
                    "filename": "logo.png",
                    "content_base64": base64.b64encode(PNG).decode(),
                    "content_type": "image/png",
                    "inline": True,
                    "content_id": "logo@api",
                },
            ],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["queue_ids"] == [cast.boutique_queue.pk]
    assert len(body["attachments"]) == 2
    tid = body["id"]
    assert api("GET", f"/api/v1/templates/{tid}").json()["name"] == "API"
    assert [
        t["id"] for t in api("GET", f"/api/v1/templates?workspace={cast.boutique.pk}").json()
    ] == [tid]
    pdf_id = next(a["id"] for a in body["attachments"] if a["filename"] == "cgv.pdf")
    patched = api(
        "PATCH",
        f"/api/v1/templates/{tid}",
        {"name": "API 2", "is_active": False, "remove_attachment_ids": [pdf_id]},
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "API 2" and patched.json()["is_active"] is False
    assert [a["filename"] for a in patched.json()["attachments"]] == ["logo.png"]
    assert api("DELETE", f"/api/v1/templates/{tid}").status_code == 204
    assert api("GET", f"/api/v1/templates/{tid}").status_code == 404


def test_api_refuses_unknown_fields_and_bad_rights(api, client, cast):
    refused = api(
        "POST",
        "/api/v1/templates",
        {"workspace_id": cast.boutique.pk, "name": "X", "body_html": "{{contact.x}}"},
    )
    assert refused.status_code == 422 and "{{contact.x}}" in refused.json()["detail"]
    t = _make(cast)
    key = token_create(user=cast.boutique_agent)
    response = client.patch(
        f"/api/v1/templates/{t.pk}",
        data={"name": "z"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 403


def test_api_preview_for_a_ticket(client, cast, ticket):
    t = _make(cast)
    key = token_create(user=cast.boutique_agent)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    data = client.get(f"/api/v1/templates/{t.pk}/render?ticket_id={ticket.pk}", **auth).json()
    assert data["html"] == "<p>Bonjour Alice</p>"
    listed = client.get(f"/api/v1/tickets/{ticket.pk}/templates", **auth).json()
    assert listed == [{"id": t.pk, "name": "Retard"}]


def test_template_attachment_rows_belong_to_the_tenant(cast):
    t = _make(cast, files=[NewTemplateFile("a.txt", b"a", "text/plain")])
    assert ResponseTemplateAttachment.objects.get(template=t).tenant_id == cast.tenant.pk
