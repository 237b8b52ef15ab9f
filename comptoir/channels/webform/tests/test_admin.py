"""Web forms in the tenant-scoped admin: the code to paste, the tenant's own forms only."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from comptoir.accounts.models import User
from comptoir.channels.webform.models import WebForm
from comptoir.testing.cast import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, cast):
    User.objects.filter(pk=cast.admin.pk).update(is_staff=True)
    client.login(email=cast.admin.email, password=PASSWORD)
    return client


def test_the_change_page_shows_the_snippet_and_the_iframe_to_copy(admin_client, web_form):
    page = admin_client.get(reverse("admin:webform_webform_change", args=[web_form.pk]))
    assert page.status_code == 200
    body = html.unescape(page.content.decode())
    url = f"http://testserver/webform/{web_form.public_key}/"
    assert (
        f'<script src="http://testserver/static/webform/embed.js" data-comptoir-form="{url}" '
        "async></script>"
    ) in body
    assert f'<iframe src="{url}?embed=1"' in body
    assert f"POST http://testserver/api/v1/webform/{web_form.public_key}" in body


def test_a_form_created_in_the_admin_gets_a_key_and_its_workspaces_tenant(admin_client, cast):
    response = admin_client.post(
        reverse("admin:webform_webform_add"),
        {
            "title": "Nous écrire",
            "workspace": cast.boutique.pk,
            "queue": cast.boutique_queue.pk,
            "is_active": "on",
            "intro": "",
            "allowed_origins": "https://shop.example/\nHTTPS://Www.Shop.Example",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    web_form = WebForm.objects.get(title="Nous écrire")
    assert web_form.tenant_id == cast.tenant.pk
    assert len(web_form.public_key) >= 20
    assert web_form.origins == ["https://shop.example", "https://www.shop.example"]


def test_a_queue_of_another_workspace_or_a_bad_origin_is_refused(admin_client, cast):
    response = admin_client.post(
        reverse("admin:webform_webform_add"),
        {
            "title": "Mauvais",
            "workspace": cast.boutique.pk,
            "queue": cast.assurance_queue.pk,
            "is_active": "on",
            "allowed_origins": "shop.example/contact",
        },
    )
    assert response.status_code == 200
    assert not WebForm.objects.exists()
    body = html.unescape(response.content.decode())
    assert "shop.example/contact" in body


def test_another_tenants_form_cannot_be_opened(admin_client, cast):
    foreign = WebForm.objects.create(
        tenant=cast.other_tenant,
        workspace=cast.other_workspace,
        queue=cast.other_queue,
        title="Globex form",
    )
    listing = admin_client.get(reverse("admin:webform_webform_changelist")).content.decode()
    assert "Globex form" not in listing
    response = admin_client.get(reverse("admin:webform_webform_change", args=[foreign.pk]))
    assert response.status_code in (302, 404)


def test_the_custom_field_admin_shows_on_form(admin_client, custom_fields):
    page = admin_client.get(reverse("admin:contacts_customfield_changelist"))
    assert "column-on_form" in page.content.decode()
    change = admin_client.get(
        reverse("admin:contacts_customfield_change", args=[custom_fields["order"].pk])
    )
    assert 'name="on_form"' in change.content.decode()
