"""Dashboard benchmark: the page and its API on a seeded database, on a full day of data.

    .venv/bin/python bench/dashboard.py --tickets 100000                  # SQLite
    .venv/bin/python bench/dashboard.py --tickets 1000000 --db postgresql # PostgreSQL

Seeds (or re-uses) the same database as bench/inbox.py, then times GET /dashboard/ (page,
all workspaces), GET /dashboard/?workspace=<id> and GET /api/v1/dashboard in this process
with Django's test client, the clock pinned to the end of the last full day of the seeded
data (the seed stops about an hour before it ran, so "now" would often be a nearly empty
day). Prints one JSON line; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inbox import ensure_seeded, log, percentile, prepare_environment  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tickets", type=int, required=True, help="number of tickets to seed")
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--db-url", default="", help="PostgreSQL URL (default: local comptoir_bench_N)")
    p.add_argument("--data-dir", default="", help="COMPTOIR_DATA_DIR (default: bench/inbox.py's)")
    p.add_argument("--requests", type=int, default=50, help="measured requests per page")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--reseed", action="store_true", help="drop the database and seed again")
    p.add_argument("--explain", action="store_true", help="print the query plans on stderr")
    args = p.parse_args()
    if args.db_url:
        args.db = "postgresql" if args.db_url.startswith("postgres") else "sqlite"
    return args


def pinned_now() -> datetime:
    """One second before local midnight of the newest seeded ticket's day: a full day."""
    from django.db.models import Max

    from comptoir.dashboard.selectors import local_day, local_midnight
    from comptoir.tickets.models import Ticket

    newest = Ticket.objects.aggregate(m=Max("created_at"))["m"]
    return local_midnight(local_day(newest)) - timedelta(seconds=1)


def timed(fn: Any, n: int, warmup: int) -> dict[str, Any]:
    """Wall-clock p50/p95, and p95 of this process's CPU time (steadier on a busy machine;
    it includes SQLite's work, which runs in the process, but not PostgreSQL's)."""
    timings: list[float] = []
    cpu: list[float] = []
    for i in range(warmup + n):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        if i >= warmup:
            timings.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    return {
        "p50": round(statistics.median(timings), 1),
        "p95": round(percentile(timings, 95), 1),
        "cpu_p95": round(percentile(cpu, 95), 1),
    }


def explain(user: Any, now: datetime) -> None:
    """Each query of dashboard_figures with its plan, on stderr."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from comptoir.dashboard.selectors import dashboard_figures

    with CaptureQueriesContext(connection) as ctx:
        dashboard_figures(user=user, now=now)
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
    for q in ctx.captured_queries:
        sql = q["sql"]
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cur:
            cur.execute(prefix + sql)
            plan = "\n    ".join(" ".join(str(c) for c in row) for row in cur.fetchall())
        log(f"{q['time']}s {sql[:160]}…\n    {plan}")


def main() -> None:
    args = parse_args()
    prepare_environment(args)
    info = ensure_seeded(args)
    import time_machine
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.seed import BENCH_EMAIL
    from comptoir.accounts.models import User
    from comptoir.accounts.rights import visible_workspace_ids
    from comptoir.accounts.services import token_create
    from comptoir.dashboard.selectors import dashboard_figures

    settings.ALLOWED_HOSTS = ["*"]
    user = User.objects.get(email=BENCH_EMAIL)
    now = pinned_now()
    token = token_create(user=user, name="bench-dashboard")
    workspace_id = visible_workspace_ids(user)[0]
    load_before = os.getloadavg()[0]
    with time_machine.travel(now, tick=True):
        figures = dashboard_figures(user=user, now=now)
        if args.explain:
            explain(user, now)
        client = Client()
        client.force_login(user)

        def page(url: str) -> Any:
            def get() -> None:
                response = client.get(url)
                if response.status_code != 200:
                    raise SystemExit(f"{url}: HTTP {response.status_code}")

            return get

        def api() -> None:
            response = client.get("/api/v1/dashboard", HTTP_AUTHORIZATION=f"Bearer {token}")
            if response.status_code != 200:
                raise SystemExit(f"API: HTTP {response.status_code}")

        n, w = args.requests, args.warmup
        results = {
            "page": timed(page("/dashboard/"), n, w),
            "page_workspace": timed(page(f"/dashboard/?workspace={workspace_id}"), n, w),
            "api": timed(api, n, w),
            "selector": timed(lambda: dashboard_figures(user=user, now=now), n, w),
        }
        with CaptureQueriesContext(connection) as ctx:
            client.get("/dashboard/")
    total = figures.total
    line: dict[str, Any] = {
        "tickets": args.tickets,
        "p95_ms": results["page"]["p95"],
        "db": args.db,
        "p50_ms": results["page"]["p50"],
        "cpu_p95_ms": results["page"]["cpu_p95"],
        "workspace_p95_ms": results["page_workspace"]["p95"],
        "api_p95_ms": results["api"]["p95"],
        "selector_p50_ms": results["selector"]["p50"],
        "selector_p95_ms": results["selector"]["p95"],
        "queries": len(ctx.captured_queries),
        "now": now.isoformat(),
        "today": {
            "new": total.new,
            "open": total.open,
            "unassigned": total.unassigned,
            "closed": total.closed,
            "first_responses": total.first_responses,
            "chart_tickets": sum(s.total for s in figures.chart.series),
        },
        "messages": info.get("messages"),
        # Other work on this 2-core machine skews timings: say how busy it was.
        "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
