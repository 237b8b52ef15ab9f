"""Seed a benchmark database fast: N tickets, ~10 messages and ~2.7 history events each.

The organisation (tenants, workspaces, queues, agents) is made through the services; the
bulk (contacts, tickets, messages, events) is written with raw multi-row inserts on SQLite
and COPY on PostgreSQL, with secondary indexes dropped during the load and rebuilt after,
then the inbox counts are rebuilt with `counts_rebuild()`. Django must be set up already.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.utils.html import escape

BENCH_PASSWORD = "bench"
BENCH_EMAIL = "bench@bench.test"
BATCH_TICKETS = 10_000
SPAN_DAYS = 730

FIRST = ["Camille", "Léa", "Hugo", "Lucas", "Chloé", "Inès", "Jules", "Théo", "Émilie", "Louis"]
LAST = ["Martin", "Bernard", "Durand", "Dubois", "Moreau", "Lefèvre", "Roux", "Fournier"]
COMPANIES = ["", "", "Garage du Centre", "Pharmacie des Halles", "Hôtel du Parc", "SARL Bois"]
SUBJECTS = [
    "Commande {n} non reçue",
    "Colis endommagé (commande {n})",
    "Remboursement non reçu pour la commande {n}",
    "Dégât des eaux, contrat {n}",
    "Attestation d'assurance habitation",
    "Résiliation du contrat {n}",
    "Changement d'adresse de livraison",
    "Question sur ma facture {n}",
]
SENTENCES = [
    "Bonjour, je reviens vers vous au sujet de ma demande.",
    "J'ai passé la commande il y a dix jours et je n'ai toujours rien reçu.",
    "Pouvez-vous me dire où en est le traitement de mon dossier ?",
    "Le colis est arrivé ouvert et l'article à l'intérieur est abîmé.",
    "Merci de m'indiquer la marche à suivre pour obtenir un remboursement.",
    "Nous avons bien pris en compte votre demande et revenons vers vous rapidement.",
    "Je vous joins le constat amiable rempli et signé par les deux parties.",
    "Votre dossier a été transmis au service concerné, qui vous contactera sous 48 heures.",
    "Pourriez-vous nous transmettre une photo du produit et votre numéro de commande ?",
    "Cordialement, et merci pour votre patience.",
]
CHANNELS = [
    ("email", 40),
    ("webform", 15),
    ("portal", 10),
    ("chat", 10),
    ("phone", 10),
    ("sms", 5),
    ("whatsapp", 6),
    ("mobile_app", 4),
]
STATUSES = [
    ("new", 5),
    ("to_process", 10),
    ("awaiting_expert", 3),
    ("awaiting_external", 2),
    ("awaiting_contact", 10),
    ("closed", 70),
]


@dataclass
class Org:
    tenant_id: int
    workspace_ids: list[int]
    queues: dict[int, list[int]]  # workspace id -> queue ids
    agents: dict[int, list[int]]  # workspace id -> agent ids
    reasons: dict[int, list[int]]
    contact_ids: list[int]


@dataclass
class SeedResult:
    tickets: int
    messages: int
    events: int
    seconds: float


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, int]], k: int) -> list[str]:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=k)


class _Writer:
    """Bulk rows into one table, by executemany on SQLite or COPY on PostgreSQL."""

    def __init__(self, model: type[models.Model], columns: Sequence[str]) -> None:
        self.table = model._meta.db_table
        self.columns = list(columns)
        concrete = {f.column: f for f in model._meta.concrete_fields}
        unknown = set(self.columns) - set(concrete)
        if unknown:
            raise RuntimeError(f"{self.table}: no such columns {sorted(unknown)}")
        self.pg = connection.vendor == "postgresql"
        # Columns added since this seeder was written get their model default on every row.
        extra: list[Any] = []
        for column, f in concrete.items():
            if column in self.columns or f.null:
                continue
            if not f.has_default():
                raise RuntimeError(f"{self.table}.{column} is required: teach bench/seed.py it")
            default = f.get_default()
            if isinstance(f, models.JSONField):
                value: Any = json.dumps(default)
            elif isinstance(default, bool):
                value = default if self.pg else int(default)
            else:
                value = f.get_db_prep_save(default, connection)
            self.columns.append(str(column))
            extra.append(value)
        self.extra = tuple(extra)
        quoted = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        if self.pg:
            self.sql = f"COPY {connection.ops.quote_name(self.table)} ({quoted}) FROM STDIN"
        else:
            marks = ", ".join("?" * len(self.columns))
            self.sql = f'INSERT INTO "{self.table}" ({quoted}) VALUES ({marks})'

    def write(self, rows: Iterable[tuple[Any, ...]]) -> None:
        raw = connection.connection
        if self.extra:
            rows = (row + self.extra for row in rows)
        if self.pg:
            with raw.cursor() as cur, cur.copy(self.sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            raw.executemany(self.sql, rows)


def _ts(pg: bool) -> Callable[[datetime], Any]:
    # SQLite stores naive UTC text as Django does; COPY takes aware datetimes.
    if pg:
        return lambda d: d
    return lambda d: d.replace(tzinfo=None).isoformat(" ")


def _bool(pg: bool) -> Callable[[bool], Any]:
    return (lambda b: b) if pg else int


def _secondary_indexes(tables: list[str]) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the droppable indexes of `tables`."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                """
                SELECT i.indexname, i.indexdef FROM pg_indexes i
                WHERE i.tablename = ANY(%s) AND i.schemaname = current_schema()
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
                """,
                [tables],
            )
        else:
            marks = ", ".join("%s" for _ in tables)
            cur.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({marks})",
                tables,
            )
        return [(name, sql) for name, sql in cur.fetchall()]


def make_org(
    *, tenant_name: str, slug: str, workspaces: list[str], agents_per_ws: int, password_hash: str
) -> Org:
    """A tenant with workspaces, queues, agents and contact reasons, through the services."""
    from comptoir.accounts.models import User
    from comptoir.accounts.rights import RoleCode
    from comptoir.accounts.services import (
        agent_create,
        membership_set,
        queue_create,
        tenant_create,
        workspace_create,
    )
    from comptoir.tickets.models import ContactReason

    tenant = tenant_create(name=tenant_name, slug=slug)
    org = Org(tenant.pk, [], {}, {}, {}, [])
    for w, ws_name in enumerate(workspaces):
        ws = workspace_create(tenant=tenant, name=ws_name)
        org.workspace_ids.append(ws.pk)
        org.queues[ws.pk] = [
            queue_create(workspace=ws, name=q).pk for q in ("Commandes", "Livraisons", "Retours")
        ]
        org.reasons[ws.pk] = [
            ContactReason.objects.create(tenant=tenant, workspace=ws, name=f"Motif {i}").pk
            for i in range(1, 7)
        ]
        org.agents[ws.pk] = []
        for a in range(agents_per_ws):
            user = agent_create(
                tenant=tenant,
                email=f"agent{a}.{w}@{slug}.test",
                password=None,
                first_name=FIRST[a % len(FIRST)],
                last_name=LAST[a % len(LAST)],
            )
            User.objects.filter(pk=user.pk).update(password=password_hash)
            membership_set(user=user, workspace=ws, role=RoleCode.AGENT)
            org.agents[ws.pk].append(user.pk)
    return org


def seed(n_tickets: int, *, rng_seed: int = 0, log: Callable[[str], None] = print) -> SeedResult:
    """Fill an empty, migrated database with the bench organisation and `n_tickets` tickets."""
    from comptoir.contacts.models import Contact, ContactIdentity
    from comptoir.tickets.counts import counts_rebuild
    from comptoir.tickets.models import Event, Message, Ticket

    started = time.monotonic()
    rng = random.Random(rng_seed)
    pg = connection.vendor == "postgresql"
    ts, boolean = _ts(pg), _bool(pg)
    password_hash = make_password(BENCH_PASSWORD)

    with transaction.atomic():
        bench = make_org(
            tenant_name="Bench",
            slug="bench",
            workspaces=["Boutique en ligne", "Assurance"],
            agents_per_ws=10,
            password_hash=password_hash,
        )
        other = make_org(
            tenant_name="Autre",
            slug="autre",
            workspaces=["Support"],
            agents_per_ws=3,
            password_hash=password_hash,
        )
        _admin(bench, password_hash)
    log(f"organisation ready ({time.monotonic() - started:.1f}s)")

    tables = [
        Contact._meta.db_table,
        ContactIdentity._meta.db_table,
        Ticket._meta.db_table,
        Message._meta.db_table,
        Event._meta.db_table,
    ]
    indexes = _secondary_indexes(tables)
    now = datetime.now(UTC).replace(microsecond=0)
    with connection.cursor() as cur:
        if pg:
            # Skips foreign-key triggers for this session only: the ids below are consistent.
            cur.execute("SET session_replication_role = replica")
            cur.execute("SET maintenance_work_mem = '1GB'")
        else:
            cur.execute("PRAGMA foreign_keys = OFF")
            cur.execute("PRAGMA synchronous = OFF")
        for name, _sql in indexes:
            cur.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    log(f"dropped {len(indexes)} secondary indexes")

    contact_w = _Writer(
        Contact,
        [
            "id",
            "tenant_id",
            "first_name",
            "last_name",
            "company",
            "language",
            "created_at",
            "updated_at",
        ],
    )
    identity_w = _Writer(
        ContactIdentity, ["id", "tenant_id", "contact_id", "kind", "value", "is_primary"]
    )
    ticket_cols = [
        "id",
        "tenant_id",
        "workspace_id",
        "queue_id",
        "number",
        "channel",
        "subject",
        "contact_id",
        "requester_email",
        "requester_name",
        "assignee_id",
        "status",
        "status_changed_at",
        "priority",
        "contact_reason_id",
        "has_unread",
        "message_count",
        "last_message_at",
        "created_at",
        "updated_at",
    ]
    ticket_w = _Writer(Ticket, ticket_cols)
    message_w = _Writer(
        Message,
        [
            "id",
            "tenant_id",
            "ticket_id",
            "kind",
            "author_id",
            "sender_email",
            "sender_name",
            "to",
            "cc",
            "subject",
            "body_html",
            "body_text",
            "message_id",
            "in_reply_to",
            "references",
            "created_at",
        ],
    )
    event_w = _Writer(
        Event, ["id", "tenant_id", "ticket_id", "kind", "author_id", "data", "created_at"]
    )

    # Contacts: one per ten tickets, each with an email identity.
    next_id = {"contact": _max_id(Contact) + 1, "identity": _max_id(ContactIdentity) + 1}
    contacts_of: dict[int, list[tuple[int, str, str]]] = {}
    for org, share in ((bench, 0.95), (other, 0.05)):
        count = max(20, int(n_tickets * share / 10))
        c_rows, i_rows, listed = [], [], []
        for _ in range(count):
            cid = next_id["contact"]
            next_id["contact"] += 1
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first.lower()}.{last.lower()}.{cid}@exemple.fr"
            created = ts(now - timedelta(days=SPAN_DAYS + rng.randint(1, 300)))
            c_rows.append(
                (cid, org.tenant_id, first, last, rng.choice(COMPANIES), "fr", created, created)
            )
            i_rows.append((next_id["identity"], org.tenant_id, cid, "email", email, boolean(True)))
            next_id["identity"] += 1
            listed.append((cid, f"{first} {last}", email))
        contact_w.write(c_rows)
        identity_w.write(i_rows)
        contacts_of[org.tenant_id] = listed
    log(f"contacts written ({time.monotonic() - started:.1f}s)")

    # Message bodies: a pool of realistic 200-400 byte texts, reused.
    bodies = []
    for _ in range(400):
        text = " ".join(rng.sample(SENTENCES, rng.randint(3, 5)))
        bodies.append((text, f"<p>{escape(text)}</p>"))
    created_data = [json.dumps({"channel": c}) for c, _w in CHANNELS]
    event_data = {
        "assignment": json.dumps({"old": "", "new": "Agent", "new_id": None}),
        "status": json.dumps({"old": "new", "new": "to_process"}),
        "qualification": json.dumps({"changes": {"priority": {"old": "low", "new": "medium"}}}),
    }
    empty_list = "[]"

    tenant_numbers = {bench.tenant_id: 0, other.tenant_id: 0}
    first_ticket = _max_id(Ticket) + 1
    msg_id, evt_id = _max_id(Message) + 1, _max_id(Event) + 1
    span_s = SPAN_DAYS * 86400
    total_messages = total_events = 0
    t_id = first_ticket
    done = 0
    while done < n_tickets:
        size = min(BATCH_TICKETS, n_tickets - done)
        channels = _weighted(rng, CHANNELS, size)
        statuses = _weighted(rng, STATUSES, size)
        t_rows, m_rows, e_rows = [], [], []
        for k in range(size):
            org = bench if rng.random() < 0.95 else other
            ws = org.workspace_ids[0] if rng.random() < 0.6 else org.workspace_ids[-1]
            # Ids grow with time, as real arrivals do; the newest is about an hour old.
            created = now - timedelta(
                seconds=span_s * (1 - (done + k) / n_tickets) + 3600 + rng.random() * 60
            )
            tenant_numbers[org.tenant_id] += 1
            channel, status = channels[k], statuses[k]
            n_messages = rng.randint(1, 19)
            assignee = None if status == "new" or rng.random() < 0.1 else rng.choice(org.agents[ws])
            contact = None
            requester_email = requester_name = ""
            if channel == "email" and rng.random() < 0.1:
                requester_name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                requester_email = f"inconnu{t_id}@exemple.com"
            else:
                contact = rng.choice(contacts_of[org.tenant_id])
            sender_email = contact[2] if contact else requester_email
            sender_name = contact[1] if contact else requester_name
            subject = rng.choice(SUBJECTS).format(n=f"CMD-{rng.randint(10000, 99999)}")
            when = created
            for m in range(n_messages):
                if m == 0:
                    kind, author = "inbound", None
                elif rng.random() < 0.1:
                    kind, author = "note", assignee
                else:
                    kind = "outbound" if m % 2 else "inbound"
                    author = assignee if kind == "outbound" else None
                text, html = rng.choice(bodies)
                inbound = kind == "inbound"
                m_rows.append(
                    (
                        msg_id,
                        org.tenant_id,
                        t_id,
                        kind,
                        author,
                        sender_email if inbound else "",
                        sender_name if inbound else "",
                        empty_list,
                        empty_list,
                        subject if m == 0 else f"Re: {subject}",
                        html,
                        text,
                        f"m{msg_id}@bench.test" if channel == "email" else "",
                        "",
                        "",
                        ts(when),
                    )
                )
                msg_id += 1
                when += timedelta(minutes=rng.randint(5, 600))
            last_at = when - timedelta(minutes=1)
            events: list[tuple[str, int | None, str, datetime]] = [
                ("created", None, rng.choice(created_data), created)
            ]
            if assignee is not None:
                events.append(("assignment", None, event_data["assignment"], created))
            if status != "new":
                events.append(("status", assignee, event_data["status"], last_at))
            if rng.random() < 0.3:
                events.append(("qualification", assignee, event_data["qualification"], last_at))
            for kind, author, data, at in events:
                e_rows.append((evt_id, org.tenant_id, t_id, kind, author, data, ts(at)))
                evt_id += 1
            t_rows.append(
                (
                    t_id,
                    org.tenant_id,
                    ws,
                    rng.choice(org.queues[ws]),
                    tenant_numbers[org.tenant_id],
                    channel,
                    subject,
                    contact[0] if contact else None,
                    requester_email,
                    requester_name,
                    assignee,
                    status,
                    ts(last_at),
                    rng.choice(("low", "low", "low", "medium", "high")),
                    rng.choice(org.reasons[ws]) if rng.random() < 0.5 else None,
                    boolean(status != "closed" and rng.random() < 0.3),
                    n_messages,
                    ts(last_at),
                    ts(created),
                    ts(last_at),
                )
            )
            t_id += 1
        with transaction.atomic():
            ticket_w.write(t_rows)
            message_w.write(m_rows)
            event_w.write(e_rows)
        done += size
        total_messages += len(m_rows)
        total_events += len(e_rows)
        if done % (BATCH_TICKETS * 10) == 0 or done == n_tickets:
            log(f"{done} tickets, {total_messages} messages ({time.monotonic() - started:.0f}s)")

    from comptoir.accounts.models import Tenant

    for tenant_id, number in tenant_numbers.items():
        Tenant.objects.filter(pk=tenant_id).update(last_ticket_number=number)
    with connection.cursor() as cur:
        for name, sql in indexes:
            t0 = time.monotonic()
            cur.execute(sql)
            log(f"index {name} rebuilt ({time.monotonic() - t0:.1f}s)")
        if pg:
            cur.execute("SET session_replication_role = DEFAULT")
            _reset_sequences(cur, [Contact, ContactIdentity, Ticket, Message, Event])
        else:
            cur.execute("PRAGMA foreign_keys = ON")
    counts_rebuild()
    with connection.cursor() as cur:
        if not pg:
            # Sampled statistics: a full ANALYZE reads every index of a 10 GB file.
            cur.execute("PRAGMA analysis_limit = 1000")
        cur.execute("ANALYZE")
    log(f"counts rebuilt, analyzed ({time.monotonic() - started:.0f}s)")
    return SeedResult(n_tickets, total_messages, total_events, time.monotonic() - started)


def _tenant(tenant_id: int) -> Any:
    from comptoir.accounts.models import Tenant

    return Tenant.objects.get(pk=tenant_id)


def _admin(org: Org, password_hash: str) -> Any:
    """The bench user: administrator of both workspaces, as admin@demo.test is in the demo."""
    from comptoir.accounts.models import User, Workspace
    from comptoir.accounts.rights import RoleCode
    from comptoir.accounts.services import agent_create, membership_set

    user = agent_create(
        tenant=_tenant(org.tenant_id),
        email=BENCH_EMAIL,
        password=None,
        first_name="Ada",
        last_name="Bench",
    )
    User.objects.filter(pk=user.pk).update(password=password_hash)
    for ws in Workspace.objects.filter(pk__in=org.workspace_ids):
        membership_set(user=user, workspace=ws, role=RoleCode.ADMINISTRATOR)
    return user


def _max_id(model: type[models.Model]) -> int:
    from django.db.models import Max

    return int(model._default_manager.aggregate(m=Max("id"))["m"] or 0)


def _reset_sequences(cur: Any, models_: list[type[models.Model]]) -> None:
    from django.core.management.color import no_style

    for sql in connection.ops.sequence_reset_sql(no_style(), models_):
        cur.execute(sql)
