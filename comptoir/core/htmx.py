"""Render a whole page, or only one of its partials when htmx swaps a fragment."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_partial(request: HttpRequest) -> bool:
    """An htmx swap asks for the fragment; a history restore needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def render_page_or_partial(
    request: HttpRequest, template: str, partial: str, context: dict[str, Any]
) -> HttpResponse:
    """`template` for a normal request, `template#partial` for an htmx request."""
    name = f"{template}#{partial}" if wants_partial(request) else template
    response = render(request, name, context)
    # One URL answers either a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response
