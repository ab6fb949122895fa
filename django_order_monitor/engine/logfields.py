"""The structured fields of the engine's log records: which order a record is about.

Every record the engine logs passes ``extra=about(...)``, so each carries the
attributes ``monitored_order_id``, ``order_id``, ``provider`` and ``reference``
(None where a record is not about one order, e.g. a sweep's summary). A JSON
formatter or Sentry can index them (docs/operators.rst, "Structured logs").
Never the PIN: it is not a field here, and the values are ids and names only.
"""

from __future__ import annotations

from typing import Any

from ..models import MonitoredOrder

#: The attributes every engine log record carries.
FIELDS = ("monitored_order_id", "order_id", "provider", "reference")


def about(entry: MonitoredOrder | None = None, **known: Any) -> dict[str, Any]:
    """The ``extra`` of a record about ``entry`` (or about what ``known`` names, e.g. ``order_id=``).

    Values are JSON-ready: the order's id (a UUID for the reference shop) as text.
    """
    fields: dict[str, Any] = dict.fromkeys(FIELDS)
    if entry is not None:
        fields.update(
            monitored_order_id=entry.pk, order_id=entry.order_id, provider=entry.provider, reference=entry.reference
        )
    unknown = set(known) - set(FIELDS)
    if unknown:
        raise TypeError(f"not a log field: {sorted(unknown)}")
    fields.update(known)
    if fields["order_id"] is not None:
        fields["order_id"] = str(fields["order_id"])
    return fields
