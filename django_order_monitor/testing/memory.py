"""An in-process provider for tests: answers come from a table the test fills.

Ship-quality test double (like a mail backend's ``locmem``): shops use it to test
their own terminal callbacks without any HTTP. Every call is counted.
"""

from __future__ import annotations

import threading
from collections import Counter

from ..exceptions import ProviderError
from ..providers.adapters.base import BaseProvider, Outcome, StatusResult

_lock = threading.Lock()
_answers: dict[str, StatusResult | ProviderError] = {}
calls: Counter[str] = Counter()


class InMemoryProvider(BaseProvider):
    """Answers ``fetch_status`` from :func:`set_answer`; unknown references are processing."""

    name = "memory"

    def fetch_status(self, referans: str) -> StatusResult:
        with _lock:
            calls[referans] += 1
            answer = _answers.get(referans, StatusResult(Outcome.PROCESSING, provider_status="1"))
        if isinstance(answer, ProviderError):
            raise answer
        return answer


def set_answer(referans: str, answer: StatusResult | ProviderError) -> None:
    """Make every following query about ``referans`` return (or raise) ``answer``."""
    with _lock:
        _answers[referans] = answer


def complete(referans: str, pin: str, message: str = "") -> None:
    set_answer(referans, StatusResult(Outcome.COMPLETED, pin=pin, message=message, provider_status="2"))


def fail(referans: str, message: str = "") -> None:
    set_answer(referans, StatusResult(Outcome.FAILED, message=message, provider_status="3"))


def reset() -> None:
    with _lock:
        _answers.clear()
        calls.clear()
