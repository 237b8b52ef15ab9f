"""Demo data: tenant "Démo", two workspaces, agents of every role, contacts and 300 tickets.

Everything is made through the services, with `now` moved back in time, so the history of
each ticket reads as if it had happened over the last sixty days. The same seed always
gives the same data. Demo accounts (password `demo`) are for demonstrations only.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.html import escape

from comptoir.accounts.models import Queue, Tenant, User, Workspace
from comptoir.accounts.rights import RoleCode
from comptoir.accounts.services import (
    agent_create,
    membership_set,
    queue_create,
    team_create,
    tenant_create,
    workspace_create,
)
from comptoir.contacts.models import Contact, CustomField, CustomFieldValue, FieldType
from comptoir.contacts.services import contact_create
from comptoir.core import clock
from comptoir.testing.demo_data import (
    AGENTS,
    CHANNEL_WEIGHTS,
    CITIES,
    COMPANIES,
    CONTACT_FOLLOW_UPS,
    FIRST_NAMES,
    LAST_NAMES,
    MAIL_DOMAINS,
    MAILBOXES,
    NOTES,
    PHONE_NOTES,
    REPLIES,
    SCENARIOS,
    STATUS_WEIGHTS,
    WEB_FORMS,
    WORKSPACES,
)
from comptoir.tickets.models import Channel, ContactReason, MessageKind, Priority, Status, Ticket
from comptoir.tickets.services import (
    message_add,
    ticket_assign,
    ticket_change_status,
    ticket_close,
    ticket_create,
    ticket_link_contact,
    ticket_mark_read,
    ticket_qualify,
)

DEMO_SLUG = "demo"
DEMO_PASSWORD = "demo"
DEMO_TICKETS = 300
DEMO_CONTACTS = 50
DAYS_SPAN = 60


@dataclass
class DemoSummary:
    created: bool
    tenant_id: int | None = None
    workspaces: int = 0
    queues: int = 0
    agents: int = 0
    contacts: int = 0
    tickets: int = 0
    messages: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        if not self.created:
            return "Demo data already loaded (tenant 'demo' exists); nothing done."
        lines = [
            f"Demo data loaded: {self.workspaces} workspaces, {self.queues} queues, "
            f"{self.agents} agents, {self.contacts} contacts, {self.tickets} tickets, "
            f"{self.messages} messages.",
            "Demo logins (demonstration only):",
        ]
        lines += [f"  {email} / {password}" for email, password in self.logins]
        return "\n".join(lines)


def _pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    values, weights = zip(*weighted, strict=True)
    return str(rng.choices(values, weights=weights)[0])


def _html(text: str) -> str:
    """Plain text to simple safe HTML: escaped paragraphs and line breaks."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return "".join(
        "<p>" + "<br>".join(escape(line) for line in p.split("\n")) + "</p>" for p in paragraphs
    )


def _ascii(value: str) -> str:
    import unicodedata

    return (
        unicodedata.normalize("NFKD", value)
        .encode("ascii", "ignore")
        .decode()
        .lower()
        .replace(" ", "")
        .replace("'", "")
    )


# -- web forms -----------------------------------------------------------------------------


def _web_forms(
    tenant: Tenant, workspaces: dict[str, Workspace], queues: dict[str, list[Queue]]
) -> None:
    """A public web form per demo workspace (to its first queue), with custom fields on it."""
    from comptoir.channels.webform.models import WebForm, new_public_key

    for key, public_key, title, field_keys in WEB_FORMS:
        taken = WebForm.objects.filter(public_key=public_key).exists()
        WebForm.objects.create(
            tenant=tenant,
            workspace=workspaces[key],
            queue=queues[key][0],
            # Keys are unique across tenants: a second demo beside the first gets random ones.
            public_key=new_public_key() if taken else public_key,
            title=title,
            intro="Nous vous répondons par e-mail sous 24 heures ouvrées.",
        )
        CustomField.objects.filter(workspace=workspaces[key], key__in=field_keys).update(
            on_form=True
        )


def _waiting_messages(
    tenant: Tenant, workspaces: dict[str, Workspace], queues: dict[str, list[Queue]]
) -> None:
    """A waiting message in force in each demo workspace (a queue's own in the insurer's)."""
    from comptoir.waiting.models import WaitingMessage, WaitingMessageAssignment

    boutique = WaitingMessage.objects.create(
        tenant=tenant,
        workspace=workspaces["boutique"],
        title="Votre demande n°{{ticket.number}} est toujours suivie",
        body=(
            "Bonjour {{contact.first_name}},\n\nNous n'oublions pas votre demande "
            "« {{ticket.subject}} » : elle est entre les mains de notre équipe et nous "
            "revenons vers vous au plus vite.\n\nLe service client"
        ),
        hours_to_process=24,
        hours_awaiting_expert=48,
    )
    WaitingMessageAssignment.objects.create(
        tenant=tenant, workspace=workspaces["boutique"], waiting_message=boutique
    )
    claims = WaitingMessage.objects.create(
        tenant=tenant,
        workspace=workspaces["assurance"],
        title="Votre déclaration n°{{ticket.number}} est en cours d'étude",
        body=(
            "Bonjour {{contact.first_name}},\n\nVotre dossier est à l'étude ; un expert "
            "peut être amené à vous contacter.\n\nLe service sinistres"
        ),
        hours_to_process=8,
        hours_awaiting_expert=72,
        hours_awaiting_external=72,
    )
    WaitingMessageAssignment.objects.create(
        tenant=tenant,
        workspace=workspaces["assurance"],
        queue=queues["assurance"][0],
        waiting_message=claims,
    )


# -- loader --------------------------------------------------------------------------------


def demo_load(*, now: datetime | None = None, seed: int = 0) -> DemoSummary:
    """Load the demo tenant once; a second call does nothing and says so."""
    if Tenant.objects.filter(slug=DEMO_SLUG).exists():
        return DemoSummary(created=False)
    with transaction.atomic():
        return _Loader(now or clock.now(), random.Random(seed)).load()


class _Loader:
    def __init__(self, now: datetime, rng: random.Random) -> None:
        self.now = now
        self.rng = rng
        self.start = now - timedelta(days=DAYS_SPAN)
        self.messages = 0

    def load(self) -> DemoSummary:
        rng = self.rng
        tenant = tenant_create(name="Démo", slug=DEMO_SLUG)
        # Let the tenant and its accounts predate every ticket in the timeline.
        Tenant.objects.filter(pk=tenant.pk).update(created_at=self.start - timedelta(days=30))
        workspaces: dict[str, Workspace] = {}
        queues: dict[str, list[Queue]] = {}
        reasons: dict[str, list[ContactReason]] = {}
        fields: dict[str, list[CustomField]] = {}
        for key, spec in WORKSPACES.items():
            ws = workspace_create(tenant=tenant, name=str(spec["name"]), slug=key)
            workspaces[key] = ws
            queues[key] = [queue_create(workspace=ws, name=q) for q in spec["queues"]]
            # No service writes contact reasons or custom fields yet (configuration is admin).
            reasons[key] = [
                ContactReason.objects.create(tenant=tenant, workspace=ws, name=r)
                for r in spec["reasons"]
            ]
            fields[key] = [
                CustomField.objects.create(
                    tenant=tenant,
                    workspace=ws,
                    key=fkey,
                    label=label,
                    field_type=ftype,
                    choices=list(choices),
                    position=i,
                )
                for i, (fkey, label, ftype, choices) in enumerate(spec["fields"])
            ]

        self._mail(tenant, workspaces, queues)
        _web_forms(tenant, workspaces, queues)
        _waiting_messages(tenant, workspaces, queues)
        agents: dict[str, User] = {}
        # One hash for every demo account: argon2 is deliberately slow, the password the same.
        password_hash = make_password(DEMO_PASSWORD)
        staff_by_ws: dict[str, dict[str, list[User]]] = {k: {} for k in WORKSPACES}
        for email, first, last, roles, is_staff in AGENTS:
            user = agent_create(
                tenant=tenant, email=email, password=None, first_name=first, last_name=last
            )
            User.objects.filter(pk=user.pk).update(password=password_hash, is_staff=is_staff)
            user.password, user.is_staff = password_hash, is_staff
            for ws_key, role in roles.items():
                membership_set(user=user, workspace=workspaces[ws_key], role=role)
                staff_by_ws[ws_key].setdefault(role, []).append(user)
            agents[email] = user
        for ws_key, spec in WORKSPACES.items():
            members = [u for us in staff_by_ws[ws_key].values() for u in us]
            for i, name in enumerate(spec["teams"]):
                team_create(workspace=workspaces[ws_key], name=name, members=members[i::2])

        contacts = self._contacts(tenant, fields)
        tickets: list[Ticket] = []
        # Tickets are created in time order, as they would have arrived.
        times = sorted(
            self.start + timedelta(seconds=rng.uniform(0, DAYS_SPAN * 86400 - 3600))
            for _ in range(DEMO_TICKETS)
        )
        for created in times:
            ws_key = rng.choice(["boutique", "boutique", "assurance"])
            tickets.append(
                self._ticket(
                    ws_key,
                    created,
                    queues[ws_key],
                    reasons[ws_key],
                    staff_by_ws[ws_key],
                    contacts,
                )
            )
        from comptoir.solicitations.demo import demo_solicitations

        demo_solicitations(tickets=tickets, agents=list(agents.values()), rng=rng, now=self.now)
        return DemoSummary(
            created=True,
            tenant_id=tenant.pk,
            workspaces=len(workspaces),
            queues=sum(len(q) for q in queues.values()),
            agents=len(agents),
            contacts=len(contacts),
            tickets=len(tickets),
            messages=self.messages,
            logins=[
                ("admin@demo.test", DEMO_PASSWORD),
                ("agent@boutique.demo", DEMO_PASSWORD),
                ("agent@assurance.demo", DEMO_PASSWORD),
            ],
        )

    def _mail(
        self, tenant: Tenant, workspaces: dict[str, Workspace], queues: dict[str, list[Queue]]
    ) -> None:
        """Mailboxes to write to (LMTP on 127.0.0.1:2525 in `comptoir run`) and their acks."""
        from comptoir.channels.email.models import Acknowledgment, Mailbox

        for key, address, name in MAILBOXES:
            Mailbox.objects.create(
                tenant=tenant,
                workspace=workspaces[key],
                queue=queues[key][0],
                address=address,
                display_name=name,
            )
            Acknowledgment.objects.create(
                tenant=tenant,
                workspace=workspaces[key],
                subject="Nous avons bien reçu votre demande n° {{ticket.number}}",
                body=(
                    "Bonjour,\n\n"
                    "Nous avons bien reçu votre demande « {{ticket.subject}} » et y "
                    "répondrons sous {{delay_hours}} heures.\n\n"
                    f"L'équipe {name}"
                ),
                delay_hours=24,
            )

    def _contacts(self, tenant: Tenant, fields: dict[str, list[CustomField]]) -> list[Contact]:
        rng = self.rng
        contacts: list[Contact] = []
        seen: set[str] = set()
        while len(contacts) < DEMO_CONTACTS:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{_ascii(first)}.{_ascii(last)}@{rng.choice(MAIL_DOMAINS)}"
            if email in seen:
                continue
            seen.add(email)
            phone = "+33 6 " + " ".join(f"{rng.randint(0, 99):02d}" for _ in range(4))
            contact = contact_create(
                tenant=tenant,
                first_name=first,
                last_name=last,
                company=rng.choice(COMPANIES),
                emails=[email],
                phones=[phone] if rng.random() < 0.7 else [],
                now=self.start - timedelta(days=rng.randint(1, 400)),
            )
            contacts.append(contact)
            for ws_fields in fields.values():
                if rng.random() < 0.6:
                    for f in ws_fields:
                        CustomFieldValue.objects.create(
                            contact=contact, field=f, value=self._field_value(f)
                        )
        return contacts

    def _field_value(self, f: CustomField) -> str:
        rng = self.rng
        if f.field_type == FieldType.NUMBER:
            return (
                str(rng.randint(1, 40))
                if f.key != "bonus_malus"
                else f"{rng.uniform(0.5, 1.5):.2f}"
            )
        if f.field_type == FieldType.DATE:
            return (self.now.date() - timedelta(days=rng.randint(30, 3000))).isoformat()
        if f.field_type == FieldType.CHOICE:
            return rng.choice(f.choices)
        return f"{f.key[:3].upper()}-{rng.randint(100000, 999999)}"

    def _ticket(
        self,
        ws_key: str,
        created: datetime,
        queues: list[Queue],
        reasons: list[ContactReason],
        staff: dict[str, list[User]],
        contacts: list[Contact],
    ) -> Ticket:
        rng = self.rng
        queue = rng.choice(queues)
        channel = _pick(rng, CHANNEL_WEIGHTS)
        final = _pick(rng, STATUS_WEIGHTS)
        subject_t, body_t = rng.choice(SCENARIOS[queue.name])
        n = f"{'CMD' if ws_key == 'boutique' else 'CT'}-{rng.randint(10000, 99999)}"
        city = rng.choice(CITIES)
        subject, body = subject_t.format(n=n, city=city), body_t.format(n=n, city=city)

        contact: Contact | None = rng.choice(contacts)
        requester_email = requester_name = ""
        link_later = False
        linked_to: Contact | None = None
        if channel == Channel.EMAIL and rng.random() < 0.2:
            # An email from an address we do not know: no contact, only what the mail said.
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            requester_name = f"{first} {last}"
            requester_email = f"{_ascii(first)}{rng.randint(1, 99)}@{rng.choice(MAIL_DOMAINS)}"
            link_later = rng.random() < 0.3
            linked_to, contact = contact, None
        assert contact is not None or requester_email
        name = contact.full_name if contact else requester_name
        email = contact.identities.all()[0].value if contact else requester_email

        # The clock for this ticket: each step is a little later, never past `now`.
        t = created
        end = self.now - timedelta(minutes=1)

        def later(lo_min: float, hi_min: float) -> datetime:
            nonlocal t
            step = timedelta(minutes=rng.uniform(lo_min, hi_min))
            room = end - t
            t = t + (step if step < room else room * rng.uniform(0.05, 0.3))
            return t

        priority = rng.choices(list(Priority.values), weights=[70, 20, 10])[0]
        ticket = ticket_create(
            queue=queue,
            channel=channel,
            subject=subject,
            contact=contact,
            requester_email=requester_email,
            requester_name=requester_name,
            priority=priority,
            now=t,
        )
        if channel == Channel.PHONE:
            agent = rng.choice(staff.get(RoleCode.AGENT, []) or staff[RoleCode.ADMINISTRATOR])
            self._message(ticket, MessageKind.NOTE, rng.choice(PHONE_NOTES), agent, t)
        else:
            self._message(
                ticket,
                MessageKind.INBOUND,
                f"{body}\n\nMerci,\n{name}",
                None,
                t,
                sender=(email, name),
                subject=subject,
            )
        if final == Status.NEW:
            return ticket

        handlers = staff.get(RoleCode.AGENT, []) + staff.get(RoleCode.COORDINATOR, [])
        lead = staff[RoleCode.ADMINISTRATOR][0]
        agent = rng.choice(handlers)
        ticket_assign(ticket=ticket, assignee=agent, author=lead, now=later(5, 240))
        ticket_change_status(ticket=ticket, status=Status.TO_PROCESS, author=agent, now=t)
        if rng.random() < 0.7:
            ticket_qualify(
                ticket=ticket,
                author=agent,
                contact_reason=rng.choice(reasons),
                priority=rng.choice([None, Priority.MEDIUM, Priority.HIGH]),
                now=later(1, 30),
            )
        if link_later:
            ticket_link_contact(ticket=ticket, contact=linked_to, author=agent, now=later(1, 20))
        if rng.random() < 0.35:
            self._message(ticket, MessageKind.NOTE, rng.choice(NOTES), agent, later(2, 120))
        ticket_mark_read(ticket=ticket, agent=agent, now=later(1, 10))
        if final == Status.TO_PROCESS:
            return ticket
        if final in (Status.AWAITING_EXPERT, Status.AWAITING_EXTERNAL):
            role = RoleCode.EXPERT if final == Status.AWAITING_EXPERT else RoleCode.EXTERNAL_AGENT
            helper = staff[role][0]
            self._message(
                ticket,
                MessageKind.NOTE,
                f"Je transmets à {helper.get_full_name()} pour avis.",
                agent,
                later(5, 90),
            )
            ticket_assign(ticket=ticket, assignee=helper, author=agent, now=t)
            ticket_change_status(ticket=ticket, status=final, author=agent, now=t)
            return ticket

        rounds = rng.choice([1, 1, 2, 3])
        for i in range(rounds):
            reply = rng.choice(REPLIES).format(name=name.split()[0], agent=agent.get_full_name())
            self._message(
                ticket,
                MessageKind.OUTBOUND,
                reply,
                agent,
                later(20, 600),
                sender=("", agent.get_full_name()),
                to=[email],
                subject=f"Re: {subject}",
            )
            ticket_change_status(ticket=ticket, status=Status.AWAITING_CONTACT, author=agent, now=t)
            last_round = i == rounds - 1
            if last_round and final == Status.AWAITING_CONTACT:
                return ticket
            if not last_round or rng.random() < 0.6:
                self._message(
                    ticket,
                    MessageKind.INBOUND,
                    rng.choice(CONTACT_FOLLOW_UPS),
                    None,
                    later(60, 2880),
                    sender=(email, name),
                    subject=f"Re: {subject}",
                )
                ticket_change_status(ticket=ticket, status=Status.TO_PROCESS, author=None, now=t)
                ticket_mark_read(ticket=ticket, agent=agent, now=later(5, 240))
        ticket_close(ticket=ticket, author=agent, now=later(5, 120))
        return ticket

    def _message(
        self,
        ticket: Ticket,
        kind: str,
        text: str,
        author: User | None,
        when: datetime,
        *,
        sender: tuple[str, str] = ("", ""),
        to: list[str] | None = None,
        subject: str = "",
    ) -> None:
        self.messages += 1
        is_mail = ticket.channel == Channel.EMAIL and kind in (
            MessageKind.INBOUND,
            MessageKind.OUTBOUND,
        )
        message_add(
            ticket=ticket,
            kind=kind,
            body_text=text,
            body_html=_html(text),
            author=author,
            sender_email=sender[0],
            sender_name=sender[1],
            to=to or [],
            subject=subject,
            message_id=f"demo-{ticket.number}-{self.messages}@demo.comptoir.test"
            if is_mail
            else "",
            now=when,
        )
