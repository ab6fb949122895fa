"""Fault injection for the fake znet server: which failures, how often, and base latency.

Draws are seeded per (endpoint, referans, call number), so a run is reproducible even
when requests arrive concurrently.
"""

from __future__ import annotations

import dataclasses
import enum
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ENDPOINTS", "FaultConfig", "FaultKind", "parse_latency", "parse_rate"]

#: The protocol endpoints, by short name.
ENDPOINTS = ("pin_ekle", "pin_kontrol", "bakiye_kontrol")

#: Upper bound of ``slow_seconds``: a fake must not hold a thread forever.
MAX_SLOW_SECONDS = 300.0


class FaultKind(str, enum.Enum):
    """A way a request can fail."""

    HTTP_500 = "http_500"  # HTTP 500 with an HTML body
    GARBAGE = "garbage"  # HTTP 200 with HTML or random bytes
    EMPTY = "empty"  # HTTP 200 with an empty body
    SLOW = "slow"  # the reply comes after ``slow_seconds`` (past a client's read timeout)
    DROP = "drop"  # the connection is closed without a reply
    QUERY_ERROR = "query_error"  # a non-OK reply: ``3|Sistem meşgul``


@dataclass(frozen=True)
class FaultConfig:
    """Fault rates (each in [0, 1], summing to at most 1) and latency.

    Rates apply to the endpoints in ``endpoints`` (status checks only by default:
    a fault on ``pin_ekle`` leaves the client unsure whether the order exists, which
    a test must ask for explicitly). ``outage`` makes *every* protocol request fail
    with that kind, for circuit-breaker tests. ``bom`` is a harmless quirk: the rate
    of replies prefixed with a UTF-8 byte order mark, as some PHP hosts send.
    """

    http_500: float = 0.0
    garbage: float = 0.0
    empty: float = 0.0
    slow: float = 0.0
    drop: float = 0.0
    query_error: float = 0.0
    bom: float = 0.0
    slow_seconds: float = 30.0
    #: Base latency added to every protocol request, drawn uniformly in [min, max] ms.
    latency_ms: tuple[float, float] = (0.0, 0.0)
    outage: FaultKind | None = None
    endpoints: frozenset[str] = field(default_factory=lambda: frozenset({"pin_kontrol"}))

    def __post_init__(self) -> None:
        for kind in FaultKind:
            rate = getattr(self, kind.value)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rate {kind.value}={rate} is not within [0, 1]")
        if sum(getattr(self, kind.value) for kind in FaultKind) > 1.0 + 1e-9:
            raise ValueError("fault rates add up to more than 1")
        if not 0.0 <= self.bom <= 1.0:
            raise ValueError(f"bom rate {self.bom} is not within [0, 1]")
        if not 0.0 <= self.slow_seconds <= MAX_SLOW_SECONDS:
            raise ValueError(f"slow_seconds must be within [0, {MAX_SLOW_SECONDS:g}]")
        object.__setattr__(self, "latency_ms", parse_latency(self.latency_ms))
        if self.outage is not None:
            object.__setattr__(self, "outage", FaultKind(self.outage))
        endpoints = frozenset(self.endpoints)
        unknown = endpoints - set(ENDPOINTS)
        if unknown:
            raise ValueError(f"unknown endpoints {sorted(unknown)}; expected some of {ENDPOINTS}")
        object.__setattr__(self, "endpoints", endpoints)

    @classmethod
    def coerce(cls, value: FaultConfig | Mapping[str, Any] | None) -> FaultConfig:
        """Accept a FaultConfig, a mapping of its fields, or None (no faults)."""
        if value is None:
            return cls()
        if isinstance(value, FaultConfig):
            return value
        return cls(**dict(value))

    def replace(self, **changes: Any) -> FaultConfig:
        """Return a copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["outage"] = self.outage.value if self.outage else None
        data["endpoints"] = sorted(self.endpoints)
        data["latency_ms"] = list(self.latency_ms)
        return data

    def draw(self, rng: random.Random, endpoint: str) -> FaultKind | None:
        """Pick the fault for one request to ``endpoint`` (None: answer normally)."""
        if self.outage is not None:
            return self.outage
        if endpoint not in self.endpoints:
            return None
        pick = rng.random()
        for kind in FaultKind:
            pick -= getattr(self, kind.value)
            if pick < 0:
                return kind
        return None

    def draw_latency(self, rng: random.Random) -> float:
        """Base latency for one request, in seconds."""
        low, high = self.latency_ms
        return (low if low == high else rng.uniform(low, high)) / 1000.0


def parse_latency(value: float | int | str | Iterable[float] | None) -> tuple[float, float]:
    """``50`` → (50, 50); ``(20, 200)`` or ``"20-200"`` → (20, 200); None → (0, 0). In ms."""
    if value is None:
        return (0.0, 0.0)
    if isinstance(value, str):
        low_text, _, high_text = value.partition("-")
        low = float(low_text)
        high = float(high_text) if high_text else low
    elif isinstance(value, (int, float)):
        low = high = float(value)
    else:
        low, high = (float(part) for part in value)
    if not 0.0 <= low <= high:
        raise ValueError(f"bad latency {value!r}: need 0 <= min <= max (milliseconds)")
    return (low, high)


def parse_rate(text: str) -> tuple[str, float]:
    """Parse a CLI ``kind=rate`` item (``http_500=0.05``); ``bom`` is accepted too."""
    name, sep, rate_text = text.partition("=")
    name = name.strip()
    if not sep or (name != "bom" and name not in {kind.value for kind in FaultKind}):
        kinds = ", ".join([kind.value for kind in FaultKind] + ["bom"])
        raise ValueError(f"bad fault rate {text!r}: expected KIND=RATE with KIND one of {kinds}")
    return name, float(rate_text)
