"""The merge-field renderer: allow-list, values, escaping, languages, missing fields."""

from __future__ import annotations

from datetime import datetime

import pytest

from comptoir.accounts.services import agent_create
from comptoir.responses import merge
from comptoir.responses.merge import UnknownMergeFields, render, validate
from comptoir.responses.models import HistoryLink
from comptoir.tickets.services import ticket_create

from .conftest import PARIS

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=PARIS)


@pytest.fixture
def agent(cast):
    cast.boutique_agent.signature = "Bruno\nService client"
    cast.boutique_agent.save()
    return cast.boutique_agent


EXPECTED_FR = {
    "contact.first_name": "Alice",
    "contact.last_name": "Dupont",
    "contact.full_name": "Alice Dupont",
    "contact.email": "alice@example.com",
    "contact.phone": "+33612345678",
    "contact.company": "Dupont SA",
    "ticket.number": None,  # filled from the ticket below
    "ticket.subject": "Colis en retard",
    "ticket.channel": "E-mail",
    "ticket.queue": "Commandes",
    "ticket.workspace": "Boutique",
    "ticket.priority": "Haute",
    "ticket.contact_reason": "Livraison",
    "ticket.created_date": "9 mars 2026",
    "agent.first_name": "Bruno",
    "agent.last_name": "Martin",
    "agent.signature": "Bruno\nService client",
    "today": "22 novembre 2026",
}


def test_every_standard_field_is_covered_by_this_test():
    assert set(EXPECTED_FR) | {merge.HISTORY_LINK} == set(merge.STANDARD_NAMES)


@pytest.mark.parametrize("name", sorted(EXPECTED_FR))
def test_each_standard_field_renders_its_value_in_french(ticket, agent, fields, name):
    expected = EXPECTED_FR[name] or str(ticket.number)
    result = render("{{" + name + "}}", ticket=ticket, agent=agent, now=NOW)
    assert result.text == expected
    assert result.missing == [] and result.unknown == []


def test_labels_and_dates_follow_the_contacts_language(ticket, agent, cast):
    cast.alice.language = "en"
    cast.alice.save()
    ticket.refresh_from_db()
    text = "{{ticket.channel}} {{ticket.priority}} {{ticket.created_date}} / {{today}}"
    result = render(text, ticket=ticket, agent=agent, now=NOW)
    assert result.text == "Email High March 9, 2026 / Nov. 22, 2026"


def test_without_a_contact_dates_fall_back_to_french(cast, agent):
    t = ticket_create(
        queue=cast.boutique_queue,
        channel="email",
        subject="Sans contact",
        requester_email="bob@example.com",
        requester_name="Bob Inconnu",
    )
    result = render(
        "{{today}}|{{contact.full_name}}|{{contact.email}}|{{contact.first_name}}",
        ticket=t,
        agent=agent,
        now=NOW,
    )
    assert result.text == "22 novembre 2026|Bob Inconnu|bob@example.com|"
    assert result.missing == ["contact.first_name"]


def test_custom_fields_of_the_tickets_workspace_render_dates_in_the_contacts_language(
    ticket, agent, fields
):
    result = render(
        "{{contact.custom.loyalty}} {{ contact.custom.birthday }}", ticket=ticket, agent=agent
    )
    assert result.text == "GOLD-42 14 juillet 1990"


def test_a_custom_field_of_another_workspace_is_unknown_here(ticket, agent, fields, cast):
    with pytest.raises(UnknownMergeFields):
        validate("{{contact.custom.policy}}", cast.boutique)
    validate("{{contact.custom.policy}}", cast.assurance)
    result = render("[{{contact.custom.policy}}]", ticket=ticket, agent=agent)
    assert result.text == "[]"
    assert result.unknown == ["contact.custom.policy"]


def test_unknown_fields_are_refused_with_each_name_listed(cast, fields):
    with pytest.raises(UnknownMergeFields) as exc:
        validate(
            "Bonjour {{contact.nickname}} {{ticket.secret}} {{contact.first_name}}", cast.boutique
        )
    assert exc.value.names == ["contact.nickname", "ticket.secret"]
    assert "{{contact.nickname}}" in str(exc.value) and "{{ticket.secret}}" in str(exc.value)


def test_standard_custom_and_alias_fields_validate(cast, fields):
    validate(
        "{{contact.first_name}} {{contact.custom.loyalty}} {{contact.name}} {{today}}",
        cast.boutique,
    )
    validate("{{delay_hours}}", cast.boutique, extra=["delay_hours"])
    with pytest.raises(UnknownMergeFields):
        validate("{{delay_hours}}", cast.boutique)


@pytest.mark.parametrize(
    "text",
    [
        "{{contact.tenant.name}}",
        "{{ticket.__class__}}",
        "{{ticket.contact.first_name}}",
        "{{agent.password}}",
        "{{contact.first_name|upper}}",
        "{{contact.custom}}",
        "{{ticket.queue.workspace.tenant}}",
    ],
)
def test_no_attribute_access_or_filters_beyond_the_list(ticket, agent, cast, text):
    with pytest.raises(UnknownMergeFields):
        validate(text, cast.boutique)
    result = render(text, ticket=ticket, agent=agent)
    assert result.text == ""
    assert result.unknown == [text[2:-2]]


def test_template_code_is_plain_text(ticket, agent):
    text = "{% if 1 %}x{% endif %} {# c #} {{ contact.first_name }}"
    assert render(text, ticket=ticket, agent=agent).text == "{% if 1 %}x{% endif %} {# c #} Alice"


def test_a_field_with_no_value_renders_empty_and_is_reported(ticket, fields):
    result = render("Bonjour {{agent.first_name}}, {{contact.first_name}}", ticket=ticket)
    assert result.text == "Bonjour , Alice"
    assert result.missing == ["agent.first_name"]
    assert result.missing_fields == ["agent.first_name"]
    assert "{{" not in result.text


def test_values_are_escaped_in_html_and_cannot_add_links(ticket, agent, cast):
    cast.alice.last_name = '<script>alert(1)</script>"'
    cast.alice.company = "javascript:alert(1)"
    cast.alice.save()
    ticket.refresh_from_db()
    body = '<p>Bonjour {{contact.last_name}} <a href="{{contact.company}}">ici</a></p>'
    html = render(body, ticket=ticket, agent=agent, html=True).text
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "javascript:" not in html
    text = render("{{contact.last_name}}", ticket=ticket, agent=agent).text
    assert text == '<script>alert(1)</script>"'


def test_a_signature_keeps_its_lines_in_html(ticket, agent):
    html = render("<p>{{agent.signature}}</p>", ticket=ticket, agent=agent, html=True).text
    assert html == "<p>Bruno<br>Service client</p>"


def test_a_value_never_becomes_a_placeholder(ticket, agent, cast):
    cast.alice.first_name = "{{ticket.history_link}}"
    cast.alice.save()
    ticket.refresh_from_db()
    result = render("{{contact.first_name}}", ticket=ticket, agent=agent, issue_history_link=True)
    assert result.text == "{{ticket.history_link}}"
    assert not HistoryLink.objects.exists()


def test_one_line_flattens_values_for_subjects(ticket, agent):
    result = render("Re: {{agent.signature}}", ticket=ticket, agent=agent, one_line=True)
    assert result.text == "Re: Bruno Service client"


def test_acknowledgment_variables_work_as_aliases_and_extras(ticket):
    result = render(
        "{{contact.name}} #{{ticket.number}} {{ticket.subject}} {{delay_hours}}h",
        ticket=ticket,
        extra={"delay_hours": 24},
    )
    assert result.text == f"Alice Dupont #{ticket.number} Colis en retard 24h"


def test_a_preview_keeps_the_history_link_for_the_sending(ticket, agent):
    result = render(
        '<a href="{{ticket.history_link}}">x</a>', ticket=ticket, agent=agent, html=True
    )
    assert result.deferred == ["ticket.history_link"]
    assert 'href="{{ticket.history_link}}"' in result.text
    assert not HistoryLink.objects.exists()


def test_sending_issues_one_link_shared_by_the_html_and_the_text(ticket, agent):
    ctx = merge.MergeContext(ticket=ticket, agent=agent, now=NOW, issue_history_link=True)
    html = render('<a href="{{ticket.history_link}}">historique</a>', html=True, context=ctx)
    text = render("Historique : {{ticket.history_link}}", context=ctx)
    link = HistoryLink.objects.get()
    assert link.recipient == "alice@example.com"
    assert link.cutoff_at == NOW
    assert html.history_link_url and html.history_link_url == text.history_link_url
    assert html.history_link_url in text.text
    assert "/h/" in html.text and "{{" not in html.text and "{{" not in text.text


def test_field_groups_offer_standard_and_custom_fields(cast, fields):
    groups = dict(merge.field_groups(cast.boutique))
    names = [f.name for fs in groups.values() for f in fs]
    assert "contact.custom.loyalty" in names and "contact.custom.birthday" in names
    assert "contact.custom.policy" not in names
    assert set(merge.STANDARD_NAMES) <= set(names)


def test_agent_values_come_from_the_agent(cast, ticket):
    other = agent_create(
        tenant=cast.tenant, email="z@acme.test", password="x", first_name="Zoé", last_name="Z"
    )
    assert render("{{agent.first_name}}", ticket=ticket, agent=other).text == "Zoé"
