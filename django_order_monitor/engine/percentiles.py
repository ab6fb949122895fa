"""Percentiles of a column over a queryset: in the database where it can, from a sample where not.

PostgreSQL computes them exactly (``percentile_cont``); elsewhere (SQLite) they
come from the newest :data:`SAMPLE_SIZE` values, interpolated the same way, and
say so (``sampled``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connections
from django.db.models import Aggregate, Count, FloatField
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
    if connections[queryset.db].vendor == "postgresql":
        seconds = Extract(expression, "epoch")
        row = queryset.aggregate(
            n=Count("pk"), **{f"p{p}": PercentileCont(seconds, p / 100) for p in (50, 90, 99)}
        )
        return Percentiles(row["n"], row["p50"], row["p90"], row["p99"])
    return sampled(queryset, expression, newest, queryset.count())


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
