"""A provider's call budget: which due checks it can afford now, and when to ask again.

The rate limit (:mod:`..providers.ratelimit`) is the hard limit: it paces every
call. This module decides *which* checks get those calls when more are due than
the budget allows. Each due check asks :meth:`Budget.admit` with its score: the
policy's chance of finding its order ended (:meth:`.policy.Policy.find_chance`)
plus an aging term (seconds since the order's last call / ``AGING``), so an order
that has not been asked for ``AGING`` seconds outranks any fresh check and none
starves. Calls accrue at ``TARGET`` of the provider's rate; dispatch calls noted
with :meth:`Budget.note_dispatch` take theirs first (a customer is waiting; the
simulation notes them, the consumers do not see the shop's dispatch yet, so
``TARGET`` should leave its share); a check is admitted when a call is left
and its score reaches the price, which rises while checks worth a call find none
and falls while calls go unused: under over-demand only the best-scoring share
of the due checks calls.

A check below the price is not queued: it is put off until its score would reach
the price (its chance grows with the time since its last call), between
``MIN_DEFER`` and ``MAX_DEFER`` seconds. So under sustained over-demand the
schedule stretches, never into a tight retry loop. Without over-demand every
check is admitted at once and the budget changes nothing.

State is per process (one :class:`Budget` per provider): with several consumers
each sees its own share of the asks, and the shared rate limit stays the hard
limit. Options: ``ORDER_MONITOR_BUDGET`` (a dict; its declaration in ``conf`` says each).
"""

from __future__ import annotations

import threading

from ..conf import SETTINGS, app_settings
from ..providers.ratelimit import Limits

__all__ = ["DEFAULT_OPTIONS", "Budget", "for_provider", "option", "reset"]

#: The options and their defaults, declared with the setting (``conf.SETTINGS["BUDGET"]``).
DEFAULT_OPTIONS: dict[str, float] = dict(SETTINGS["BUDGET"].default)

#: Below this price every check is admitted (the budget is not short).
_FREE = 1e-4
#: How fast the price moves: per refused ask up, per unused call down.
_STEP = 0.05


class Budget:
    """Admission of due checks under ``rate`` calls per second (shared with dispatch).

    Calls accrue at ``rate x TARGET`` per second (at most ``BURST`` seconds of them
    saved up); a dispatch call takes one first, even into debt. A check is admitted
    when its score is at least the price and a call is left. The price rises when
    checks above it find no call left, and falls when calls go unused, so it
    settles where the admitted checks use the calls there are. Times are seconds
    on any clock the caller keeps (the engine uses the epoch). Thread-safe.
    """

    def __init__(self, rate: float, options: dict[str, float] | None = None) -> None:
        self.rate = float(rate)
        self.options = {**DEFAULT_OPTIONS, **(options or {})}
        self.per_second = self.rate * self.options["TARGET"]
        self.depth = max(1.0, self.per_second * self.options["BURST"])
        self.calls = self.depth
        self.updated: float | None = None
        self.price = 0.0
        self.lock = threading.Lock()

    def score(self, chance: float, idle: float) -> float:
        """A check's claim on the next call: its chance plus its age without a call."""
        return max(0.0, chance) + max(0.0, idle) / self.options["AGING"]

    def note_dispatch(self, now: float) -> None:
        """Count a dispatch call: it takes its call before any status check."""
        with self.lock:
            self._accrue(now)
            self.calls -= 1.0

    def admit(self, chance: float, idle: float, now: float) -> float | None:
        """None when the check may call now; else the seconds to wait before asking again.

        ``chance``: of finding the order ended now; ``idle``: seconds since its last call.
        """
        score = self.score(chance, idle)
        with self.lock:
            self._accrue(now)
            price = self.price
            if score >= price and self.calls >= 1.0:
                self.calls -= 1.0
                return None
            if score >= price:
                # Worth a call, but none is left: the price is too low.
                self.price = max(_FREE, self.price) * (1 + _STEP)
                return self.options["MIN_DEFER"]
        # The chance grows about in proportion to the time since the last call:
        # ask again when the score would have reached the price.
        wait = max(idle, self.options["MIN_DEFER"]) * (price / max(score, 1e-9) - 1.0)
        return min(self.options["MAX_DEFER"], max(self.options["MIN_DEFER"], wait))

    def _accrue(self, now: float) -> None:
        if self.updated is not None and now > self.updated:
            self.calls += (now - self.updated) * self.per_second
            if self.calls > self.depth:
                # Calls went unused: checks below the price could have had them.
                unused = self.calls - self.depth
                self.calls = self.depth
                self.price *= (1 - _STEP) ** unused
                if self.price < _FREE:
                    self.price = 0.0
        if self.updated is None or now > self.updated:
            self.updated = now

    def state(self) -> dict[str, float]:
        """The price and the calls in hand (for operators and tests)."""
        with self.lock:
            return {"price": self.price, "calls": self.calls, "per_second": self.per_second}


def option(name: str) -> float:
    """One option of ``ORDER_MONITOR_BUDGET``, or its default."""
    return float((app_settings.BUDGET or {}).get(name, DEFAULT_OPTIONS[name]))


_budgets: dict[str, Budget] = {}
_budgets_lock = threading.Lock()


def for_provider(provider: str) -> Budget | None:
    """The process's budget of ``provider``, or None when its rate limit sets no rate.

    The rate is ``1 / min_interval`` of the provider's RATE_LIMIT.
    """
    limits = Limits.for_provider(provider)
    if limits is None or limits.min_interval <= 0:
        return None
    rate = 1.0 / limits.min_interval
    options = dict(app_settings.BUDGET or {})
    with _budgets_lock:
        budget = _budgets.get(provider)
        if budget is None or budget.rate != rate or budget.options != {**DEFAULT_OPTIONS, **options}:
            budget = _budgets[provider] = Budget(rate, options)
        return budget


def reset() -> None:
    """Forget every provider's budget (tests; a settings change)."""
    with _budgets_lock:
        _budgets.clear()
