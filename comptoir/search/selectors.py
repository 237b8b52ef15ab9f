"""Full-text search of tickets, scoped to the workspaces the acting user holds a role in."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.utils.safestring import SafeString

from comptoir.accounts.models import User
from comptoir.accounts.rights import visible_workspace_ids
from comptoir.search.backends import Highlight, SearchUnavailable, engine
from comptoir.search.marks import has_mark, marked
from comptoir.search.query import SearchQuery, parse_query
from comptoir.tickets.models import Ticket

RELEVANCE = "relevance"
RECENT = "recent"
SORTS = (RELEVANCE, RECENT)
PAGE_SIZE = 20
# Matches considered: the newest ones, ranked among themselves for "relevance". Beyond this,
# the agent is asked to refine rather than have every match of a common word ranked.
MAX_RESULTS = 500


@dataclass
class SearchHit:
    ticket: Ticket
    subject: SafeString
    requester: SafeString
    snippet: SafeString
    score: float


@dataclass
class SearchPage:
    text: str
    query: SearchQuery
    hits: list[SearchHit] = field(default_factory=list)
    page: int = 1
    page_size: int = PAGE_SIZE
    total: int = 0
    capped: bool = False  # more than MAX_RESULTS matched: `total` is MAX_RESULTS
    sort: str = RELEVANCE
    problem: str = ""

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def notices(self) -> tuple[str, ...]:
        return self.query.notices


def search_tickets(
    *,
    user: User,
    query: str,
    page: int = 1,
    sort: str = RELEVANCE,
    workspace_id: int | None = None,
    page_size: int = PAGE_SIZE,
) -> SearchPage:
    """One page of the tickets matching `query` among those `user` may see.

    Newest matches first (`recent`), or the newest MAX_RESULTS matches ranked by relevance
    (subject and names weigh more than messages). Never raises on what the agent typed:
    `problem` says why nothing could be searched, `query.notices` what was left out.
    """
    parsed = parse_query(query)
    sort = sort if sort in SORTS else RELEVANCE
    result = SearchPage(text=(query or "").strip(), query=parsed, sort=sort, page_size=page_size)
    if not parsed.is_searchable:
        result.problem = parsed.problem
        return result
    workspace_ids = visible_workspace_ids(user)
    if workspace_id is not None:
        workspace_ids = [w for w in workspace_ids if w == workspace_id]
    if not workspace_ids:
        return result
    try:
        backend = engine()
        prepared = backend.prepare(parsed)
        found = backend.candidates(
            prepared, workspace_ids, MAX_RESULTS + 1, ranked=sort == RELEVANCE
        )
    except SearchUnavailable as exc:
        result.problem = str(exc)
        return result
    result.capped = len(found) > MAX_RESULTS
    found = found[:MAX_RESULTS]
    if sort == RELEVANCE:
        # Ties (equal scores) keep the newest first.
        found.sort(key=lambda row: (-row[1], -row[0]))
    result.total = len(found)
    result.page = min(max(1, page), result.num_pages)
    start = (result.page - 1) * page_size
    shown = found[start : start + page_size]
    ids = [pk for pk, _score in shown]
    # The index said these match; the tickets table says (again) that the user may see them.
    tickets = Ticket.objects.filter(pk__in=ids, workspace_id__in=workspace_ids).select_related(
        "workspace", "queue", "contact", "assignee"
    )
    by_id = {t.pk: t for t in tickets}
    try:
        marks = backend.highlights(prepared, [pk for pk in ids if pk in by_id])
    except SearchUnavailable:
        marks = {}
    result.hits = [_hit(by_id[pk], marks.get(pk), score) for pk, score in shown if pk in by_id]
    return result


def _hit(ticket: Ticket, mark: Highlight | None, score: float) -> SearchHit:
    if mark is None:
        mark = Highlight(
            subject=ticket.subject,
            contact_name=ticket.contact.full_name if ticket.contact else "",
            company=ticket.contact.company if ticket.contact else "",
            requester_name=ticket.requester_name,
            snippet="",
        )
    if ticket.contact_id:
        requester = mark.contact_name.strip() or str(ticket.contact)
        if mark.company.strip() and has_mark(mark.company):
            requester = f"{requester} ({mark.company.strip()})"
    else:
        requester = mark.requester_name or ticket.requester_email
    return SearchHit(
        ticket=ticket,
        subject=marked(mark.subject or ticket.subject),
        requester=marked(requester),
        snippet=marked(" ".join(mark.snippet.split())),
        score=score,
    )
