"""The `comptoir` command: run the desk, load demo data, issue API tokens, run a worker.

`comptoir run` is the one-process mode: uvicorn serves the web in the main thread while the
Huey consumer (workers and periodic scheduler) runs in background threads of the same
process. Scale-out deployments run `comptoir worker` and several uvicorns instead
(docs/deploy.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

# Where the demo receives mail (the Boutique workspace's support address).
DEMO_MAILBOX = "support@boutique.demo"

DEMO_LOGINS = (
    ("admin@demo.test", "demo", "administrator of both demo workspaces"),
    ("agent@boutique.demo", "demo", "agent of « Boutique en ligne »"),
    ("agent@assurance.demo", "demo", "agent of « Assurance »"),
)


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comptoir.settings")
    import django

    django.setup()


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="comptoir", description="Comptoir, a multichannel customer-service desk."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser(
        "run", help="migrate, load demo data on first run, serve web + worker in one process"
    )
    run.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    run.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    run.add_argument(
        "--no-demo", action="store_true", help="do not load demo data into an empty database"
    )
    run.add_argument(
        "--no-worker",
        action="store_true",
        help="serve the web only (background work then needs `comptoir worker`)",
    )
    run.add_argument("--workers", type=int, default=2, help="background worker threads (2)")
    run.add_argument(
        "--lmtp",
        default=os.environ.get("COMPTOIR_LMTP_LISTEN", "127.0.0.1:2525"),
        metavar="HOST:PORT",
        help="LMTP listener for incoming mail, 'off' to disable (127.0.0.1:2525)",
    )
    run.add_argument(
        "--imap",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="fetch the mail of mailboxes configured for IMAP",
    )

    sub.add_parser("demo", help="load the demo data (idempotent)")

    token = sub.add_parser("token", help="API tokens")
    token_sub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = token_sub.add_parser("create", help="print a new API token for an agent")
    create.add_argument("--email", required=True, help="the agent's email address")
    create.add_argument(
        "--name", default="", help="a label for the token (e.g. the script using it)"
    )

    # Everything after `manage` goes to Django untouched (see main); this entry is for --help.
    sub.add_parser("manage", help="Django's manage.py (e.g. `comptoir manage createsuperuser`)")

    worker = sub.add_parser("worker", help="the Huey consumer alone (background work)")
    worker.add_argument("--workers", type=int, default=2, help="worker threads (2)")
    worker.add_argument(
        "--periodic",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the periodic scheduler (exactly one consumer of a deployment should)",
    )
    from comptoir.channels.email.ingest_cli import add_mail_commands

    add_mail_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `comptoir` console script; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["manage"]:
        return _manage(args_list[1:])
    args = _build_parser().parse_args(args_list)
    if args.command == "run":
        return _run(
            host=args.host,
            port=args.port,
            demo=not args.no_demo,
            worker=not args.no_worker,
            workers=args.workers,
            lmtp=args.lmtp,
            imap=args.imap,
        )
    if args.command == "demo":
        return _demo()
    if args.command == "token":
        return _token_create(email=args.email, name=args.name)
    if args.command == "worker":
        return _worker(workers=args.workers, periodic=args.periodic)
    if args.command == "mail":
        _setup_django()
        from comptoir.channels.email.ingest_cli import mail_main

        return mail_main(args)
    raise AssertionError(args.command)  # argparse refuses unknown commands before this


def _manage(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comptoir.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["comptoir manage", *argv])
    return 0


def _demo_load() -> Any:
    """Call the demo loader, or None when this checkout has none."""
    try:
        from comptoir.testing.demo import demo_load
    except ImportError as exc:
        # Only a missing demo module is tolerated; a broken one must show its error.
        if exc.name not in ("comptoir.testing.demo",):
            raise
        return None
    return demo_load()


def _demo() -> int:
    _setup_django()
    summary = _demo_load()
    if summary is None:
        print("comptoir: this version has no demo data loader.", file=sys.stderr)
        return 1
    print(summary)
    if not getattr(summary, "created", True):
        _print_logins()
    return 0


def _token_create(*, email: str, name: str) -> int:
    _setup_django()
    from comptoir.accounts.models import User
    from comptoir.accounts.services import token_create

    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        print(f"comptoir: no agent has the email address {email!r}.", file=sys.stderr)
        return 1
    if not user.is_active:
        print(f"comptoir: the account {user.email} is deactivated.", file=sys.stderr)
        return 1
    print(token_create(user=user, name=name))
    return 0


def _migrate() -> int:
    """Apply pending migrations; returns how many were applied."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    if pending:
        print(f"Applying {pending} database migrations…", flush=True)
        call_command("migrate", interactive=False, verbosity=0)
    return pending


def _database_label() -> str:
    from django.db import connection

    vendor = connection.vendor
    name = connection.settings_dict["NAME"]
    if vendor == "sqlite":
        return f"SQLite ({name})"
    host = connection.settings_dict.get("HOST") or "local socket"
    return f"{vendor} (database {name} on {host})"


def _login_lines() -> list[str]:
    lines = ["  Demo logins (demo data only — never use these on a real deployment):"]
    for email, password, what in DEMO_LOGINS:
        lines.append(f"    {email:<24} password: {password:<6} {what}")
    return lines


def _print_logins() -> None:
    print("\n".join(_login_lines()))


def _banner(*, host: str, port: int, worker: bool, has_demo: bool, lmtp: str) -> str:
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    url = f"http://{shown_host}:{port}"
    background = "worker and scheduler in this process" if worker else "off (--no-worker)"
    lines = [
        "",
        "=" * 76,
        f"  Comptoir is running: {url}/",
        f"  Database:            {_database_label()}",
        f"  Background work:     {background}",
        f"  API docs:            {url}/api/v1/docs  (OpenAPI: {url}/api/v1/openapi.json)",
        "  API token:           comptoir token create --email AGENT_EMAIL",
        f"  Health:              {url}/healthz",
        *(
            [
                f"  Incoming mail:       LMTP on {lmtp}, e.g.",
                f"    swaks --server {lmtp} --protocol LMTP --from you@example.com "
                f"--to {DEMO_MAILBOX}",
            ]
            if lmtp
            else []
        ),
        f"  Outgoing mail:       {_outgoing_mail_label()}",
        *(_login_lines() if has_demo else []),
        "  Stop:                Ctrl+C (or SIGTERM)",
        "=" * 76,
    ]
    return "\n".join(lines)


def _outgoing_mail_label() -> str:
    from django.conf import settings

    if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
        return f"written to {settings.EMAIL_FILE_PATH} (set COMPTOIR_SMTP_HOST to send)"
    return f"{settings.EMAIL_BACKEND.rsplit('.', 2)[-2]} via {settings.EMAIL_HOST}"


def _consumer(*, workers: int, periodic: bool) -> Any:
    from django.utils.module_loading import autodiscover_modules
    from huey.contrib.djhuey import HUEY

    # Tasks live in each app's tasks.py; the consumer must import them to know them.
    autodiscover_modules("tasks")
    return HUEY.create_consumer(workers=workers, worker_type="thread", periodic=periodic)


def _start_mail_transports(*, lmtp: str, imap: bool) -> tuple[str, list[Callable[[], None]]]:
    """Start the LMTP listener and IMAP watchers; returns the LMTP address shown and stops."""
    stops: list[Callable[[], None]] = []
    listening = ""
    if lmtp and lmtp != "off":
        from comptoir.channels.email.lmtp import parse_listen, start_in_background

        try:
            stops.append(start_in_background(*parse_listen(lmtp)))
            listening = lmtp
        except (OSError, ValueError) as exc:
            # A taken port must not keep the desk from serving; say why mail is not heard.
            print(f"LMTP listener not started on {lmtp}: {exc}", flush=True)
    if imap:
        from comptoir.channels.email.imap import start_imap_watchers

        stops.append(start_imap_watchers())
    return listening, stops


def _run(
    *, host: str, port: int, demo: bool, worker: bool, workers: int, lmtp: str, imap: bool
) -> int:
    _setup_django()
    import uvicorn
    from django.db import connections

    from comptoir.accounts.models import Tenant

    _migrate()
    if demo and not Tenant.objects.exists():
        # "First run" is an empty database: a person who deleted the demo keeps it deleted.
        print("Loading demo data (first run)…", flush=True)
        summary = _demo_load()
        if summary is None:
            print("  (no demo data loader in this version; skipped)", flush=True)
        else:
            # The banner below lists the logins; the summary's first line is the news here.
            print(f"  {str(summary).splitlines()[0]}", flush=True)
    from comptoir.accounts.models import User

    has_demo = User.objects.filter(email__iexact=DEMO_LOGINS[0][0]).exists()
    # The web and the worker threads open their own connections; this one is done.
    connections.close_all()

    listening, transport_stops = _start_mail_transports(lmtp=lmtp, imap=imap)
    banner = _banner(host=host, port=port, worker=worker, has_demo=has_demo, lmtp=listening)

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if not self.should_exit:
                print(banner, flush=True)

    config = uvicorn.Config(
        "comptoir.asgi:application",
        host=host,
        port=port,
        lifespan="off",  # Django's ASGI handler has no lifespan protocol
        log_level="info",
    )
    server = Server(config)

    # uvicorn restores the handlers it found and re-raises the signal that stopped it; with
    # these in place that re-raise is harmless and we get to stop the consumer cleanly.
    stop_signals: list[int] = []

    def remember(sig: int, frame: FrameType | None) -> None:
        stop_signals.append(sig)

    previous = {sig: signal.signal(sig, remember) for sig in (signal.SIGINT, signal.SIGTERM)}
    consumer = None
    try:
        if worker:
            consumer = _consumer(workers=workers, periodic=True)
            # start(), not run(): run() blocks and start() ends by installing Huey's own
            # signal handlers, which uvicorn's would fight; ours stay in charge.
            consumer._set_signal_handlers = lambda: None
            consumer.start()
        try:
            server.run()
        except SystemExit:
            # uvicorn exits this way when it cannot listen (port taken, bad address).
            if server.started:
                raise
    finally:
        for stop in reversed(transport_stops):
            stop()
        if consumer is not None:
            consumer.stop(graceful=True)
            consumer.huey.notify_interrupted_tasks()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not server.started:
        print(
            f"comptoir: could not serve on {host}:{port} (see the error above); "
            "another port: comptoir run --port 8001",
            file=sys.stderr,
        )
        return 1
    print("Comptoir stopped.", flush=True)
    return 0


def _worker(*, workers: int, periodic: bool) -> int:
    _setup_django()
    import logging

    logger = logging.getLogger("huey")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s:%(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # the root logger's console handler would print it twice
    consumer = _consumer(workers=workers, periodic=periodic)
    consumer.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
