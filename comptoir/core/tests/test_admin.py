from __future__ import annotations

import pytest
from django.urls import reverse

from comptoir.accounts.models import User, Workspace
from comptoir.testing.cast import PASSWORD


@pytest.fixture
def tenant_admin_client(client, cast):
    User.objects.filter(pk=cast.admin.pk).update(is_staff=True)
    client.login(email=cast.admin.email, password=PASSWORD)
    return client


def test_tenant_administrator_sees_only_its_tenant(tenant_admin_client, cast):
    page = tenant_admin_client.get(reverse("admin:accounts_workspace_changelist"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Boutique" in body and "Assurance" in body
    assert "Globex" not in body
    agents = tenant_admin_client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "agent@boutique.test" in agents and "agent@globex.test" not in agents


@pytest.mark.parametrize(
    "name, attr",
    [
        ("accounts_workspace", "other_workspace"),
        ("accounts_queue", "other_queue"),
        ("accounts_user", "other_agent"),
        ("accounts_tenant", "other_tenant"),
        ("contacts_contact", "other_contact"),
    ],
)
def test_foreign_objects_cannot_be_opened_in_the_admin(tenant_admin_client, cast, name, attr):
    url = reverse(f"admin:{name}_change", args=[getattr(cast, attr).pk])
    response = tenant_admin_client.get(url)
    # Django's admin redirects to its index with "doesn't exist" for objects outside the
    # queryset; either way the page never shows the object.
    assert response.status_code in (302, 404)
    assert str(getattr(cast, attr)) not in response.content.decode()


def test_workspace_created_by_a_tenant_admin_lands_in_its_tenant(tenant_admin_client, cast):
    response = tenant_admin_client.post(
        reverse("admin:accounts_workspace_add"),
        {
            "name": "SAV",
            "slug": "sav",
            "is_active": "on",
            "queues-TOTAL_FORMS": "1",
            "queues-INITIAL_FORMS": "0",
            "queues-0-name": "Général",
            "queues-0-is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ws = Workspace.objects.get(slug="sav")
    assert ws.tenant == cast.tenant
    assert ws.queues.get().tenant == cast.tenant
    assert ws.memberships.get().user == cast.admin


def test_agents_without_staff_status_cannot_enter_the_admin(client, cast):
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
