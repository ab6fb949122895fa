"""A fake znet provider (stdlib only) for demos, this project's tests and shops' own tests.

Start one with ``FakeZnetServer(...)`` (a context manager) or ``python -m
django_order_monitor.testing.fake_znet``; read what it did from ``.stats()`` or ``GET /_fake/stats``.
"""

from __future__ import annotations

from .faults import FaultConfig, FaultKind
from .plans import (
    REFERENCE_MIX,
    MixEntry,
    OrderPlan,
    PlanOutcome,
    draw_plan,
    make_plan,
    parse_mix,
)
from .server import FakeZnetServer

__all__ = [
    "REFERENCE_MIX",
    "FakeZnetServer",
    "FaultConfig",
    "FaultKind",
    "MixEntry",
    "OrderPlan",
    "PlanOutcome",
    "draw_plan",
    "make_plan",
    "parse_mix",
]
