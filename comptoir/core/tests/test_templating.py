"""The faster `{% translate %}` and `{% url %}`: the very output of Django's own tags."""

from __future__ import annotations

import pytest
from django.template import Context, Engine
from django.templatetags import i18n as django_i18n
from django.utils import translation
from django.utils.html import conditional_escape

from comptoir.core.templating.i18n import LiteralTranslateNode
from comptoir.core.templating.urls import ShapedURLNode

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


# {% url %} ---------------------------------------------------------------------------


def _int_url_names() -> list[tuple[str, int]]:
    """Every named URL of the project whose arguments are all <int:…>, with its count."""
    from django.urls import get_resolver
    from django.urls.converters import IntConverter

    names = []
    resolver = get_resolver()
    for name in resolver.reverse_dict:
        if not isinstance(name, str):
            continue
        for _possibilities, _pattern, _defaults, converters in resolver.reverse_dict.getlist(name):
            if converters and all(type(c) is IntConverter for c in converters.values()):
                names.append((name, len(converters)))
    return sorted(set(names))


def test_the_project_has_int_urls_to_check() -> None:
    assert len(_int_url_names()) > 30


@pytest.mark.parametrize("name,nargs", _int_url_names())
def test_every_int_url_renders_as_reverse_gives_it(name: str, nargs: int) -> None:
    from django.urls import reverse

    args = [7, 123456789012][:nargs] + [3] * max(0, nargs - 2)
    engine = Engine()
    source = "{% url name " + " ".join(f"a{i}" for i in range(nargs)) + " %}"
    template = engine.from_string(source)
    context = Context({"name": name, **{f"a{i}": a for i, a in enumerate(args)}})

    assert template.render(context) == conditional_escape(reverse(name, args=args))
    assert type(template.nodelist[0]) is ShapedURLNode


def test_a_url_tag_outside_the_int_shape_runs_djangos_reverse() -> None:
    from django.urls import NoReverseMatch, reverse

    engine = Engine()
    render = lambda source, **ctx: engine.from_string(source).render(Context(ctx))  # noqa: E731
    # No argument, a string argument, a keyword argument: reverse() itself.
    assert render("{% url 'inbox' %}") == reverse("inbox")
    assert render("{% url 'ticket_detail' pk %}", pk="12") == reverse("ticket_detail", args=["12"])
    assert render("{% url 'ticket_detail' ticket_id=12 %}") == reverse(
        "ticket_detail", kwargs={"ticket_id": 12}
    )
    # A namespaced name.
    assert render("{% url 'admin:index' %}") == reverse("admin:index")
    # What Django refuses stays refused: a negative id matches no <int:…>.
    with pytest.raises(NoReverseMatch):
        render("{% url 'ticket_detail' pk %}", pk=-3)
    assert render("{% url 'no_such_page' 3 as u %}[{{ u }}]") == "[]"


def test_url_shapes_follow_the_script_prefix() -> None:
    from django.urls import set_script_prefix

    template = Engine().from_string("{% url 'ticket_detail' 5 %}")
    try:
        set_script_prefix("/desk/")
        assert template.render(Context()) == "/desk/tickets/5/"
    finally:
        set_script_prefix("/")
    assert template.render(Context()) == "/tickets/5/"
