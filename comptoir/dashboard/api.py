"""`GET /api/v1/dashboard`: the dashboard page's figures, as numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from comptoir.api.auth import agent
from comptoir.api.schemas import ErrorOut
from comptoir.dashboard.selectors import Figures, dashboard_figures

router = Router(tags=["dashboard"])


class FiguresOut(Schema):
    new: int = Field(description="Tickets created today.")
    open: int = Field(description="Tickets not closed, now.")
    unassigned: int = Field(description="Open tickets with no assignee, now.")
    closed_today: int = Field(description="Tickets closed now whose closing happened today.")
    first_responses: int = Field(description="Tickets whose first reply was sent today.")
    median_first_response_seconds: float | None = Field(
        description="Median of (first reply - creation) over those tickets; null when none."
    )


class QueueFiguresOut(FiguresOut):
    id: int
    name: str


class WorkspaceFiguresOut(Schema):
    id: int
    name: str
    total: FiguresOut
    queues: list[QueueFiguresOut]


class ChannelSeriesOut(Schema):
    channel: str
    label: str
    counts: list[int] = Field(description="Tickets created each day, in the order of `days`.")


class ChartOut(Schema):
    days: list[dt.date]
    channels: list[ChannelSeriesOut]


class DashboardOut(Schema):
    date: dt.date = Field(description="Today, in `time_zone`.")
    time_zone: str
    generated_at: dt.datetime
    total: FiguresOut
    workspaces: list[WorkspaceFiguresOut]
    chart: ChartOut


def _figures(f: Figures) -> dict[str, Any]:
    return {
        "new": f.new,
        "open": f.open,
        "unassigned": f.unassigned,
        "closed_today": f.closed,
        "first_responses": f.first_responses,
        "median_first_response_seconds": f.median_first_response,
    }


@router.get(
    "/dashboard",
    response={200: DashboardOut, 404: ErrorOut},
    summary="Today's figures",
    description=(
        "Today's figures per workspace and queue (today is the local day of the server's "
        "time zone) and tickets created per day and channel over the last 30 days, for the "
        "workspaces the agent may see, or one of them. Definitions: docs/subsystems/dashboard.md."
    ),
)
def dashboard_get(
    request: HttpRequest,
    workspace: int | None = Query(None, description="Workspace id (default: all visible)"),
) -> dict[str, Any]:
    d = dashboard_figures(user=agent(request), workspace_id=workspace)
    return {
        "date": d.day,
        "time_zone": settings.TIME_ZONE,
        "generated_at": d.now,
        "total": _figures(d.total),
        "workspaces": [
            {
                "id": b.workspace_id,
                "name": b.name,
                "total": _figures(b.total),
                "queues": [
                    {"id": q.queue_id, "name": q.name, **_figures(q.figures)} for q in b.queues
                ],
            }
            for b in d.workspaces
        ],
        "chart": {
            "days": d.chart.days,
            "channels": [
                {"channel": s.channel, "label": s.label, "counts": s.counts} for s in d.chart.series
            ],
        },
    }
