"""The contract between the monitor and a provider adapter.

An adapter speaks one provider's protocol. It never touches the ORM, never logs
a PIN or a credential, and turns every transport or parsing problem into a
:class:`~django_order_monitor.exceptions.ProviderError` (a failed *query*).
"""

from __future__ import annotations

import contextlib
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ...outcomes import Outcome

__all__ = ["BaseProvider", "Outcome", "StatusResult", "clean_pin", "mask_pin", "pin_problem"]

#: PIN placeholders providers send when there is no PIN yet.
_NO_PIN = frozenset({"", "-"})


def mask_pin(text: str, pin: str | None, mask: str = "***") -> str:
    """``text`` with every occurrence of ``pin`` replaced by ``mask`` (for messages and raw replies)."""
    return text.replace(pin, mask) if pin and text else text


def clean_pin(pin: Any) -> Any:
    """Return the PIN stripped, or ``None`` for an empty, blank or ``-`` placeholder.

    A value that is not text is returned unchanged, for :func:`pin_problem` to refuse.
    """
    if not isinstance(pin, str):
        return pin
    pin = pin.strip()
    return None if pin in _NO_PIN else pin


#: Unicode categories a PIN may not contain: control, format (zero-width, BOM, bidi
#: marks), surrogate halves, line and paragraph separators.
_UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def pin_problem(pin: Any) -> str | None:
    """Why ``pin`` cannot complete an order, or ``None`` when it can.

    Acceptable is text that, stripped of surrounding whitespace, is not a
    placeholder (:func:`clean_pin`), holds at least one letter or digit and no control
    or format character, no U+FFFD (a byte the provider's reply could not decode to)
    and no lone surrogate.
    The reason is a short phrase that never contains the PIN.
    """
    if pin is not None and not isinstance(pin, str):
        return "PIN is not text"
    pin = clean_pin(pin)
    if pin is None:
        return "completed without a PIN"
    if "\ufffd" in pin or any(unicodedata.category(ch) in _UNPRINTABLE_CATEGORIES for ch in pin):
        return "PIN has characters that are not printable"
    if not any(ch.isalnum() for ch in pin):
        # "*", "--", "..." are placeholders, never a code a customer can redeem (and a PIN
        # of mask characters could not be told apart from its mask in the history).
        return "PIN has no letter or digit"
    return None


@dataclass(frozen=True)
class StatusResult:
    """One provider answer about one order.

    ``pin`` is ``None`` when the provider sent no real PIN. ``provider_status`` is
    the provider's own word or code (``"2"``, ``"done"``), kept for the history.
    ``raw`` is the reply with the PIN masked; it is safe to store and show.
    """

    outcome: Outcome
    pin: str | None = field(default=None, repr=False)
    message: str = ""
    provider_status: str = ""
    raw: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "pin", clean_pin(self.pin))

    @classmethod
    def query_error(cls, message: str, *, provider_status: str = "", raw: str = "") -> StatusResult:
        return cls(Outcome.QUERY_ERROR, message=message, provider_status=provider_status, raw=raw)


class BaseProvider(ABC):
    """A provider adapter. Subclasses set ``name`` and implement :meth:`fetch_status`.

    The constructor takes the provider's ``OPTIONS`` from ``ORDER_MONITOR_PROVIDERS``
    as keyword arguments. One instance is shared by the threads of a consumer, so
    implementations must be thread-safe.
    """

    name: ClassVar[str] = ""
    #: True when :meth:`fetch_statuses` asks about many orders in one call.
    supports_batch: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        self.options = options
        #: Wraps each dispatch call (an order sent, such as znet's ``place_order``): the
        #: provider's rate limit with dispatch first, set by ``providers.get_provider``.
        #: An adapter built by hand calls freely.
        self.dispatch_slot: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        """Problems with ``options`` (one short phrase each), for the system checks."""
        return []

    @classmethod
    def call_deadline(cls, options: Mapping[str, Any]) -> float | None:
        """Seconds one call to the provider can last at most with ``options``; None if unbounded or unknown.

        One call is one :meth:`fetch_status`, or one :meth:`fetch_statuses` of at
        most ``batch_size`` references. A check's lease must outlast it.
        """
        return None

    @abstractmethod
    def fetch_status(self, reference: str) -> StatusResult:
        """Ask about one order.

        Returns a :class:`StatusResult` (``QUERY_ERROR`` for a reply that says the
        query failed). Raises :class:`ProviderError` when the provider could not be
        reached or answered something unparseable.
        """

    def fetch_statuses(self, references: Iterable[str]) -> Mapping[str, StatusResult]:
        """Ask about many orders; the default asks one at a time.

        A reference missing from the mapping was not answered (treated as a
        query error by the caller).
        """
        return {ref: self.fetch_status(ref) for ref in references}

    def close(self) -> None:
        """Release network resources (sessions); called at consumer shutdown."""
        return None
