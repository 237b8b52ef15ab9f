"""The full-text index of tickets and the database triggers that keep it in step.

One document per ticket: its workspace, a "head" (subject, contact's name and company,
requester's name) and a "body" (the text of its messages, automatic ones excepted). Triggers
on tickets, messages and contacts keep it current on every write path, the bulk ingest's
raw INSERTs included (docs/decisions/0006-full-text-search.md says why triggers).

- SQLite: an FTS5 table `search_ticket_fts` (rowid = ticket id; columns scope, head, body;
  `unicode61 remove_diacritics 2`, so "resilie" finds "résilié"). The scope column holds
  "w<workspace id>": a search is confined to the user's workspaces inside FTS5 itself.
  A new message appends its text to the ticket's document.
- PostgreSQL: a table `search_ticket_doc` (ticket id, workspace id, one tsvector: the head
  with weight A, then the body) with a GIN index, in the text search configuration
  `comptoir_french`: `french` with the `unaccent` dictionary before the French stemmer (the
  unaccent extension is created here). A new message's tsvector is appended;
  statement-level triggers with transition tables handle a multi-row INSERT in one UPDATE.

Field separators and highlight markers: the head's fields are joined by U+001F (a token
separator for both tokenizers); U+0002/U+0003 mark highlights in snippets, so they are
removed from the indexed text. Limits: 20,000 characters of each message; SQLite stops
appending past 1,000,000 characters of body, PostgreSQL when the tsvector would pass its
1 MB limit (the ticket's later messages are then not searchable; a write never fails).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def _clean(expr: str) -> str:
    # Marker and separator characters never reach the index (snippets rely on it).
    return f"replace(replace(replace({expr}, char(2), ''), char(3), ''), char(31), ' ')"


def _sqlite_head(t: str) -> str:
    contact = (
        f"(SELECT {_clean('c.first_name')} || ' ' || {_clean('c.last_name')} || char(31) || "
        f"{_clean('c.company')} FROM contacts_contact c WHERE c.id = {t}.contact_id)"
    )
    return (
        f"{_clean(f'{t}.subject')} || char(31) || coalesce({contact}, char(31)) || char(31) || "
        f"{_clean(f'{t}.requester_name')}"
    )


SQLITE_MESSAGE_TEXT = _clean("substr(m.body_text, 1, 20000)")


def _sqlite_body(ticket_id: str) -> str:
    return (
        "coalesce((SELECT substr(group_concat(b, char(10)), 1, 1000000) FROM ("
        f"SELECT {SQLITE_MESSAGE_TEXT} AS b FROM tickets_message m "
        f"WHERE m.ticket_id = {ticket_id} AND m.kind <> 'automatic' AND m.body_text <> '' "
        "ORDER BY m.created_at, m.id)), '')"
    )


SQLITE_FORWARD = [
    """
    CREATE VIRTUAL TABLE search_ticket_fts USING fts5(
        scope, head, body, tokenize = 'unicode61 remove_diacritics 2'
    )
    """,
    # Tickets.
    f"""
    CREATE TRIGGER search_ticket_ai AFTER INSERT ON tickets_ticket BEGIN
        DELETE FROM search_ticket_fts WHERE rowid = new.id;
        INSERT INTO search_ticket_fts (rowid, scope, head, body)
        VALUES (new.id, 'w' || new.workspace_id, {_sqlite_head("new")}, '');
    END
    """,
    f"""
    CREATE TRIGGER search_ticket_au
    AFTER UPDATE OF subject, contact_id, requester_name, workspace_id ON tickets_ticket
    WHEN old.subject IS NOT new.subject OR old.contact_id IS NOT new.contact_id
      OR old.requester_name IS NOT new.requester_name OR old.workspace_id IS NOT new.workspace_id
    BEGIN
        UPDATE search_ticket_fts SET scope = 'w' || new.workspace_id, head = {_sqlite_head("new")}
        WHERE rowid = new.id;
    END
    """,
    """
    CREATE TRIGGER search_ticket_ad AFTER DELETE ON tickets_ticket BEGIN
        DELETE FROM search_ticket_fts WHERE rowid = old.id;
    END
    """,
    # Messages: an insert appends (no re-read of the ticket's other messages).
    f"""
    CREATE TRIGGER search_message_ai AFTER INSERT ON tickets_message
    WHEN new.kind <> 'automatic' AND new.body_text <> ''
    BEGIN
        UPDATE search_ticket_fts SET body = CASE
            WHEN length(body) > 1000000 THEN body
            WHEN body = '' THEN {SQLITE_MESSAGE_TEXT.replace("m.", "new.")}
            ELSE body || char(10) || {SQLITE_MESSAGE_TEXT.replace("m.", "new.")} END
        WHERE rowid = new.ticket_id;
    END
    """,
    f"""
    CREATE TRIGGER search_message_au AFTER UPDATE OF body_text, kind, ticket_id ON tickets_message
    WHEN old.body_text IS NOT new.body_text OR old.kind IS NOT new.kind
      OR old.ticket_id IS NOT new.ticket_id
    BEGIN
        UPDATE search_ticket_fts SET body = {_sqlite_body("old.ticket_id")}
        WHERE rowid = old.ticket_id;
        UPDATE search_ticket_fts SET body = {_sqlite_body("new.ticket_id")}
        WHERE rowid = new.ticket_id AND new.ticket_id IS NOT old.ticket_id;
    END
    """,
    f"""
    CREATE TRIGGER search_message_ad AFTER DELETE ON tickets_message
    WHEN old.kind <> 'automatic' AND old.body_text <> ''
    BEGIN
        UPDATE search_ticket_fts SET body = {_sqlite_body("old.ticket_id")}
        WHERE rowid = old.ticket_id;
    END
    """,
    # Contacts: a new name reaches every ticket of the contact.
    f"""
    CREATE TRIGGER search_contact_au AFTER UPDATE OF first_name, last_name, company
    ON contacts_contact
    WHEN old.first_name IS NOT new.first_name OR old.last_name IS NOT new.last_name
      OR old.company IS NOT new.company
    BEGIN
        UPDATE search_ticket_fts
        SET head = (SELECT {_sqlite_head("t")} FROM tickets_ticket t
                    WHERE t.id = search_ticket_fts.rowid)
        WHERE rowid IN (SELECT id FROM tickets_ticket WHERE contact_id = new.id);
    END
    """,
    # What already exists (a database migrated with tickets in it).
    f"""
    INSERT INTO search_ticket_fts (rowid, scope, head, body)
    SELECT t.id, 'w' || t.workspace_id, {_sqlite_head("t")}, {_sqlite_body("t.id")}
    FROM tickets_ticket t
    """,
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS search_ticket_ai",
    "DROP TRIGGER IF EXISTS search_ticket_au",
    "DROP TRIGGER IF EXISTS search_ticket_ad",
    "DROP TRIGGER IF EXISTS search_message_ai",
    "DROP TRIGGER IF EXISTS search_message_au",
    "DROP TRIGGER IF EXISTS search_message_ad",
    "DROP TRIGGER IF EXISTS search_contact_au",
    "DROP TABLE IF EXISTS search_ticket_fts",
]

PG_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH CONFIGURATION comptoir_french (COPY = pg_catalog.french)",
    # asciiword needs no unaccent; words with accents are "word" / "hword_part".
    """
    ALTER TEXT SEARCH CONFIGURATION comptoir_french
        ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem
    """,
    """
    CREATE TABLE search_ticket_doc (
        ticket_id bigint PRIMARY KEY,
        workspace_id bigint NOT NULL,
        doc tsvector NOT NULL DEFAULT ''::tsvector
    )
    """,
    r"""
    CREATE FUNCTION search_clean(value text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT translate(value, E'\x02\x03\x1f', '  ') $$
    """,
    """
    CREATE FUNCTION search_head(subject text, contact bigint, requester text)
    RETURNS tsvector LANGUAGE sql STABLE
    AS $$
        SELECT setweight(to_tsvector('comptoir_french', concat_ws(' ', search_clean(subject),
            c.first_name, c.last_name, c.company, requester)), 'A')
        FROM (SELECT 1) AS one LEFT JOIN contacts_contact c ON c.id = contact
    $$
    """,
    # The whole body of a ticket, for the rare rewrites (message edited or deleted).
    r"""
    CREATE FUNCTION search_body(ticket bigint) RETURNS tsvector LANGUAGE sql STABLE
    AS $$
        SELECT coalesce(to_tsvector('comptoir_french', left(string_agg(
            search_clean(left(m.body_text, 20000)), E'\n' ORDER BY m.created_at, m.id), 500000)),
            ''::tsvector)
        FROM tickets_message m
        WHERE m.ticket_id = ticket AND m.kind <> 'automatic' AND m.body_text <> ''
    $$
    """,
    # A tsvector holds at most 1 MB of lexemes: past that, the ticket's document stops
    # growing rather than make the message's INSERT fail (its text output is an upper bound).
    """
    CREATE FUNCTION search_append(body tsvector, more tsvector) RETURNS tsvector
    LANGUAGE sql IMMUTABLE
    AS $$
        SELECT CASE WHEN length(body) = 0 THEN more
                    WHEN octet_length(body::text) + octet_length(more::text) < 1000000
                    THEN body || more ELSE body END
    $$
    """,
    # A ticket's whole document: head, then its messages' text.
    """
    CREATE FUNCTION search_doc(ticket bigint) RETURNS tsvector LANGUAGE sql STABLE
    AS $$
        SELECT search_head(t.subject, t.contact_id, t.requester_name) || search_body(t.id)
        FROM tickets_ticket t WHERE t.id = ticket
    $$
    """,
    """
    CREATE FUNCTION search_tickets_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO search_ticket_doc (ticket_id, workspace_id, doc)
        SELECT n.id, n.workspace_id, search_head(n.subject, n.contact_id, n.requester_name)
        FROM search_new_rows n
        ON CONFLICT (ticket_id) DO UPDATE SET workspace_id = EXCLUDED.workspace_id,
            doc = EXCLUDED.doc;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER search_tickets_inserted AFTER INSERT ON tickets_ticket
    REFERENCING NEW TABLE AS search_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION search_tickets_inserted()
    """,
    """
    CREATE FUNCTION search_ticket_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE search_ticket_doc SET workspace_id = NEW.workspace_id, doc = search_doc(NEW.id)
        WHERE ticket_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER search_ticket_changed
    AFTER UPDATE OF subject, contact_id, requester_name, workspace_id ON tickets_ticket
    FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject
        OR OLD.contact_id IS DISTINCT FROM NEW.contact_id
        OR OLD.requester_name IS DISTINCT FROM NEW.requester_name
        OR OLD.workspace_id IS DISTINCT FROM NEW.workspace_id)
    EXECUTE FUNCTION search_ticket_changed()
    """,
    """
    CREATE FUNCTION search_tickets_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM search_ticket_doc WHERE ticket_id IN (SELECT id FROM search_old_rows);
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER search_tickets_deleted AFTER DELETE ON tickets_ticket
    REFERENCING OLD TABLE AS search_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION search_tickets_deleted()
    """,
    # TRUNCATE (Django's flush between tests) fires no row trigger.
    """
    CREATE FUNCTION search_tickets_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE search_ticket_doc;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER search_tickets_truncated AFTER TRUNCATE ON tickets_ticket
    FOR EACH STATEMENT EXECUTE FUNCTION search_tickets_truncated()
    """,
    # Messages: one UPDATE per INSERT statement, each ticket's new text parsed once.
    r"""
    CREATE FUNCTION search_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE search_ticket_doc d SET doc = search_append(d.doc, a.vector)
        FROM (
            SELECT n.ticket_id, to_tsvector('comptoir_french', left(string_agg(
                search_clean(left(n.body_text, 20000)), E'\n' ORDER BY n.id), 500000)) AS vector
            FROM search_new_rows n
            WHERE n.kind <> 'automatic' AND n.body_text <> ''
            GROUP BY n.ticket_id
        ) a
        WHERE d.ticket_id = a.ticket_id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER search_messages_inserted AFTER INSERT ON tickets_message
    REFERENCING NEW TABLE AS search_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION search_messages_inserted()
    """,
    """
    CREATE FUNCTION search_message_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE search_ticket_doc SET doc = search_doc(ticket_id)
        WHERE ticket_id IN (OLD.ticket_id, NEW.ticket_id);
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER search_message_changed
    AFTER UPDATE OF body_text, kind, ticket_id ON tickets_message
    FOR EACH ROW WHEN (OLD.body_text IS DISTINCT FROM NEW.body_text
        OR OLD.kind IS DISTINCT FROM NEW.kind OR OLD.ticket_id IS DISTINCT FROM NEW.ticket_id)
    EXECUTE FUNCTION search_message_changed()
    """,
    """
    CREATE FUNCTION search_messages_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE search_ticket_doc SET doc = search_doc(ticket_id)
        WHERE ticket_id IN (SELECT ticket_id FROM search_old_rows
                            WHERE kind <> 'automatic' AND body_text <> '');
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER search_messages_deleted AFTER DELETE ON tickets_message
    REFERENCING OLD TABLE AS search_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION search_messages_deleted()
    """,
    """
    CREATE FUNCTION search_messages_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE search_ticket_doc d
        SET doc = search_head(t.subject, t.contact_id, t.requester_name)
        FROM tickets_ticket t WHERE t.id = d.ticket_id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER search_messages_truncated AFTER TRUNCATE ON tickets_message
    FOR EACH STATEMENT EXECUTE FUNCTION search_messages_truncated()
    """,
    """
    CREATE FUNCTION search_contact_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE search_ticket_doc d SET doc = search_doc(t.id)
        FROM tickets_ticket t WHERE t.contact_id = NEW.id AND d.ticket_id = t.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER search_contact_changed
    AFTER UPDATE OF first_name, last_name, company ON contacts_contact
    FOR EACH ROW WHEN (OLD.first_name IS DISTINCT FROM NEW.first_name
        OR OLD.last_name IS DISTINCT FROM NEW.last_name
        OR OLD.company IS DISTINCT FROM NEW.company)
    EXECUTE FUNCTION search_contact_changed()
    """,
    # What already exists, then the index (faster built once than row by row).
    r"""
    INSERT INTO search_ticket_doc (ticket_id, workspace_id, doc)
    SELECT t.id, t.workspace_id,
           search_head(t.subject, t.contact_id, t.requester_name) || coalesce(b.body, '')
    FROM tickets_ticket t LEFT JOIN (
        SELECT m.ticket_id, to_tsvector('comptoir_french', left(string_agg(
            search_clean(left(m.body_text, 20000)), E'\n' ORDER BY m.created_at, m.id), 500000))
            AS body
        FROM tickets_message m WHERE m.kind <> 'automatic' AND m.body_text <> ''
        GROUP BY m.ticket_id
    ) b ON b.ticket_id = t.id
    """,
    "CREATE INDEX search_ticket_doc_match ON search_ticket_doc USING gin (doc)",
]

PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS search_contact_changed ON contacts_contact",
    "DROP TRIGGER IF EXISTS search_messages_truncated ON tickets_message",
    "DROP TRIGGER IF EXISTS search_messages_deleted ON tickets_message",
    "DROP TRIGGER IF EXISTS search_message_changed ON tickets_message",
    "DROP TRIGGER IF EXISTS search_messages_inserted ON tickets_message",
    "DROP TRIGGER IF EXISTS search_tickets_truncated ON tickets_ticket",
    "DROP TRIGGER IF EXISTS search_tickets_deleted ON tickets_ticket",
    "DROP TRIGGER IF EXISTS search_ticket_changed ON tickets_ticket",
    "DROP TRIGGER IF EXISTS search_tickets_inserted ON tickets_ticket",
    "DROP FUNCTION IF EXISTS search_contact_changed()",
    "DROP FUNCTION IF EXISTS search_messages_truncated()",
    "DROP FUNCTION IF EXISTS search_messages_deleted()",
    "DROP FUNCTION IF EXISTS search_message_changed()",
    "DROP FUNCTION IF EXISTS search_messages_inserted()",
    "DROP FUNCTION IF EXISTS search_tickets_truncated()",
    "DROP FUNCTION IF EXISTS search_tickets_deleted()",
    "DROP FUNCTION IF EXISTS search_ticket_changed()",
    "DROP FUNCTION IF EXISTS search_tickets_inserted()",
    "DROP TABLE IF EXISTS search_ticket_doc",
    "DROP FUNCTION IF EXISTS search_append(tsvector, tsvector)",
    "DROP FUNCTION IF EXISTS search_doc(bigint)",
    "DROP FUNCTION IF EXISTS search_body(bigint)",
    "DROP FUNCTION IF EXISTS search_head(text, bigint, text)",
    "DROP FUNCTION IF EXISTS search_clean(text)",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS comptoir_french",
    # The unaccent extension stays: something else may use it.
]


def _run(schema_editor: Any, statements: dict[str, list[str]]) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in statements:
        raise RuntimeError(f"full-text search has no implementation for {vendor}")
    for sql in statements[vendor]:
        schema_editor.execute(sql, params=None)


def forward(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, {"sqlite": SQLITE_FORWARD, "postgresql": PG_FORWARD})


def backward(apps: Any, schema_editor: Any) -> None:
    _run(schema_editor, {"sqlite": SQLITE_BACKWARD, "postgresql": PG_BACKWARD})


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0002_event_transfer_unread"),
        ("contacts", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
