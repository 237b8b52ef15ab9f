"""Django's `{% url %}`, with the shape of each URL reversed once per process.

`reverse()` matches the name against the URL patterns, checks every argument against its
converter and quotes the result: ~40 µs a tag on this project's 2-core machines, and the
ticket page has thirty, most of them `{% url 'ticket_x' ticket.pk %}`. For a name without
namespace whose arguments are all `<int:…>` path converters, and arguments that are
non-negative ints, this node reverses the name once with marker numbers, keeps the URL cut
at the markers and fills in the numbers: the URL `reverse()` gives for any such int. Any
other case (keyword arguments, strings, namespaces, other converters, a failed reverse)
runs Django's own code. Registered on Django's built-in tags in CoreConfig.ready.
"""

from __future__ import annotations

from typing import Any

from django.template import defaulttags
from django.template.base import Parser, Token
from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse
from django.urls.converters import IntConverter
from django.utils.html import conditional_escape
from django.utils.translation import get_language

_MARK = 7_391_053_862  # + argument index: numbers no URL of ours holds otherwise

_shapes: dict[tuple[Any, ...], tuple[str, ...] | None] = {}


def _int_only(view_name: str, nargs: int, urlconf: str | None) -> bool:
    """Whether `view_name` has one URL pattern, whose `nargs` arguments are all <int:…>."""
    if ":" in view_name:
        return False  # namespaced: reverse() has more to decide
    entries = get_resolver(urlconf).reverse_dict.getlist(view_name)
    if len(entries) != 1:
        return False
    possibilities, _pattern, _defaults, converters = entries[0]
    if len(possibilities) != 1 or len(possibilities[0][1]) != nargs:
        return False
    return len(converters) == nargs and all(type(c) is IntConverter for c in converters.values())


def url_shape(view_name: str, nargs: int, current_app: str | None) -> tuple[str, ...] | None:
    """The URL of `view_name` cut where its `nargs` int arguments go, or None."""
    urlconf = get_urlconf()
    key = (view_name, nargs, current_app, get_script_prefix(), urlconf, get_language())
    try:
        return _shapes[key]
    except KeyError:
        pass
    shape: tuple[str, ...] | None = None
    if _int_only(view_name, nargs, urlconf):
        marks = [str(_MARK + i) for i in range(nargs)]
        try:
            url = reverse(
                view_name, args=[_MARK + i for i in range(nargs)], current_app=current_app
            )
        except NoReverseMatch:
            url = None
        if url is not None and all(url.count(m) == 1 for m in marks):
            parts, rest = [], url
            for mark in marks:
                head, rest = rest.split(mark)
                parts.append(head)
            shape = (*parts, rest)
    # Two threads may compute the same shape at once; both get the same, one is kept.
    _shapes[key] = shape
    return shape


class ShapedURLNode(defaulttags.URLNode):
    """`{% url %}` that fills in a URL shape when it can (see the module's docstring)."""

    def render(self, context: Any) -> str:
        if self.kwargs:
            return super().render(context)  # type: ignore[no-any-return]
        args = [arg.resolve(context) for arg in self.args]
        if not all(type(a) is int and a >= 0 for a in args):
            return super().render(context)  # type: ignore[no-any-return]
        view_name = self.view_name.resolve(context)
        request = getattr(context, "request", None)
        current_app = getattr(request, "current_app", None)
        if current_app is None:
            current_app = getattr(getattr(request, "resolver_match", None), "namespace", None)
        shape = url_shape(view_name, len(args), current_app) if isinstance(view_name, str) else None
        if shape is None:
            return super().render(context)  # type: ignore[no-any-return]
        url = shape[0] + "".join(str(a) + part for a, part in zip(args, shape[1:], strict=True))
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


def do_url(parser: Parser, token: Token) -> defaulttags.URLNode:
    """Django's `{% url %}`, as a ShapedURLNode."""
    node = defaulttags.url(parser, token)
    node.__class__ = ShapedURLNode
    return node


def install_url_shapes() -> None:
    """Make the built-in `{% url %}` tag build ShapedURLNodes."""
    defaulttags.register.tag("url", do_url)
