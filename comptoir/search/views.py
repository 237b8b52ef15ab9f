"""The search page: full page, or its results only when htmx asks (typing in the top bar)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from comptoir.core.htmx import render_page_or_partial
from comptoir.search.query import parse_query
from comptoir.search.selectors import RECENT, RELEVANCE, SearchPage, search_tickets


def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """Tickets matching ?q=, highlighted; ?sort=relevance|recent, ?page=N."""
    text = request.GET.get("q", "")
    sort = request.GET.get("sort") or RELEVANCE
    if text.strip():
        result = search_tickets(
            user=request.user,  # type: ignore[arg-type]
            query=text,
            page=_page_number(request.GET.get("page")),
            sort=sort,
        )
    else:
        # No search yet: the page explains what can be searched, without an error.
        result = SearchPage(text="", query=parse_query(""), sort=sort)
    context = {
        "result": result,
        "search_query": text,
        "sorts": [(RELEVANCE, "relevance"), (RECENT, "recent")],
    }
    return render_page_or_partial(request, "search/search.html", "search-results", context)
