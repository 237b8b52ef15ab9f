"""Highlights computed in Python for SQLite, matching words as FTS5's unicode61 reads them.

FTS5's own highlight()/snippet() re-run the MATCH for each row asked (a prefix query over
the whole index, twenty times for a page): reading the page's stored text by id and
finding the words here costs a few milliseconds instead. The text is folded character
for character (lower case, accents removed: "Résilié" reads "resilie", offsets unchanged),
searched for the folded terms as literals, and each hit kept only on word boundaries; a
phrase's words must follow each other (punctuation between them allowed), a prefix term
marks the whole word it starts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

from comptoir.search.marks import START, STOP
from comptoir.search.query import SearchQuery

# Enough text for a snippet: past this, a long ticket's body is not scanned.
SCAN_LIMIT = 200_000
SNIPPET_CHARS = 200
_FIRST_WORDS = re.compile(r"(?:[\W_]*[^\W_]+){1,30}")


def fold(word: str) -> str:
    """A word as the index stores it: no accents, no case."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """Accented Latin letters to their base letter, one character for one."""
    table: dict[int, str] = {}
    for code in range(0x00C0, 0x0250):
        base = fold(chr(code))
        if len(base) == 1:
            table[code] = base
    return table


def folded(text: str) -> str:
    """`text` folded character for character, so that offsets stay those of `text`."""
    flat = text.lower()
    if len(flat) != len(text):
        return "".join(f if len(f := fold(c)) == 1 else c for c in text)
    table = _fold_table()
    # A few distinct accented letters per text: one C-level replace each beats translate().
    for char in {c for c in set(flat) if ord(c) >= 0xC0}:
        base = table.get(ord(char))
        if base is not None and base != char:
            flat = flat.replace(char, base)
    return flat


def _is_word(char: str) -> bool:
    return char.isalnum()


class Matcher:
    """Finds the searched terms in text: literal search on folded text, then word bounds."""

    def __init__(self, query: SearchQuery) -> None:
        self.query = query
        terms = query.terms
        self.prefix = [t.prefix for t in terms]
        self.group_of = [g for g, group in enumerate(query.groups) for _t in group]
        alternatives = [r"[\W_]+".join(re.escape(fold(r)) for r in t.runs) for t in terms]
        pattern = "|".join(f"({a})" for a in alternatives)
        self.pattern = re.compile(pattern or r"(?!)")
        self.first_words = {fold(t.runs[0]) for t in terms}

    def finditer(self, text: str) -> Iterator[tuple[int, int, int]]:
        """(start, end, term index) of each whole-word occurrence of a term."""
        flat = folded(text)
        size = len(flat)
        for m in self.pattern.finditer(flat):
            start, end = m.span()
            if start > 0 and _is_word(flat[start - 1]):
                continue
            term = (m.lastindex or 1) - 1
            if self.prefix[term]:
                while end < size and _is_word(flat[end]):
                    end += 1
            elif end < size and _is_word(flat[end]):
                continue
            yield start, end, term

    def first(self, flat: str) -> int | None:
        """Where the first term starts in folded text (str.find: no regex over long text)."""
        best: int | None = None
        for word in self.first_words:
            position = flat.find(word)
            while position != -1 and (best is None or position < best):
                if position == 0 or not _is_word(flat[position - 1]):
                    best = position
                    break
                position = flat.find(word, position + 1)
        return best

    def share_in(self, text: str) -> float:
        """The share of the query's AND groups found in `text` (0 to 1)."""
        if not self.query.groups or not text:
            return 0.0
        groups = {self.group_of[term] for _s, _e, term in self.finditer(text)}
        return len(groups) / len(self.query.groups)


def mark_all(text: str, matcher: Matcher) -> str:
    """`text` with every searched term between the markers."""
    out, position = [], 0
    for start, end, _term in matcher.finditer(text):
        out += [text[position:start], START, text[start:end], STOP]
        position = end
    out.append(text[position:])
    return "".join(out)


def snippet(text: str, matcher: Matcher) -> str:
    """About SNIPPET_CHARS characters from just before the first searched term, marked."""
    text = text[:SCAN_LIMIT]
    position = matcher.first(folded(text))
    if position is None:
        first = _FIRST_WORDS.match(text)
        words = first.group(0).strip() if first else ""
        return words + (" …" if first and first.end() < len(text.rstrip()) else "")
    start = _word_start(text, max(0, position - 40))
    end = _word_end(text, min(len(text), start + SNIPPET_CHARS))
    marked = mark_all(text[start:end], matcher).strip()
    return ("… " if start > 0 else "") + marked + (" …" if end < len(text) else "")


def _word_start(text: str, index: int) -> int:
    while 0 < index < len(text) and not text[index - 1].isspace():
        index -= 1
    return index


def _word_end(text: str, index: int) -> int:
    while index < len(text) and not text[index].isspace():
        index += 1
    return index
