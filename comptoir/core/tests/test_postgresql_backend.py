"""The PostgreSQL backend's time loader gives exactly what Django's own loader gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import DataError, connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format

from comptoir.core.postgresql.base import FastTzLoader

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's backend"),
]

# What the server may send: fractions of every length, none, the first year, DST edges,
# and values fromisoformat refuses (Django's loader decides for those).
VALUES = [
    "2026-11-23 07:28:11.123456+00",
    "2026-11-23 07:28:11.12+00",
    "2026-11-23 07:28:11+00",
    "2026-03-29 01:30:00+00",
    "2026-10-25 00:30:00+00",
    "2026-10-25 01:30:00+00",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
]
REFUSED = ["infinity", "-infinity", "0044-03-15 12:00:00+00 BC", "12026-01-01 00:00:00+00"]


def _read(literal: str, *, django_loader: bool, zone: str = "UTC") -> object:
    """The value read back, by our loader or (django_loader) by Django's."""
    with connection.cursor() as cursor:
        if django_loader:
            register_tzloader(connection.timezone, cursor.cursor)
        cursor.execute("SELECT set_config('TimeZone', %s, false)", [zone])
        try:
            cursor.execute("SELECT %s::timestamptz", [literal])
            return cursor.fetchone()[0]
        finally:
            cursor.execute("SELECT set_config('TimeZone', %s, false)", [connection.timezone_name])


def test_connections_read_times_with_the_fast_loader():
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, Format.TEXT)  # timestamptz
    assert issubclass(loader, FastTzLoader)
    assert loader.timezone is UTC


@pytest.mark.parametrize("literal", VALUES)
def test_same_value_and_zone_as_djangos_loader(literal):
    fast = _read(literal, django_loader=False)
    slow = _read(literal, django_loader=True)
    assert isinstance(fast, datetime) and isinstance(slow, datetime)
    assert (fast, fast.tzinfo, fast.fold) == (slow, slow.tzinfo, slow.fold)
    assert fast == datetime.fromisoformat(literal)


@pytest.mark.parametrize("zone", ["Europe/Paris", "Asia/Kolkata", "America/St_Johns"])
def test_the_instant_is_kept_whatever_zone_the_server_writes_in(zone):
    # Django keeps the session in its own zone; were it not, the instant must still hold.
    literal = "2026-10-25 00:30:00.5+00"
    fast = _read(literal, django_loader=False, zone=zone)
    assert isinstance(fast, datetime)
    assert (fast, fast.tzinfo) == (datetime.fromisoformat(literal), UTC)


@pytest.mark.parametrize("literal", REFUSED)
def test_what_iso_parsing_refuses_fails_as_with_djangos_loader(literal):
    def outcome(django_loader):
        try:
            return _read(literal, django_loader=django_loader)
        except DataError as exc:
            return type(exc), str(exc)

    assert outcome(False) == outcome(True)


def test_model_times_round_trip(cast):
    from comptoir.tickets.models import Ticket
    from comptoir.tickets.services import ticket_create

    made = datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=UTC)
    ticket = ticket_create(queue=cast.boutique_queue, channel="email", subject="Heure")
    Ticket.objects.filter(pk=ticket.pk).update(created_at=made)
    assert Ticket.objects.get(pk=ticket.pk).created_at == made
