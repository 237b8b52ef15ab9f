"""Contact routes: search (numbered pages), one contact, and creation."""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.errors import HttpError

from comptoir.accounts.rights import visible_workspace_ids
from comptoir.api.auth import agent
from comptoir.api.schemas import (
    ContactDetail,
    ContactIn,
    ContactPage,
    ErrorOut,
    ValidationErrorOut,
    contact_item,
    ref,
)
from comptoir.contacts.selectors import contact_get, contact_list, contact_tickets
from comptoir.contacts.services import contact_create

router = Router(tags=["contacts"])

CONTACT_TICKETS_SHOWN = 50


@router.get(
    "/contacts",
    response={200: ContactPage},
    summary="List or search contacts",
    description=(
        "Contacts of the agent's tenant, newest first. `search` matches first or last name, "
        "company (contains), or an email/phone (exact or prefix). Numbered pages: `page` "
        "from 1, `page_size` 1..100; `num_pages` says where to stop."
    ),
)
def contacts_list(
    request: HttpRequest,
    search: str = Query("", max_length=200),
    page: int = Query(1, ge=1),
    page_size: int = Query(25, ge=1, le=100),
) -> dict[str, Any]:
    qs = contact_list(user=agent(request), search=search)
    total = qs.count()
    num_pages = max(1, math.ceil(total / page_size))
    offset = (page - 1) * page_size
    items = list(qs[offset : offset + page_size]) if offset < total else []
    return {
        "items": [contact_item(c) for c in items],
        "page": page,
        "page_size": page_size,
        "total": total,
        "num_pages": num_pages,
    }


def _detail(request: HttpRequest, contact_id: int) -> dict[str, Any]:
    user = agent(request)
    contact = contact_get(user=user, contact_id=contact_id)
    tickets = contact_tickets(user=user, contact=contact)
    shown = list(tickets[:CONTACT_TICKETS_SHOWN])
    total = len(shown) if len(shown) < CONTACT_TICKETS_SHOWN else tickets.count()
    return {
        "id": contact.pk,
        "name": contact.full_name,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "company": contact.company,
        "language": contact.language,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "identities": [
            {"kind": i.kind, "value": i.value, "is_primary": i.is_primary}
            for i in contact.identities.all()
        ],
        "custom_fields": [
            {
                "key": v.field.key,
                "label": v.field.label,
                "field_type": v.field.field_type,
                "workspace_id": v.field.workspace_id,
                "value": v.value,
            }
            for v in contact.field_values.all()
        ],
        "tickets": [
            {
                "id": t.pk,
                "number": t.number,
                "subject": t.subject,
                "status": t.status,
                "channel": t.channel,
                "workspace": ref(t.workspace),
                "created_at": t.created_at,
            }
            for t in shown
        ],
        "tickets_total": total,
    }


@router.get(
    "/contacts/{contact_id}",
    response={200: ContactDetail, 404: ErrorOut},
    summary="Get a contact with identities, custom fields and tickets",
)
def contacts_detail(request: HttpRequest, contact_id: int) -> dict[str, Any]:
    return _detail(request, contact_id)


@router.post(
    "/contacts",
    response={201: ContactDetail, 403: ErrorOut, 409: ErrorOut, 422: ValidationErrorOut},
    summary="Create a contact",
    description="In the agent's tenant. An email or phone another contact has answers 409.",
)
def contacts_create(request: HttpRequest, payload: ContactIn) -> Status[dict[str, Any]]:
    user = agent(request)
    if user.tenant_id is None or not visible_workspace_ids(user):
        raise HttpError(403, "You hold no role in any workspace.")
    contact = contact_create(
        tenant=user.tenant,  # type: ignore[arg-type]
        first_name=payload.first_name,
        last_name=payload.last_name,
        company=payload.company,
        language=payload.language,
        emails=payload.emails,
        phones=payload.phones,
    )
    return Status(201, _detail(request, contact.pk))
