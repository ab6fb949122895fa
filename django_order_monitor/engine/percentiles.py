"""Percentiles of a column over a queryset: in the database where it can, from a sample where not.

PostgreSQL computes them exactly (``percentile_cont``, an aggregate there), and
so does MariaDB (where ``percentile_cont`` is a window function only); elsewhere
(SQLite, MySQL) they come from the newest :data:`SAMPLE_SIZE` values,
interpolated the same way, and say so (``sampled``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connections
from django.db.models import Aggregate, Count, FloatField, Func, Window
from django.db.models.functions import Extract

__all__ = ["SAMPLE_SIZE", "PercentileCont", "Percentiles", "interpolate", "of_durations", "sampled"]

#: Without ``percentile_cont`` (SQLite), percentiles come from at most this many of
#: the newest values, and say so (``sampled``).
SAMPLE_SIZE = 5000


@dataclass(frozen=True)
class Percentiles:
    """p50/p90/p99 of ``n`` values (``None`` when there are none).

    ``sampled`` is True when they come from the newest SAMPLE_SIZE values only.
    """

    n: int
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    sampled: bool = False


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def of_durations(queryset, expression, *, newest: str) -> Percentiles:
    """p50/p90/p99 of ``expression`` (a duration, in seconds) over ``queryset``; ``newest`` orders the sample."""
    database = connections[queryset.db]
    if database.vendor == "postgresql":
        seconds = Extract(expression, "epoch")
        row = queryset.aggregate(
            n=Count("pk"), **{f"p{p}": PercentileCont(seconds, p / 100) for p in (50, 90, 99)}
        )
        return Percentiles(row["n"], row["p50"], row["p90"], row["p99"])
    if database.vendor == "mysql" and getattr(database, "mysql_is_mariadb", False):
        return _over_window(queryset, expression)
    return sampled(queryset, expression, newest, queryset.count())


def _over_window(queryset, expression) -> Percentiles:
    """MariaDB: ``percentile_cont(...) WITHIN GROUP (...) OVER ()`` gives every row the same value; one row is read."""
    n = queryset.count()
    if not n:
        return Percentiles(0)
    # MariaDB returns percentile_cont as a DECIMAL with 8 integer digits: anything from 1e8
    # up comes back as 1e8. A duration is microseconds there (TIMESTAMPDIFF(MICROSECOND, ...)),
    # so it is divided into seconds inside the query, keeping it far below that.
    value = Func(expression, template="(%(expressions)s / 1000000)", output_field=FloatField()) if _is_duration(expression) else expression
    window = {f"p{p}": Window(PercentileCont(value, p / 100)) for p in (50, 90, 99)}
    row = queryset.order_by().annotate(**window).values(*window)[0]
    p50, p90, p99 = (None if row[f"p{p}"] is None else float(row[f"p{p}"]) for p in (50, 90, 99))
    return Percentiles(n, p50, p90, p99)


def _is_duration(expression) -> bool:
    return getattr(getattr(expression, "output_field", None), "get_internal_type", lambda: "")() == "DurationField"


def sampled(queryset, expression, newest: str, n: int) -> Percentiles:
    """Percentiles of ``n`` values from the newest SAMPLE_SIZE of them, interpolated like percentile_cont."""
    if not n:
        return Percentiles(0)
    values = queryset.annotate(_value=expression).order_by(newest).values_list("_value", flat=True)[:SAMPLE_SIZE]
    ordered = sorted(v.total_seconds() if isinstance(v, dt.timedelta) else float(v) for v in values)
    p50, p90, p99 = (interpolate(ordered, p / 100) for p in (50, 90, 99))
    return Percentiles(n, p50, p90, p99, sampled=n > SAMPLE_SIZE)


def interpolate(ordered: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` percentile of sorted values, with percentile_cont's linear interpolation."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
