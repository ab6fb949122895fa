"""Reading and writing the shop's own order rows through the role -> attribute map.

Writes go through ``QuerySet.update()`` on the model's base manager (so a
tenant-filtering default manager cannot hide rows, and the ORM quotes legacy
camelCase columns); a full ``save()`` of the shop's row never happens.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import F, Model, Q
from django.utils import timezone

from .. import sql
from ..conf import app_settings, get_order_model


def resolve_fields(model: type[Model] | None = None) -> dict[str, str]:
    """Role -> model attribute for every role the order model actually has.

    A role whose *default* attribute is missing is simply absent; a role the
    user mapped explicitly to a missing attribute is reported by check E004.
    (Do not mutate the returned dict: it is shared.)
    """
    model = model or get_order_model()
    return _resolve(model, tuple(app_settings.fields.items()))


@functools.lru_cache(maxsize=32)
def _resolve(model: type[Model], mapping: tuple[tuple[str, str | None], ...]) -> dict[str, str]:
    # Keyed by the mapping itself, so a settings change (tests) is never served stale.
    return {role: attname for role, attname in mapping if attname and _has_field(model, attname)}


def _has_field(model: type[Model], attname: str) -> bool:
    try:
        model._meta.get_field(attname)
    except FieldDoesNotExist:
        return False
    return True


def pin_max_length() -> int | None:
    """The ``max_length`` of the shop's PIN column (None: unbounded or no PIN role)."""
    model = get_order_model()
    attname = resolve_fields(model).get("pin")
    return _max_length(model, attname) if attname else None


@functools.lru_cache(maxsize=64)
def _max_length(model: type[Model], attname: str) -> int | None:
    return getattr(model._meta.get_field(attname), "max_length", None)


def base_queryset():
    """All orders, bypassing any custom default manager."""
    return get_order_model()._base_manager.all()


#: The roles that say whether the shop still considers an order open.
STATUS_ROLES = ("status", "external_status")


def statuses(order_pk: Any) -> dict[str, Any] | None:
    """The status roles of one order (role -> value, mapped roles only), or None if it is gone."""
    model = get_order_model()
    fields = resolve_fields(model)
    roles = [role for role in STATUS_ROLES if role in fields]
    if not sql.is_single_table(model):
        return statuses_bulk([order_pk]).get(order_pk)
    row = sql.select_columns(model, order_pk, [fields[role] for role in roles] or [model._meta.pk.attname])
    return None if row is None else {role: row[fields[role]] for role in roles}


def statuses_bulk(order_pks: Iterable[Any]) -> dict[Any, dict[str, Any]]:
    """:func:`statuses` of many orders: order pk -> role -> value (missing orders left out)."""
    return roles_bulk(order_pks, STATUS_ROLES)


def roles_bulk(order_pks: Iterable[Any], roles: Iterable[str]) -> dict[Any, dict[str, Any]]:
    """The mapped ``roles`` of many orders: order pk -> role -> value (missing orders left out)."""
    fields = resolve_fields(get_order_model())
    mapped = [role for role in roles if role in fields]
    rows = base_queryset().filter(pk__in=list(order_pks)).values("pk", *[fields[role] for role in mapped])
    return {row["pk"]: {role: row[fields[role]] for role in mapped} for row in rows}


def read(order: Model, role: str, default: Any = None) -> Any:
    attname = resolve_fields(type(order)).get(role)
    return getattr(order, attname) if attname else default


def write(order_pk: Any, values: Mapping[str, Any], *, only_if_external_in: Iterable[str] | None = None) -> int:
    """Update the mapped columns of one order; roles the model lacks are skipped.

    With ``only_if_external_in``, only while the order's external status is one
    of those words (case-insensitive; ignored if the model has no external
    status). Strings are cut to the column's ``max_length`` (keeping the newest
    text is the caller's job). Returns the number of rows updated (0 or 1).
    """
    model = get_order_model()
    fields = resolve_fields(model)
    updates = {}
    for role, value in values.items():
        attname = fields.get(role)
        if attname is None:
            continue
        max_length = getattr(model._meta.get_field(attname), "max_length", None)
        if isinstance(value, str) and max_length:
            value = value[:max_length]
        updates[attname] = value
    if not updates:
        return 0
    external = fields.get("external_status")
    guard = (external, tuple(only_if_external_in)) if only_if_external_in is not None and external else None
    if not sql.is_single_table(model):  # columns in parent tables: let the ORM split the UPDATE
        queryset = model._base_manager.filter(pk=order_pk)
        return (queryset.filter(status_in(*guard)) if guard is not None else queryset).update(**updates)
    return sql.update(model, order_pk, updates, where_upper_in=guard)


def open_words() -> list[str]:
    """External statuses that mean the shop still waits for the provider."""
    words = list(app_settings.DISPATCHED_STATUSES or [])
    processing = (app_settings.EXTERNAL_STATUS_VALUES or {}).get("processing")
    if processing and processing not in words:
        words.append(processing)
    return words


def final_statuses() -> list[Any]:
    """Internal statuses that mean the order has ended (the ones the monitor writes)."""
    return [value for value in (app_settings.INTERNAL_STATUS_VALUES or {}).values() if value]


def is_open(order_statuses: Mapping[str, Any]) -> bool:
    """Whether the shop still waits for the provider, from what :func:`statuses` read.

    Open: the external status is one of :func:`open_words` (case-insensitive)
    and the internal status (if mapped) is not one of :func:`final_statuses`.
    The same rule, in SQL, guards the terminal write (:func:`hold_if_open`).
    """
    if order_statuses.get("status") in final_statuses():
        return False
    return matches(order_statuses.get("external_status"), open_words())


def hold_if_open(order_pk: Any) -> bool:
    """Lock the order's row if it is still open (:func:`is_open`); False if the shop ended it.

    The compare-and-set is a no-op UPDATE (``SET external = external``), so it
    takes the row lock until the caller's transaction ends and changes nothing
    the shop's own code would see.
    """
    model = get_order_model()
    fields = resolve_fields(model)
    external = fields["external_status"]
    queryset = model._base_manager.filter(pk=order_pk).filter(status_in(external, open_words()))
    final = final_statuses()
    if "status" in fields and final:
        queryset = queryset.exclude(**{f"{fields['status']}__in": final})
    return bool(queryset.update(**{external: F(external)}))


def status_in(field_attname: str, words: Iterable[str]) -> Q:
    """Case-insensitive ``field IN words`` (works on every database)."""
    query = Q()
    for word in words:
        query |= Q(**{f"{field_attname}__iexact": word})
    return query


def matches(value: Any, words: Iterable[str]) -> bool:
    return isinstance(value, str) and value.strip().lower() in {w.lower() for w in words}


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """Legacy columns may hold naive timestamps; they are taken as UTC."""
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, dt.timezone.utc)
    return value


def has_reference(value: Any) -> bool:
    return value is not None and str(value).strip() != ""
