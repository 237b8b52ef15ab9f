"""An administrator walks the waiting-message screens in Chromium, in French."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from comptoir.testing.browser import login
from comptoir.waiting.models import WaitingMessage, WaitingMessageAssignment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def test_create_refuse_assign_preview_and_delete(cast, page: Page):
    login(page, cast.admin)
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("link", name="Boutique").click()
    page.get_by_role("link", name="Messages d'attente").click()
    expect(page.get_by_role("heading", name="Messages d'attente", exact=True)).to_be_visible()

    page.get_by_role("link", name="Ajouter un message d'attente").click()
    page.get_by_label("Titre / objet").fill("Votre demande n°{{ticket.number}}")
    page.get_by_label("Corps").fill("Bonjour {{contact.first_name}}, nous revenons vers vous.")
    page.get_by_label("Heures pour « à traiter »").fill("0")
    page.get_by_role("button", name="Enregistrer").click()
    # 0 is refused next to its field, and nothing is saved.
    expect(page.locator(".field--error")).to_contain_text(
        "Saisissez au moins 1 heure, ou laissez le champ vide."
    )
    assert not WaitingMessage.objects.exists()

    page.get_by_label("Heures pour « à traiter »").fill("4")
    page.get_by_label("Heures pour « attente expert »").fill("24")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("cell", name="Votre demande n°{{ticket.number}}")).to_be_visible()

    # Selecting a message shows its content below the list before it is saved.
    page.get_by_label("Message d'attente", exact=True).select_option(
        label="Votre demande n°{{ticket.number}}"
    )
    expect(page.locator("#waiting-preview")).to_contain_text("nous revenons vers vous")
    page.get_by_role("button", name="Enregistrer l'affectation").click()
    expect(page.locator(".flash")).to_contain_text("est maintenant affecté")
    assert WaitingMessageAssignment.objects.filter(queue__isnull=True).count() == 1

    # The queue page: assign the same message to the queue, then remove it.
    page.get_by_role("link", name="Boutique").click()
    page.get_by_role("link", name="Commandes").click()
    page.get_by_role("link", name="Messages d'attente").click()
    expect(page.get_by_text("c'est « Votre demande n°{{ticket.number}} »")).to_be_visible()
    page.get_by_label("Message d'attente", exact=True).select_option(
        label="Votre demande n°{{ticket.number}}"
    )
    page.get_by_role("button", name="Enregistrer l'affectation").click()
    assert WaitingMessageAssignment.objects.filter(queue=cast.boutique_queue).count() == 1
    page.get_by_role("button", name="Retirer l'affectation").click()
    expect(page.locator(".flash")).to_contain_text("L'affectation a été retirée.")
    assert not WaitingMessageAssignment.objects.filter(queue=cast.boutique_queue).exists()

    # Delete asks first, then removes the message and its assignments.
    page.get_by_role("link", name="Gérer les messages d'attente de l'espace client").click()
    page.get_by_role("link", name="Supprimer").click()
    expect(page.get_by_text("annule tous les envois à venir")).to_be_visible()
    page.get_by_role("button", name="Supprimer").click()
    expect(page.get_by_text("Aucun message d'attente pour l'instant.")).to_be_visible()
    assert not WaitingMessage.objects.exists()
    assert not WaitingMessageAssignment.objects.exists()
