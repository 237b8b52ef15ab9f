"""A small named cast for tests: two tenants, their workspaces, queues and agents.

Names say who is who: `cast.boutique_agent` works only in the "Boutique" workspace of
tenant "Acme"; `cast.other_agent` belongs to another tenant entirely.
"""

from __future__ import annotations

from dataclasses import dataclass

from comptoir.accounts.models import Queue, Tenant, User, Workspace
from comptoir.accounts.rights import RoleCode
from comptoir.accounts.services import (
    agent_create,
    membership_set,
    queue_create,
    team_create,
    tenant_create,
    workspace_create,
)
from comptoir.contacts.models import Contact
from comptoir.contacts.services import contact_create

PASSWORD = "correct horse battery"


@dataclass
class Cast:
    tenant: Tenant
    boutique: Workspace
    assurance: Workspace
    boutique_queue: Queue
    boutique_queue_2: Queue
    assurance_queue: Queue
    admin: User
    boutique_agent: User
    assurance_agent: User
    expert: User
    alice: Contact
    other_tenant: Tenant
    other_workspace: Workspace
    other_queue: Queue
    other_agent: User
    other_contact: Contact


def make_cast() -> Cast:
    """Create the cast in the current test database."""
    tenant = tenant_create(name="Acme", slug="acme")
    boutique = workspace_create(tenant=tenant, name="Boutique")
    assurance = workspace_create(tenant=tenant, name="Assurance")
    bq = queue_create(workspace=boutique, name="Commandes")
    bq2 = queue_create(workspace=boutique, name="Retours")
    aq = queue_create(workspace=assurance, name="Sinistres")
    admin = agent_create(
        tenant=tenant, email="admin@acme.test", password=PASSWORD, first_name="Ada", last_name="Min"
    )
    membership_set(user=admin, workspace=boutique, role=RoleCode.ADMINISTRATOR)
    membership_set(user=admin, workspace=assurance, role=RoleCode.ADMINISTRATOR)
    b_agent = agent_create(
        tenant=tenant,
        email="agent@boutique.test",
        password=PASSWORD,
        first_name="Bruno",
        last_name="Martin",
    )
    membership_set(user=b_agent, workspace=boutique, role=RoleCode.AGENT)
    a_agent = agent_create(
        tenant=tenant,
        email="agent@assurance.test",
        password=PASSWORD,
        first_name="Chloé",
        last_name="Durand",
    )
    membership_set(user=a_agent, workspace=assurance, role=RoleCode.AGENT)
    expert = agent_create(
        tenant=tenant, email="expert@acme.test", password=PASSWORD, first_name="Eve", last_name="X"
    )
    membership_set(user=expert, workspace=boutique, role=RoleCode.EXPERT)
    team_create(workspace=boutique, name="Niveau 1", members=[b_agent])
    alice = contact_create(
        tenant=tenant, first_name="Alice", last_name="Dupont", emails=["alice@example.com"]
    )

    other_tenant = tenant_create(name="Globex", slug="globex")
    other_ws = workspace_create(tenant=other_tenant, name="Globex Support")
    other_queue = queue_create(workspace=other_ws, name="General")
    other_agent = agent_create(tenant=other_tenant, email="agent@globex.test", password=PASSWORD)
    membership_set(user=other_agent, workspace=other_ws, role=RoleCode.ADMINISTRATOR)
    other_contact = contact_create(
        tenant=other_tenant, first_name="Otto", emails=["otto@globex.example"]
    )
    return Cast(
        tenant=tenant,
        boutique=boutique,
        assurance=assurance,
        boutique_queue=bq,
        boutique_queue_2=bq2,
        assurance_queue=aq,
        admin=admin,
        boutique_agent=b_agent,
        assurance_agent=a_agent,
        expert=expert,
        alice=alice,
        other_tenant=other_tenant,
        other_workspace=other_ws,
        other_queue=other_queue,
        other_agent=other_agent,
        other_contact=other_contact,
    )
