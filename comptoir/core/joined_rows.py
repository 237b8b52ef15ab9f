"""Model instances from one plain SQL join, for the few reads every page view makes.

`Model.objects.filter(...).select_related(...)` compiles its SQL on every call: ~0.3-0.6 ms
of Python per query before the database sees it, more than the read itself on the ticket
page (one ticket, ~25 messages, ~5 events). Here the SELECT and its joins are built once
per (model, relations, database vendor) from the models' `_meta`, each row goes through the
same converters the ORM applies (SQLite's times and booleans, JSON fields, …), and the
instances are made with `Model.from_db` with their related objects cached, as
`select_related` leaves them (an INNER JOIN for a key that cannot be null, as the ORM
writes it). Callers write only the WHERE clause, on the alias `t`.

The converters are bound to a connection's `ops`, and connections are per thread: they are
kept per connection object, the SQL and columns once per process.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import ForeignKey, Model

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, Any], Any]
BIGINT_MAX = 2**63 - 1  # the largest key a BigAutoField holds


def id_in(ids: Sequence[int]) -> tuple[str, list[Any]]:
    """`= ANY(%s)` on PostgreSQL (one statement text whatever the count, so it stays
    prepared), `IN (%s, …)` elsewhere. Never call it with no ids."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [list(ids)]
    return f"IN ({', '.join(['%s'] * len(ids))})", list(ids)


@dataclass(frozen=True)
class _Part:
    model: type[Model]
    start: int  # first column of this model's fields in the row
    stop: int
    names: tuple[str, ...]  # its fields' attnames, as from_db takes them
    pk_at: int  # the column of its primary key: null when a LEFT JOIN found no row


@dataclass(frozen=True, eq=False)  # hashed by identity: one per cached shape
class _Shape:
    select: str  # "SELECT … FROM main t [INNER|LEFT] JOIN …", without WHERE
    main: _Part
    joined: tuple[tuple[ForeignKey, _Part], ...]  # the main model's key each part fills
    cols: tuple[Any, ...]  # a Col per column, what the converters are chosen by


Converters = tuple[tuple[int, tuple[Converter, ...], Any], ...]  # (column, chain, Col)
_converters: weakref.WeakKeyDictionary[BaseDatabaseWrapper, dict[_Shape, Converters]] = (
    weakref.WeakKeyDictionary()
)


def load_joined(
    model: type[M],
    *,
    where: str,
    params: Sequence[Any],
    related: tuple[str, ...] = (),
    order_by: str = "",
) -> list[M]:
    """Instances of `model` matching `where` (SQL on the alias `t`), each with its `related`
    foreign keys loaded (None when the key is null), as `select_related` would."""
    db_connection = connections[DEFAULT_DB_ALIAS]
    shape = _shape(model, related, db_connection.vendor)
    converters = _converters_of(shape, db_connection)
    sql = f"{shape.select} WHERE {where}"
    if order_by:
        sql += f" ORDER BY {order_by}"
    with db_connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        rows = cursor.fetchall()
    db = db_connection.alias
    main = shape.main
    found: list[M] = []
    for row in rows:
        values = list(row)
        for column, chain, col in converters:
            value = values[column]
            for convert in chain:
                value = convert(value, col, db_connection)
            values[column] = value
        instance = main.model.from_db(db, main.names, values[main.start : main.stop])
        for relation, part in shape.joined:
            related_obj = (
                None
                if values[part.pk_at] is None
                else part.model.from_db(db, part.names, values[part.start : part.stop])
            )
            relation.set_cached_value(instance, related_obj)
            if related_obj is not None and relation.unique:
                # A one-to-one's other side, as select_related caches it.
                relation.remote_field.set_cached_value(related_obj, instance)
        found.append(instance)  # type: ignore[arg-type]
    return found


@functools.cache
def _shape(model: type[Model], related: tuple[str, ...], vendor: str) -> _Shape:
    del vendor  # part of the cache key: quoting and converters depend on it
    quote = connection.ops.quote_name
    columns: list[str] = []
    cols: list[Any] = []
    joined: list[tuple[ForeignKey, _Part]] = []
    joins: list[str] = []

    def add(part_model: type[Model], alias: str) -> _Part:
        start = len(columns)
        pk_at = start
        fields = part_model._meta.concrete_fields
        for field in fields:
            assert field.column is not None  # concrete fields have one
            if field.primary_key:
                pk_at = len(columns)
            columns.append(f"{alias}.{quote(field.column)}")
            cols.append(field.get_col(alias))
        names = tuple(field.attname for field in fields)
        return _Part(part_model, start, len(columns), names, pk_at)

    main = add(model, "t")
    for n, name in enumerate(related, start=1):
        field = model._meta.get_field(name)
        if not isinstance(field, ForeignKey):
            raise TypeError(f"{model.__name__}.{name} is not a foreign key")
        target = field.related_model
        assert isinstance(target, type)  # resolved once the apps are ready
        alias = f"r{n}"
        join = "LEFT JOIN" if field.null else "INNER JOIN"
        joins.append(
            f" {join} {quote(target._meta.db_table)} {alias} "
            f"ON {alias}.{quote(field.target_field.column or '')} = t.{quote(field.column or '')}"
        )
        joined.append((field, add(target, alias)))
    select = f"SELECT {', '.join(columns)} FROM {quote(model._meta.db_table)} t{''.join(joins)}"
    return _Shape(select, main, tuple(joined), tuple(cols))


def _converters_of(shape: _Shape, db_connection: BaseDatabaseWrapper) -> Converters:
    """The ORM's converters of each column (SQLCompiler.get_converters), per connection."""
    known = _converters.setdefault(db_connection, {})
    found = known.get(shape)
    if found is None:
        chains = []
        for position, col in enumerate(shape.cols):
            chain = tuple(db_connection.ops.get_db_converters(col)) + tuple(
                col.get_db_converters(db_connection)
            )
            if chain:
                chains.append((position, chain, col))
        found = known[shape] = tuple(chains)
    return found
