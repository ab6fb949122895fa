"""Exception types raised by django_order_monitor.

Messages never contain a PIN or a provider credential: they are built from
our own words, HTTP status codes and redacted URLs only.
"""

from __future__ import annotations


class OrderMonitorError(Exception):
    """Base class for every error this library raises."""


class ProviderError(OrderMonitorError):
    """A provider could not be asked, or its answer could not be understood.

    A ``ProviderError`` is a failed *query*, never a failed *order*: the check is
    recorded and retried.
    """

    def __init__(self, message: str, *, provider: str = "", status_code: int | None = None):
        super().__init__(message)
        self.provider = provider
        self.status_code = status_code


class ProviderTimeout(ProviderError):
    """The provider did not answer within the connect or read timeout."""


class ProviderConnectionError(ProviderError):
    """The connection to the provider failed or was dropped."""


class ProviderResponseError(ProviderError):
    """The provider answered, but with an HTTP error or a reply we cannot parse."""


class ProviderRejected(ProviderError):
    """The provider refused a request (a non-OK reply, e.g. ``8|...`` on pin_ekle)."""

    def __init__(self, message: str, *, provider: str = "", code: str = ""):
        super().__init__(message, provider=provider)
        self.code = code


class UnknownProviderError(OrderMonitorError, LookupError):
    """An order names a provider that ORDER_MONITOR_PROVIDERS does not define."""


class NotMonitorable(OrderMonitorError, ValueError):
    """An order cannot be monitored (not dispatched, no reference, ...)."""
