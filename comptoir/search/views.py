"""Agent pages of the search."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """Placeholder until the page is built."""
    return HttpResponse("")
