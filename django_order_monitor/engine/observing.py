"""The engine's one way to report what it did: a port that the metrics module connects to.

The engine says *what happened* (a check's result, a terminal transition, a
deferral); :mod:`django_order_monitor.metrics` alone knows Prometheus and
installs the observer that counts. So the engine never imports
``prometheus_client``, and the package works without it.

Contract of every report: provider names and outcome words only (bounded
label values), never an order id, a reference or a PIN. An observer's
methods must not raise: counting never breaks a check.
"""

from __future__ import annotations

from typing import Protocol


class Observer(Protocol):
    """What the engine reports; ``metrics.PrometheusObserver`` is one."""

    def checked(self, provider: str, result: str) -> None:
        """A row was added to the check history with ``result`` (a ``StatusCheck.Result``)."""

    def provider_called(self, provider: str, seconds: float) -> None:
        """One provider call (one order, or one batch) took ``seconds``."""

    def ended(self, provider: str, outcome: str, seconds_to_pin: float | None) -> None:
        """A terminal transition committed; a completion says how long from dispatch to PIN."""

    def late_completion(self, provider: str) -> None:
        """A completion arrived after the order had ended (committed)."""

    def rate_limited(self, provider: str) -> None:
        """A group's check was deferred: no call slot within the provider's max wait."""

    def breaker_opened(self, provider: str) -> None:
        """The provider's circuit breaker paused it."""

    def budget_deferred(self, provider: str) -> None:
        """A scheduled check was put off: the provider's call budget could not afford it now."""


class _Unobserved:
    """The observer while none is installed: every report is dropped."""

    def __getattr__(self, event: str):
        return lambda *args: None


_UNOBSERVED = _Unobserved()
_observer: Observer | None = None


def install(instance: Observer | None) -> None:
    """Connect the port (``apps.py`` does, when Django starts); None disconnects it."""
    global _observer
    _observer = instance


def observer() -> Observer:
    """The installed observer, or one that drops every report."""
    return _observer if _observer is not None else _UNOBSERVED
