"""What the agent typed, turned into a safe, small query: never raw syntax for the engines.

Supported: words (all must match), "quoted phrases", `OR` between two terms, `-word` (or
`NOT word`) to exclude, `word*` for a prefix (3 characters at least). Anything else is
taken as text: stray quotes, operators and punctuation cannot make a query fail. The
backends render these terms with each engine's own tokenizer (FTS5 quoted strings,
PostgreSQL's phraseto_tsquery), so "CMD-12345" or "l'article" are read as they were indexed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

MAX_LENGTH = 200
MAX_TERMS = 12
MIN_PREFIX = 3

# A quoted phrase (closing quote optional, then an optional *), or a run of non-space.
_TOKEN = re.compile(r'"([^"]*)"?(\*?)|(\S+)')
# Letters and digits: what both tokenizers keep (FTS5's unicode61 splits on "_" too).
_RUN = re.compile(r"[^\W_]+")
_OR = {"OR", "|", "||", "OU"}
_AND = {"AND", "&", "&&", "+", "ET"}
_NOT = {"NOT", "!", "SAUF"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_QUOTES = str.maketrans({"«": '"', "»": '"', "“": '"', "”": '"', "„": '"'})


@dataclass(frozen=True)
class Term:
    """A word or phrase: `text` as typed (for PostgreSQL's parser), `runs` its words."""

    text: str
    runs: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class SearchQuery:
    """Groups all must match; within a group, any term may (OR). `excluded` must not."""

    groups: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()
    notices: tuple[str, ...] = field(default=())
    problem: str = ""  # why nothing can be searched (empty or only exclusions)

    @property
    def is_searchable(self) -> bool:
        return bool(self.groups) and not self.problem

    @property
    def terms(self) -> list[Term]:
        return [t for g in self.groups for t in g]


def parse_query(raw: str | None) -> SearchQuery:
    """Read the agent's text; `problem` or `notices` explain what could not be used."""
    text = unicodedata.normalize("NFC", (raw or "").translate(_QUOTES))
    # Control characters (NUL, the highlight markers…) are no text anyone searches for.
    text = _CONTROL.sub(" ", text).strip()
    notices: list[str] = []
    if not text:
        return SearchQuery(problem=str(_("Type a word to search for.")))
    if len(text) > MAX_LENGTH:
        text = text[:MAX_LENGTH]
        notices.append(
            str(
                _("Your search was shortened to its first %(count)d characters.")
                % {"count": MAX_LENGTH}
            )
        )
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    join_next = negate_next = False
    short_prefix = dropped = False
    count = 0
    for match in _TOKEN.finditer(text):
        quoted, star, bare = match.group(1), match.group(2), match.group(3)
        negate = negate_next
        negate_next = False
        if bare is not None:
            # Operators in capitals only: "or", "ou" and "et" are also plain words.
            word = bare
            if word in _OR:
                join_next = bool(groups)
                continue
            if word in _AND:
                continue
            if word in _NOT:
                negate_next = True
                continue
            stripped = bare.lstrip("-+")
            negate = negate or (bare.startswith("-") and bool(_RUN.search(stripped)))
            body = stripped.rstrip("*")
            prefix = body != stripped
            # A * inside a word is no operator: "a*b" is the words a and b.
            body = body.replace("*", " ")
        else:
            body, prefix = quoted, bool(star)
        runs = tuple(_RUN.findall(body))
        if not runs:
            continue  # only punctuation or operators: nothing to look for
        if prefix and len(runs[-1]) < MIN_PREFIX:
            prefix = False
            short_prefix = True
        if count == MAX_TERMS:
            dropped = True
            break
        count += 1
        term = Term(text=" ".join(body.split()), runs=runs, prefix=prefix)
        if negate:
            excluded.append(term)
            join_next = False
        elif join_next and groups:
            groups[-1].append(term)
            join_next = False
        else:
            groups.append([term])
    if short_prefix:
        notices.append(
            str(
                _("A * needs at least %(count)d letters before it: it was ignored.")
                % {"count": MIN_PREFIX}
            )
        )
    if dropped:
        notices.append(
            str(
                ngettext_lazy(
                    "Only the first %(count)d word was searched.",
                    "Only the first %(count)d words were searched.",
                    MAX_TERMS,
                )
                % {"count": MAX_TERMS}
            )
        )
    problem = ""
    if not groups:
        problem = (
            str(_("Add a word to look for: words after a minus sign are only excluded."))
            if excluded
            else str(_("Type a word to search for: letters or digits."))
        )
    return SearchQuery(
        groups=tuple(tuple(g) for g in groups),
        excluded=tuple(excluded),
        notices=tuple(notices),
        problem=problem,
    )
