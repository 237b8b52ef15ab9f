"""The faster `{% translate %}`: the very output of Django's own tag, in both languages."""

from __future__ import annotations

import pytest
from django.template import Context, Engine
from django.templatetags import i18n as django_i18n
from django.utils import translation

from comptoir.core.templating.i18n import LiteralTranslateNode

SOURCES = [
    "{% translate 'Inbox' %}",
    '{% translate "Log out" %}',
    "{% trans 'Inbox' %}",
    "{% translate 'Inbox' as label %}[{{ label }}]",
    "{% translate '100% <b>bold</b> & co' %}",
    "{% translate 'x%%y' %}",
    "{% translate 'Inbox' noop %}",
    "{% translate 'May' context 'month name' %}",
    "{% translate 'Inbox'|upper %}",
    "{% translate message %}",
    "{% autoescape off %}{% translate 'a < b' %}{% endautoescape %}",
]


def _render(source: str, language: str) -> str:
    engine = Engine(libraries={"i18n": "django.templatetags.i18n"})
    template = engine.from_string("{% load i18n %}" + source)
    with translation.override(language):
        return template.render(Context({"message": "Inbox <i>"}))


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_literal_node_renders_what_djangos_node_renders(
    source: str, language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _render(source, language)
    with monkeypatch.context() as m:
        m.setitem(django_i18n.register.tags, "translate", django_i18n.do_translate)
        m.setitem(django_i18n.register.tags, "trans", django_i18n.do_translate)
        reference = _render(source, language)

    assert fast == reference


def test_literals_get_the_literal_node_and_other_forms_keep_djangos() -> None:
    engine = Engine(libraries={"i18n": "django.templatetags.i18n"})
    nodes = engine.from_string(
        "{% load i18n %}{% translate 'Inbox' %}{% translate 'Inbox' noop %}"
        "{% translate message %}{% translate 'Inbox'|upper %}"
    ).nodelist[1:]

    assert [type(n) is LiteralTranslateNode for n in nodes] == [True, False, False, False]


def test_a_literal_is_translated_in_the_language_of_each_render() -> None:
    assert _render("{% translate 'Inbox' %}", "fr") == "Demandes"
    assert _render("{% translate 'Inbox' %}", "en") == "Inbox"
