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

    def fetch_status(self, reference: str) -> StatusResult:
        with _lock:
            calls[reference] += 1
            answer = _answers.get(reference, StatusResult(Outcome.PROCESSING, provider_status="1"))
        if isinstance(answer, ProviderError):
            raise answer
        return answer


def set_answer(reference: str, answer: StatusResult | ProviderError) -> None:
    """Make every following query about ``reference`` return (or raise) ``answer``."""
    with _lock:
        _answers[reference] = answer


def complete(reference: str, pin: str, message: str = "") -> None:
    set_answer(reference, StatusResult(Outcome.COMPLETED, pin=pin, message=message, provider_status="2"))


def fail(reference: str, message: str = "") -> None:
    set_answer(reference, StatusResult(Outcome.FAILED, message=message, provider_status="3"))


def reset() -> None:
    with _lock:
        _answers.clear()
        calls.clear()
