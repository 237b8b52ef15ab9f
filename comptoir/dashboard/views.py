"""The dashboard page: today's figures per workspace and queue, and the 30-day chart."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_GET

from comptoir.accounts.models import User
from comptoir.accounts.selectors import workspace_list
from comptoir.core.errors import NotFound
from comptoir.core.htmx import render_page_or_partial
from comptoir.dashboard.formatting import format_count, format_duration
from comptoir.dashboard.selectors import Dashboard, Figures, dashboard_figures

# Colour of each channel's bars: distinct hues, each at least 3:1 against white.
CHANNEL_COLOURS = {
    "email": "#1f5fbf",
    "webform": "#2e8540",
    "portal": "#8a4fbf",
    "chat": "#c2410c",
    "phone": "#0f766e",
    "sms": "#b42318",
    "whatsapp": "#4d7c0f",
    "mobile_app": "#6b7280",
}


def workspace_param(value: str | None) -> int | None:
    """The `workspace` query parameter; anything but a positive integer means "all"."""
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if number > 0 else None


def _row(name: str, f: Figures) -> dict[str, Any]:
    return {
        "name": name,
        "new": format_count(f.new),
        "open": format_count(f.open),
        "unassigned": format_count(f.unassigned),
        "closed": format_count(f.closed),
        "median": format_duration(f.median_first_response),
        "responses": f.first_responses,
    }


def _chart_context(d: Dashboard) -> dict[str, Any]:
    chart = d.chart
    labels = [date_format(day, "MONTH_DAY_FORMAT") for day in chart.days]
    data = {
        "labels": labels,
        "datasets": [
            {
                "label": s.label,
                "channel": s.channel,
                "data": s.counts,
                "backgroundColor": CHANNEL_COLOURS.get(s.channel, "#6b7280"),
            }
            for s in chart.series
        ],
    }
    totals = chart.day_totals
    rows = [
        {
            "day": date_format(day, "SHORT_DATE_FORMAT"),
            "iso": day.isoformat(),
            "counts": [format_count(s.counts[i]) for s in chart.series],
            "total": format_count(totals[i]),
        }
        for i, day in enumerate(chart.days)
    ]
    return {
        "chart_data": data,
        "chart_series": chart.series,
        "chart_rows": rows,
        "chart_total": format_count(sum(totals)),
        "chart_series_totals": [format_count(s.total) for s in chart.series],
        "chart_first": date_format(chart.days[0], "SHORT_DATE_FORMAT"),
        "chart_last": date_format(chart.days[-1], "SHORT_DATE_FORMAT"),
    }


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Today's figures for the workspaces the agent may see; htmx refreshes the body."""
    user = cast(User, request.user)
    workspace_id = workspace_param(request.GET.get("workspace"))
    try:
        d = dashboard_figures(user=user, workspace_id=workspace_id)
    except NotFound:
        raise Http404 from None
    workspaces = list(workspace_list(user=user))
    blocks = [
        {
            "id": b.workspace_id,
            "name": b.name,
            "queues": [_row(q.name, q.figures) for q in b.queues],
            "total": _row(b.name, b.total),
        }
        for b in d.workspaces
    ]
    context = {
        "dashboard": d,
        "day_label": date_format(d.day, "DATE_FORMAT"),
        "updated_label": date_format(timezone.localtime(d.now), "TIME_FORMAT"),
        "updated_iso": d.now.isoformat(),
        "workspaces": workspaces,
        "workspace_id": workspace_id,
        "blocks": blocks,
        **_chart_context(d),
    }
    return render_page_or_partial(request, "dashboard/dashboard.html", "dashboard-body", context)
