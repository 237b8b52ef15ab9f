"""Django's `i18n` tag library, with a `{% translate %}` that skips the lazy string.

`{% translate "Inbox" %}` resolves its literal to a lazy translation proxy, which the
engine then turns into a string through `localize`, `conditional_escape` and the proxy's
own machinery: ~20 µs a tag on this project's 2-core machines, where `gettext` is ~3 µs.
The ticket page has ninety of them. For a plain literal (no filter, no `noop`, no
`context`), this node calls `gettext` directly; its output is the same SafeString Django's
node gives. Every other form goes to Django's own code.

Registered on Django's own `i18n` library when the app loads (CoreConfig.ready), so every
`{% load i18n %}` gets it. A library of our own under the same name would do the same
through settings, at the price of a system-check warning on every command.
"""

from __future__ import annotations

from typing import Any

from django.template.base import Parser, Token, Variable
from django.templatetags import i18n as django_i18n
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext


class LiteralTranslateNode(django_i18n.TranslateNode):
    """`{% translate "literal" [as var] %}` translated with one `gettext` call."""

    msgid: str | None = None

    def render(self, context: Any) -> str:
        if self.msgid is None:
            return super().render(context)  # type: ignore[no-any-return]
        # What Django's node does for a literal: gettext of the literal with "%" doubled
        # (safe, so the result is safe and never escaped), then "%%" turned back to "%".
        value = mark_safe(gettext(self.msgid).replace("%%", "%"))
        if self.asvar:
            context[self.asvar] = value
            return ""
        return value


def _literal_msgid(node: django_i18n.TranslateNode) -> str | None:
    expression = node.filter_expression
    var = expression.var
    if node.noop or node.message_context or expression.filters or not isinstance(var, Variable):
        return None
    literal = var.literal
    if not isinstance(literal, SafeString):  # a variable, not a quoted string
        return None
    return mark_safe(literal.replace("%", "%%"))


def do_translate(parser: Parser, token: Token) -> django_i18n.TranslateNode:
    """Django's `{% translate %}`, made a LiteralTranslateNode when it holds a literal."""
    node = django_i18n.do_translate(parser, token)
    msgid = _literal_msgid(node)
    if msgid is not None:
        node.__class__ = LiteralTranslateNode
        node.msgid = msgid  # type: ignore[attr-defined]
    return node


def install_literal_translate() -> None:
    """Make `{% translate %}` and `{% trans %}` of Django's i18n library use do_translate."""
    django_i18n.register.tag("translate", do_translate)
    django_i18n.register.tag("trans", do_translate)
