"""GET /api/v1/search: the search page's results as JSON, highlights as safe HTML."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from comptoir.api.auth import agent
from comptoir.api.schemas import ErrorOut, TicketItem, ValidationErrorOut, ticket_item
from comptoir.core.errors import DomainError
from comptoir.search.selectors import MAX_RESULTS, RECENT, RELEVANCE, search_tickets

router = Router(tags=["search"])


class SearchHitOut(Schema):
    ticket: TicketItem
    subject_html: str = Field(description="Subject, HTML-escaped, matches in <mark>.")
    requester_html: str = Field(description="Contact or requester name, escaped, in <mark>.")
    snippet_html: str = Field(description="Excerpt of the messages, escaped, matches in <mark>.")
    score: float = Field(description="Relevance (higher is better); 0 when sorted by date.")


class SearchOut(Schema):
    query: str
    sort: str
    page: int
    num_pages: int
    total: int = Field(description=f"Matching tickets, at most {MAX_RESULTS}.")
    capped: bool = Field(description=f"More than {MAX_RESULTS} matched: only the newest count.")
    notices: list[str] = Field(description="What of the query was left out, and why.")
    items: list[SearchHitOut]


@router.get(
    "/search",
    response={200: SearchOut, 422: ErrorOut | ValidationErrorOut},
    summary="Search tickets",
    description=(
        "Full-text search over subjects, messages (internal notes included) and contact "
        'names of the tickets the agent may see. Words must all match; "quoted phrases", '
        "`OR`, `-excluded` and `prefix*` are understood, anything else is read as text. "
        "422 when nothing searchable is left (empty query, only excluded or common words)."
    ),
)
def search(
    request: HttpRequest,
    q: str = Query(..., description="What to look for"),
    page: int = Query(1, ge=1, le=10_000),
    sort: str = Query(RELEVANCE, pattern=f"^({RELEVANCE}|{RECENT})$"),
    workspace: int | None = Query(None, description="Only this workspace"),
) -> dict[str, Any]:
    result = search_tickets(
        user=agent(request), query=q, page=page, sort=sort, workspace_id=workspace
    )
    if result.problem:
        raise DomainError(result.problem)
    return {
        "query": result.text,
        "sort": result.sort,
        "page": result.page,
        "num_pages": result.num_pages,
        "total": result.total,
        "capped": result.capped,
        "notices": list(result.notices),
        "items": [
            {
                "ticket": ticket_item(hit.ticket),
                "subject_html": str(hit.subject),
                "requester_html": str(hit.requester),
                "snippet_html": str(hit.snippet),
                "score": hit.score,
            }
            for hit in result.hits
        ],
    }
