"""Hand-written SQL for the statements every check, hook and sweep runs, where the ORM cannot or costs too much.

Each statement's text is built once per model, column set and database, then
cached. Values go in through each field's ``get_db_prep_*`` and come out
through the backend's converters, so what is written and read is exactly what
the ORM would write and read.

Why each statement is here. A statement stays hand-written only if the ORM
does not have it, or if doing it through the ORM made a check more than 10 %
dearer in CPU (``python -m benchmarks.profile_check``, PostgreSQL, in-process;
each variant run 5-8 times interleaved with the hand-written code on a shared
two-core machine, median of the paired differences; hand-written: median
6.0 ms CPU per check)::

    update_returning  claim + read the ledger row    the ORM has no UPDATE ... RETURNING
    insert_absent     start many, say which are new  the ORM's bulk_create(ignore_conflicts=True)
                                                     does not say which rows it inserted
                                                     (MariaDB: INSERT IGNORE ... RETURNING)
    update            shop write-back                ORM .update(): +34 % CPU per check
                      ledger release (leases)        ORM .update(): +16 %
    select_columns    the shop's two status columns  ORM .values().first(): +29 %
    delete_in         retention's batches            ORM .delete() of 5,000 ended orders loads
                                                     them, deletes 100 at a time in a transaction:
                                                     1.4 s a batch, against 0.4 s

Write-back and history insert both through the ORM: +31 %. The history row
(one ``INSERT``) is no longer written here: through the ORM it cost +7 %, so
the engine saves it with the ORM.

The differences between databases in the engine's statements (returning
rows, skipping locked rows, limits in subqueries) live here too. ``RETURNING``
needs PostgreSQL or SQLite 3.35+ (:func:`can_return_rows`); MariaDB and
MySQL have no ``UPDATE ... RETURNING``, so callers keep an ORM path for them.
:func:`skip_locked` takes rows that no other transaction holds, on every
database that can (PostgreSQL, MariaDB 10.6+, MySQL).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from django.db import connections, router
from django.db.models import Field, Model

__all__ = [
    "can_return_inserted_rows", "can_return_rows", "connection_for", "delete_in", "insert_absent", "is_single_table",
    "select_columns", "skip_locked", "sliced_for_in", "update", "update_returning",
]

M = TypeVar("M", bound=Model)


def connection_for(model: type[Model]):
    """The connection writes of ``model`` go to (its router's choice)."""
    return connections[router.db_for_write(model)]


#: The databases the monitor runs on, as named to users. The sweep skips locked
#: rows (``SELECT ... FOR UPDATE SKIP LOCKED``): MariaDB from 10.6; MySQL from
#: 8.0.1, below Django 5.2's own floor, 8.0.11. SQLite has one writer at a time.
SUPPORTED_DATABASES = "PostgreSQL, SQLite, MariaDB 10.6+, MySQL 8.0.11+"
MIN_MARIADB = (10, 6)
MIN_MYSQL = (8, 0, 11)


def unsupported(connection, *, connect: bool) -> str | None:
    """What the database of ``connection`` is, when the monitor cannot run on it; else None.

    Without ``connect`` only the vendor is judged (no query is made); with it,
    the server's version too.
    """
    if connection.vendor in ("postgresql", "sqlite"):
        return None
    if connection.vendor != "mysql":
        return f"{connection.display_name} ({connection.settings_dict['ENGINE']})"
    if not connect:
        return None
    version = ".".join(str(part) for part in connection.mysql_version)
    if connection.mysql_is_mariadb:
        return None if connection.mysql_version >= MIN_MARIADB else f"MariaDB {version}"
    return None if connection.mysql_version >= MIN_MYSQL else f"MySQL {version}"


def can_return_rows(connection) -> bool:
    """True when the database takes ``RETURNING`` on INSERT and UPDATE."""
    return connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and connection.Database.sqlite_version_info >= (3, 35)
    )


def skip_locked(queryset):
    """``queryset`` locking the rows it reads, skipping rows another transaction holds.

    Unchanged where the database cannot skip locked rows (SQLite: one writer at
    a time anyway). Only its own table's rows are locked where the database can
    say so (``FOR UPDATE OF``: PostgreSQL, MySQL; MariaDB cannot, and locks the
    rows of every table the query reads). Call inside ``transaction.atomic()``.
    """
    features = connections[queryset.db].features
    if not features.has_select_for_update_skip_locked:
        return queryset
    of = ("self",) if features.has_select_for_update_of else ()
    return queryset.select_for_update(skip_locked=True, of=of)


def can_return_inserted_rows(connection) -> bool:
    """True when INSERT takes ``RETURNING``: where :func:`can_return_rows`, and MariaDB 10.5+."""
    return can_return_rows(connection) or (
        connection.vendor == "mysql" and connection.mysql_is_mariadb and connection.mysql_version >= (10, 5)
    )


def sliced_for_in(queryset, field: str = "pk"):
    """A sliced ``queryset.values(field)``, usable as ``x__in=``: itself, or its values read now.

    MariaDB and MySQL refuse ``IN (SELECT ... LIMIT n)``; there the values go
    in as a list (one more query).
    """
    if connections[queryset.db].features.allow_sliced_subqueries_with_in:
        return queryset
    return [row[field] for row in queryset]


def is_single_table(model: type[Model]) -> bool:
    """True when every column of ``model`` is in its own table (no multi-table inheritance)."""
    concrete = model._meta.concrete_model or model  # None only for a model class not registered yet
    return not concrete._meta.parents


def insert_absent(instances: Sequence[M], unique_attname: str) -> list[M]:
    """INSERT many rows in one statement, skipping any whose ``unique_attname`` is taken.

    ``INSERT ... ON CONFLICT (column) DO NOTHING RETURNING pk, column`` (on
    MariaDB ``INSERT IGNORE ... RETURNING``, which returns only the rows it
    inserted): returns the instances actually inserted (primary key set,
    marked as saved). Only where :func:`can_return_inserted_rows` is true.
    """
    if not instances:
        return []
    model = type(instances[0])
    connection = connection_for(model)
    fields = _insert_fields(model)
    values = [
        field.get_db_prep_save(field.pre_save(instance, add=True), connection) for instance in instances for field in fields
    ]
    statement = _insert_absent_sql(model, unique_attname, len(instances), connection.alias, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(statement, values)
        rows = cursor.fetchall()
    key_fields = [model._meta.pk, _field(model, unique_attname)]
    by_key = {getattr(instance, unique_attname): instance for instance in instances}
    inserted = []
    for row in rows:
        pk, key = _convert(model, connection, key_fields, row)
        instance = by_key[key]
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = connection.alias
        inserted.append(instance)
    return inserted


def update(
    model: type[Model],
    pk: Any,
    values: Mapping[str, Any],
    *,
    where_equal: Mapping[str, Any] | None = None,
    where_upper_in: tuple[str, Sequence[str]] | None = None,
) -> int:
    """``UPDATE`` the row ``pk`` of ``model`` and return the number of rows changed (0 or 1).

    ``values`` and ``where_equal`` map attribute names to values;
    ``where_upper_in`` is ``(attname, words)``: the column, upper-cased, must be
    one of ``words`` (compared upper-cased; a NULL column never matches).
    """
    connection = connection_for(model)
    sql, params = _update(model, connection, pk, values, where_equal or {}, where_upper_in)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def update_returning(
    model: type[M],
    pk: Any,
    values: Mapping[str, Any],
    *,
    where_sql: str = "",
    where_params: Sequence[tuple[str, Any]] = (),
) -> M | None:
    """``UPDATE ... RETURNING`` the row ``pk``: the updated instance, or None if no row matched.

    ``where_sql`` is an extra condition written by the caller with
    ``{attname}`` placeholders for quoted column names and ``%s`` for
    parameters; ``where_params`` gives each parameter as ``(attname, value)``,
    prepared as that column's value. Only where :func:`can_return_rows` is true.
    """
    connection = connection_for(model)
    sql, params = _update(model, connection, pk, values, {}, None)
    fields = model._meta.concrete_fields
    sql += _returning_sql(model, where_sql, connection.alias, connection.vendor)
    params.extend(prep(model, name, value, connection) for name, value in where_params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return model.from_db(connection.alias, [field.attname for field in fields], _convert(model, connection, fields, row))


def select_columns(model: type[Model], pk: Any, attnames: Sequence[str]) -> dict[str, Any] | None:
    """The values of ``attnames`` of the row ``pk`` (bypassing every manager), or None if absent."""
    connection = connection_for(model)
    fields = [_field(model, name) for name in attnames]
    sql = _select_sql(model, tuple(attnames), connection.alias, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [model._meta.pk.get_db_prep_value(pk, connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip(attnames, _convert(model, connection, fields, row), strict=True))


def delete_in(model: type[Model], attname: str, values: Sequence[Any]) -> int:
    """``DELETE`` the rows whose ``attname`` is one of ``values``, in one statement; the number deleted.

    No collector, no signals: the caller deletes dependent rows first.
    """
    if not values:
        return 0
    connection = connection_for(model)
    column = quoted_columns(model, connection.vendor)[attname]
    placeholders = ", ".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {_quote(connection, model._meta.db_table)} WHERE {column} IN ({placeholders})",
            [prep(model, attname, value, connection) for value in values],
        )
        return cursor.rowcount


def prep(model: type[Model], attname: str, value: Any, connection) -> Any:
    """``value`` as the database takes it for the column of ``attname``."""
    return None if value is None else _field(model, attname).get_db_prep_value(value, connection)


@functools.lru_cache(maxsize=512)
def _field(model: type[Model], attname: str) -> Field:
    field = model._meta.get_field(attname)
    assert isinstance(field, Field), f"{attname} is a relation's reverse side, not a column"
    return field


def _column(field: Field) -> str:
    """The column of a concrete field (the stubs allow None: fields such as ManyToMany have none)."""
    assert field.column is not None, f"{field} has no column"
    return field.column


@functools.lru_cache(maxsize=64)
def quoted_columns(model: type[Model], vendor: str) -> dict[str, str]:
    """Attribute name (or field name: ``tenant`` as well as ``tenant_id``) -> quoted column name."""
    quote = connections[router.db_for_write(model)].ops.quote_name
    columns = {field.name: quote(_column(field)) for field in model._meta.concrete_fields}
    columns.update({field.attname: quote(_column(field)) for field in model._meta.concrete_fields})
    return columns


# -- statement texts, cached ---------------------------------------------------------


def _update(model, connection, pk, values, where_equal, where_upper_in) -> tuple[str, list[Any]]:
    set_names = tuple(values)
    equal_names = tuple(where_equal)
    upper_name, words = where_upper_in if where_upper_in else (None, ())
    sql = _update_sql(model, set_names, equal_names, upper_name, len(words), connection.alias, connection.vendor)
    params = [prep(model, name, values[name], connection) for name in set_names]
    params.append(model._meta.pk.get_db_prep_value(pk, connection))
    params.extend(prep(model, name, where_equal[name], connection) for name in equal_names)
    params.extend(word.upper() for word in words)
    return sql, params


@functools.lru_cache(maxsize=256)
def _update_sql(model, set_names, equal_names, upper_name, word_count, alias, vendor) -> str:
    connection = connections[alias]
    columns = quoted_columns(model, vendor)
    assignments = ", ".join(f"{columns[name]} = %s" for name in set_names)
    conditions = [f"{_quote(connection, model._meta.pk.column)} = %s"]
    conditions += [f"{columns[name]} = %s" for name in equal_names]
    if upper_name is not None:
        conditions.append(f"UPPER({columns[upper_name]}) IN ({', '.join(['%s'] * word_count)})" if word_count else "1 = 0")
    return f"UPDATE {_quote(connection, model._meta.db_table)} SET {assignments} WHERE {' AND '.join(conditions)}"


@functools.lru_cache(maxsize=64)
def _returning_sql(model, where_sql, alias, vendor) -> str:
    connection = connections[alias]
    condition = f" AND ({where_sql.format_map(quoted_columns(model, vendor))})" if where_sql else ""
    return condition + " RETURNING " + ", ".join(_quote(connection, field.column) for field in model._meta.concrete_fields)


@functools.lru_cache(maxsize=64)
def _insert_head(model, alias, vendor) -> str:
    connection = connections[alias]
    columns = ", ".join(_quote(connection, _column(field)) for field in _insert_fields(model))
    return f"INSERT INTO {_quote(connection, model._meta.db_table)} ({columns}) VALUES "


def _row_placeholders(model) -> str:
    return "(" + ", ".join(["%s"] * len(_insert_fields(model))) + ")"


@functools.lru_cache(maxsize=64)
def _insert_absent_sql(model, unique_attname, rows, alias, vendor) -> str:
    connection = connections[alias]
    unique = quoted_columns(model, vendor)[unique_attname]
    values = ", ".join([_row_placeholders(model)] * rows)
    pk = _quote(connection, model._meta.pk.column)
    if vendor == "mysql":
        # MariaDB has no ON CONFLICT; IGNORE skips the rows whose unique key is taken
        # (as the ORM's bulk_create(ignore_conflicts=True) does there).
        head = _insert_head(model, alias, vendor).replace("INSERT INTO", "INSERT IGNORE INTO", 1)
        return f"{head}{values} RETURNING {pk}, {unique}"
    return f"{_insert_head(model, alias, vendor)}{values} ON CONFLICT ({unique}) DO NOTHING RETURNING {pk}, {unique}"


@functools.lru_cache(maxsize=64)
def _select_sql(model, attnames, alias, vendor) -> str:
    connection = connections[alias]
    columns = quoted_columns(model, vendor)
    return "SELECT {} FROM {} WHERE {} = %s".format(
        ", ".join(columns[name] for name in attnames),
        _quote(connection, model._meta.db_table),
        _quote(connection, model._meta.pk.column),
    )


@functools.lru_cache(maxsize=64)
def _insert_fields(model) -> tuple[Field, ...]:
    return tuple(field for field in model._meta.concrete_fields if not (field.primary_key and field.db_returning))


def _convert(model, connection, fields: Iterable[Field], row: Sequence[Any]) -> list[Any]:
    converted = []
    for field, value in zip(fields, row, strict=True):
        expression, converters = _converters(model, field, connection.alias, connection.vendor)
        for converter in converters:
            value = converter(value, expression, connection)
        converted.append(value)
    return converted


@functools.lru_cache(maxsize=512)
def _converters(model, field, alias, vendor):
    # The same converters the ORM's compiler applies to a selected column.
    connection = connections[alias]
    expression = field.get_col(model._meta.db_table)  # for a foreign key: typed as its target
    return expression, tuple(connection.ops.get_db_converters(expression) + expression.get_db_converters(connection))


def _quote(connection, name: str) -> str:
    return connection.ops.quote_name(name)
