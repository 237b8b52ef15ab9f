"""The template management screens in a real browser (Chromium)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from comptoir.contacts.models import CustomField
from comptoir.responses.models import ResponseTemplate
from comptoir.responses.selectors import templates_for_ticket
from comptoir.testing.browser import login, mark_page, page_was_not_reloaded
from comptoir.tickets.services import ticket_create

pytestmark = pytest.mark.django_db(transaction=True)

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def test_a_manager_creates_a_template_with_fields_a_link_an_image_and_a_file_then_deactivates_it(
    page: Page, cast, tmp_path
):
    CustomField.objects.create(
        tenant=cast.tenant, workspace=cast.boutique, key="loyalty", label="Carte", field_type="text"
    )
    login(page, cast.admin)
    page.locator('.mainnav a[href="/responses/templates/"]').click()
    page.locator('.pagehead a[href^="/responses/templates/new/"]').click()
    # The administrator manages two workspaces: the custom field is Boutique's.
    page.locator(f'a[href="/responses/templates/new/?workspace={cast.boutique.pk}"]').click()
    expect(page.locator("input[name=workspace]")).to_have_value(str(cast.boutique.pk))
    page.locator("#id_name").fill("Colis en retard")

    area = page.locator("[data-editor-area]")
    area.click()
    page.keyboard.type("Bonjour ")
    page.locator("[data-merge-picker]").select_option("contact.first_name")
    page.keyboard.type(", carte ")
    page.locator("[data-merge-picker]").select_option("contact.custom.loyalty")
    page.keyboard.type(". Suivi : ")
    expect(area).to_contain_text("Bonjour {{contact.first_name}}, carte {{contact.custom.loyalty}}")

    page.locator(".rte__toolbar [data-action=link]").click()
    page.locator("[data-link-url]").fill("https://example.com/suivi")
    page.locator("[data-action=link-insert]").click()
    expect(area.locator('a[href="https://example.com/suivi"]')).to_have_count(1)

    image = tmp_path / "logo.png"
    image.write_bytes(PNG)
    page.locator("[data-image-input]").set_input_files(str(image))
    expect(area.locator('img[src^="data:image/png"]')).to_have_count(1)

    attachment = tmp_path / "conditions.pdf"
    attachment.write_bytes(b"%PDF-1.4 conditions")
    page.locator("#id_attachments").set_input_files(str(attachment))
    page.locator(".template-form .actions button[type=submit]").click()

    row = page.locator("#template-results tbody tr").filter(has_text="Colis en retard")
    expect(row).to_have_count(1)
    template = ResponseTemplate.objects.get(name="Colis en retard")
    assert "Bonjour {{contact.first_name}}, carte {{contact.custom.loyalty}}" in template.body_html
    assert 'href="https://example.com/suivi"' in template.body_html
    files = {a.filename: a for a in template.attachments.all()}
    assert set(files) == {"conditions.pdf", "image.png"}
    assert files["image.png"].is_inline
    assert f'src="cid:{files["image.png"].content_id}"' in template.body_html

    # Editing shows the stored image through its URL, and saving keeps it as cid:.
    row.locator("td a").click()
    expect(page.locator("[data-editor-area] img[data-cid]")).to_have_count(1)
    page.locator(".template-form .actions button[type=submit]").click()
    expect(page.locator("#template-results tbody tr")).to_have_count(1)
    template.refresh_from_db()
    assert f'src="cid:{files["image.png"].content_id}"' in template.body_html
    assert template.attachments.count() == 2

    ticket = ticket_create(queue=cast.boutique_queue, channel="email", subject="x")
    assert templates_for_ticket(user=cast.boutique_agent, ticket=ticket) == [template]

    mark_page(page)
    switch = page.locator("#template-results tbody tr").first.locator("button[role=switch]")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(
        page.locator("#template-results tbody tr").first.locator("button[role=switch]")
    ).to_have_attribute("aria-checked", "false")
    assert page_was_not_reloaded(page)
    template.refresh_from_db()
    assert not template.is_active
    assert templates_for_ticket(user=cast.boutique_agent, ticket=ticket) == []
