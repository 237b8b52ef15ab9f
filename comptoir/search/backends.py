"""The two engines behind the search: SQLite FTS5 and PostgreSQL full-text search.

Each one turns a parsed query into its own syntax (never splicing the agent's text into
SQL or into a query language: FTS5 gets quoted strings of letters and digits, PostgreSQL
gets parameters of phraseto_tsquery), lists candidate tickets newest first (with a score
when asked), and highlights the few rows a page shows. Highlights come back with U+0002 and
U+0003 around matches (never present in the indexed text); `marks.marked` escapes the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import connection, transaction
from django.db.utils import DatabaseError, OperationalError
from django.utils.translation import gettext as _

from comptoir.search.highlight import Matcher, mark_all, snippet
from comptoir.search.query import SearchQuery, Term

HEAD_FIELDS = 4  # subject, contact's name, contact's company, requester's name
SNIPPET_WORDS = 24
# Messages of a ticket looked at for its snippet on PostgreSQL (newest first).
SNIPPET_MESSAGES = 40
STATEMENT_TIMEOUT_MS = 5000
# Newest documents PostgreSQL tests one by one before it asks the GIN index (and at most
# how many a second walk may test when the first found some matches).
WALK = 1500
WALK_MAX = 12_000


class SearchUnavailable(Exception):
    """The engine refused or gave up on this query; the message is fit for the agent."""


@dataclass(frozen=True)
class Highlight:
    """Marked text of one ticket: head fields and a snippet of its messages."""

    subject: str
    contact_name: str
    company: str
    requester_name: str
    snippet: str


class Engine(Protocol):
    def prepare(self, query: SearchQuery) -> Any: ...

    def candidates(
        self, prepared: Any, workspace_ids: list[int], limit: int, ranked: bool
    ) -> list[tuple[int, float]]: ...

    def highlights(self, prepared: Any, ticket_ids: list[int]) -> dict[int, Highlight]: ...


def engine() -> Engine:
    """The engine of the default database."""
    if connection.vendor == "postgresql":
        return PostgresEngine()
    if connection.vendor == "sqlite":
        return SqliteEngine()
    raise SearchUnavailable(_("Search is not available on this database."))


# SQLite -------------------------------------------------------------------------------


def _fts_string(term: Term) -> str:
    # Runs are letters and digits only: nothing in them can close the quotes.
    quoted = '"' + " ".join(term.runs) + '"'
    return quoted + " *" if term.prefix else quoted


def fts_expression(query: SearchQuery) -> str:
    """The agent's part of an FTS5 MATCH, confined to the head and body columns."""
    groups = ["(" + " OR ".join(_fts_string(t) for t in g) + ")" for g in query.groups]
    expression = " AND ".join(groups)
    if query.excluded:
        excluded = " OR ".join(_fts_string(t) for t in query.excluded)
        expression = f"({expression}) NOT ({excluded})"
    return "{head body} : (" + expression + ")"


@dataclass(frozen=True)
class SqliteQuery:
    expression: str
    query: SearchQuery
    matcher: Matcher


class SqliteEngine:
    """FTS5 table search_ticket_fts: rowid = ticket id; columns scope, head, body.

    Stored text is read from FTS5's content table (`search_ticket_fts_content`, columns
    id, c0 = scope, c1 = head, c2 = body): a lookup by id there costs a B-tree probe, where
    `search_ticket_fts WHERE rowid IN (…)` costs FTS5's whole query setup per value
    (~20 times slower for 500 rows).
    """

    def prepare(self, query: SearchQuery) -> SqliteQuery:
        return SqliteQuery(fts_expression(query), query, Matcher(query))

    def candidates(
        self, prepared: SqliteQuery, workspace_ids: list[int], limit: int, ranked: bool
    ) -> list[tuple[int, float]]:
        scope = " OR ".join(f'"w{int(w)}"' for w in workspace_ids)
        # The scope column holds "w<workspace id>": FTS5 confines the search itself.
        match = f"scope : ({scope}) AND {prepared.expression}"
        sql = (
            "SELECT rowid FROM search_ticket_fts WHERE search_ticket_fts MATCH %s "
            "ORDER BY rowid DESC LIMIT %s"
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, [match, limit])
                ids = [int(pk) for (pk,) in cursor.fetchall()]
        except OperationalError as exc:
            raise SearchUnavailable(_("This search could not be run: try other words.")) from exc
        if not ranked or not ids:
            return [(pk, 0.0) for pk in ids]
        # FTS5's bm25() first counts every match of every phrase in the whole index (a
        # common word: tens of thousands of rows) before scoring the rows asked. Relevance
        # here: the share of the searched words found in the subject or names.
        heads = dict(self._stored(ids, "c1"))
        return [(pk, prepared.matcher.share_in(heads.get(pk, ""))) for pk in ids]

    def highlights(self, prepared: SqliteQuery, ticket_ids: list[int]) -> dict[int, Highlight]:
        out: dict[int, Highlight] = {}
        for pk, head, body in self._stored(ticket_ids, "c1, c2"):
            fields = mark_all(head or "", prepared.matcher).split("\x1f")
            subject, name, company, requester = (fields + [""] * HEAD_FIELDS)[:HEAD_FIELDS]
            out[int(pk)] = Highlight(
                subject=subject,
                contact_name=name,
                company=company,
                requester_name=requester,
                snippet=snippet(body or "", prepared.matcher),
            )
        return out

    def _stored(self, ids: list[int], columns: str) -> list[tuple[Any, ...]]:
        if not ids:
            return []
        marks = ", ".join(["%s"] * len(ids))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, {columns} FROM search_ticket_fts_content WHERE id IN ({marks})", ids
            )
            return list(cursor.fetchall())


# PostgreSQL ---------------------------------------------------------------------------

CONFIG = "comptoir_french"


def _pg_term(term: Term, params: list[Any]) -> str:
    if not term.prefix:
        # phraseto_tsquery reads plain text with the indexing parser: no syntax to escape.
        params.append(term.text)
        return f"phraseto_tsquery('{CONFIG}', %s)"
    # Only the last word is a prefix; its letters and digits are safe tsquery syntax.
    prefix = f"to_tsquery('{CONFIG}', %s)"
    if len(term.runs) == 1:
        params.append(term.runs[0] + ":*")
        return prefix
    params.append(" ".join(term.runs[:-1]))
    params.append(term.runs[-1] + ":*")
    return f"tsquery_phrase(phraseto_tsquery('{CONFIG}', %s), {prefix})"


def _pg_or(terms: tuple[Term, ...], params: list[Any]) -> str:
    return "(" + " || ".join(_pg_term(t, params) for t in terms) + ")"


@dataclass(frozen=True)
class PgQuery:
    tsquery: str  # PostgreSQL's own text form of the whole query
    any_term: str  # any positive term: picks the messages a snippet shows


class PostgresEngine:
    """Table search_ticket_doc (ticket id, workspace id, doc tsvector) with a GIN index."""

    def prepare(self, query: SearchQuery) -> PgQuery:
        params: list[Any] = []
        positive = " && ".join(_pg_or(g, params) for g in query.groups)
        whole = positive
        if query.excluded:
            whole = f"({positive}) && !!{_pg_or(query.excluded, params)}"
        any_term = _pg_or(tuple(t for g in query.groups for t in g), params)
        positive_params = params[: _count_params(query.groups)]
        sql = f"SELECT ({whole})::text, ({any_term})::text, numnode({positive})"
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *positive_params])
            whole_text, any_text, nodes = cursor.fetchone()
        if not nodes:
            raise SearchUnavailable(
                _("These words are too common to search for (le, la, de…): add a more precise one.")
            )
        return PgQuery(tsquery=whole_text, any_term=any_text)

    def candidates(
        self, prepared: PgQuery, workspace_ids: list[int], limit: int, ranked: bool
    ) -> list[tuple[int, float]]:
        # Subject and names weigh A, messages D; normalized by the document's length.
        score = "ts_rank('{0.1, 0.2, 0.4, 1.0}', doc, %s::tsquery, 1)" if ranked else "0"
        rank_params: list[Any] = [prepared.tsquery] if ranked else []
        # Common words first: the newest WALK documents, read backwards along the primary
        # key and tested one by one, hold `limit` matches when a word is in one ticket of
        # WALK / limit or more. The planner cannot know that for a query of several words
        # (it multiplies their frequencies) and would fetch every match through the index.
        walk = (
            f"SELECT ticket_id, {score} FROM (SELECT ticket_id, doc FROM search_ticket_doc "
            "WHERE workspace_id = ANY(%s) ORDER BY ticket_id DESC LIMIT %s) newest "
            "WHERE doc @@ %s::tsquery ORDER BY ticket_id DESC LIMIT %s"
        )
        rows = self._bounded(
            walk, [*rank_params, list(workspace_ids), WALK, prepared.tsquery, limit]
        )
        if 0 < len(rows) < limit:
            # Medium-frequency words: the first walk tells how far a second must go.
            needed = math.ceil(1.3 * limit * WALK / len(rows))
            if needed <= WALK_MAX:
                rows = self._bounded(
                    walk, [*rank_params, list(workspace_ids), needed, prepared.tsquery, limit]
                )
        if len(rows) < limit:
            # Rarer words: the GIN index lists every match.
            indexed = (
                f"SELECT ticket_id, {score} FROM search_ticket_doc "
                "WHERE workspace_id = ANY(%s) AND doc @@ %s::tsquery "
                "ORDER BY ticket_id DESC LIMIT %s"
            )
            rows = self._bounded(
                indexed, [*rank_params, list(workspace_ids), prepared.tsquery, limit]
            )
        return [(int(pk), float(s)) for pk, s in rows]

    def highlights(self, prepared: PgQuery, ticket_ids: list[int]) -> dict[int, Highlight]:
        if not ticket_ids:
            return {}
        whole = f"HighlightAll=true, {_SELECTORS}"
        fragments = (
            f"MaxFragments=2, MaxWords={SNIPPET_WORDS}, MinWords=8, ShortWord=2, "
            f'FragmentDelimiter=" … ", {_SELECTORS}'
        )
        # The snippet: the newest messages that hold a searched word (at most 3 of the
        # last SNIPPET_MESSAGES), else the first words of the newest one.
        sql = f"""
            SELECT t.id,
              ts_headline('{CONFIG}', search_clean(t.subject), q.whole, %(whole)s),
              ts_headline('{CONFIG}', search_clean(concat_ws(' ', c.first_name, c.last_name)),
                          q.whole, %(whole)s),
              ts_headline('{CONFIG}', search_clean(coalesce(c.company, '')), q.whole, %(whole)s),
              ts_headline('{CONFIG}', search_clean(t.requester_name), q.whole, %(whole)s),
              ts_headline('{CONFIG}', coalesce(hits.text, newest.text, ''), q.whole,
                          %(fragments)s)
            FROM (SELECT %(whole_q)s::tsquery AS whole, %(any_q)s::tsquery AS any) q
            CROSS JOIN tickets_ticket t
            LEFT JOIN contacts_contact c ON c.id = t.contact_id
            LEFT JOIN LATERAL (
                SELECT string_agg(x.b, E'\\n' ORDER BY x.created_at DESC, x.id DESC) AS text
                FROM (
                    SELECT r.b, r.created_at, r.id FROM ({_RECENT}) r
                    WHERE to_tsvector('{CONFIG}', r.b) @@ q.any
                    ORDER BY r.created_at DESC, r.id DESC LIMIT 3
                ) x
            ) hits ON true
            LEFT JOIN LATERAL (
                SELECT r.b AS text FROM ({_RECENT}) r ORDER BY r.created_at DESC, r.id DESC LIMIT 1
            ) newest ON true
            WHERE t.id = ANY(%(ids)s)
        """
        params = {
            "whole": whole,
            "fragments": fragments,
            "whole_q": prepared.tsquery,
            "any_q": prepared.any_term,
            "ids": list(ticket_ids),
        }
        rows = self._bounded(sql, params)
        return {int(r[0]): Highlight(*(v or "" for v in r[1:])) for r in rows}

    def _bounded(self, sql: str, params: Any) -> list[tuple[Any, ...]]:
        """Run a read under a statement timeout: a runaway query is refused, not waited."""
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        except DatabaseError as exc:
            raise SearchUnavailable(
                _("This search took too long: add words or make them more precise.")
            ) from exc


_SELECTORS = "StartSel=\x02, StopSel=\x03"
# The newest messages of ticket t (correlated), cut to what a snippet may need.
_RECENT = (
    "SELECT search_clean(left(m.body_text, 4000)) AS b, m.created_at, m.id "
    "FROM tickets_message m "
    "WHERE m.ticket_id = t.id AND m.kind <> 'automatic' AND m.body_text <> '' "
    f"ORDER BY m.created_at DESC, m.id DESC LIMIT {SNIPPET_MESSAGES}"
)


def _count_params(groups: tuple[tuple[Term, ...], ...]) -> int:
    count = 0
    for group in groups:
        for term in group:
            count += 1 if not term.prefix or len(term.runs) == 1 else 2
    return count
