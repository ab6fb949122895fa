"""A provider's call budget: which due checks it can afford now, and when to ask again.

The rate limit (:mod:`..providers.ratelimit`) is the hard limit: it paces every
call, and a dispatch call waiting for its turn goes before any status check (a
customer is waiting). This module decides *which* checks get the calls left when
more are due than the budget allows.

Each due check asks :meth:`Budget.admit` with its chance of finding the order
ended, as a function of when it would call (the policy's completion model,
:meth:`.policy.Policy.find_chance`). What it would pay for a call (its *bid*) is
that chance, raised by how long its order has gone without a call: by
``1 / (1 - idle / AGING)``, so an order not asked for ``AGING`` seconds outbids
any check and none starves, whatever the price. Calls accrue at ``TARGET`` of the
provider's rate; every dispatch call the rate limit let through (from any
process: the shop's dispatch through the adapter, see
:func:`..providers.ratelimit.call_slot`) takes one of them first. A check is
admitted when a call is left and its bid reaches the price, which rises while
checks worth a call find none and falls while calls go unused: under over-demand
only the best-bidding share of the due checks calls.

A check below the price is not queued: it is put off until the moment its bid
reaches the price (read from its own chance function, at least ``MIN_DEFER``, at
most ``MAX_DEFER`` seconds away). So under sustained over-demand the schedule
stretches to the price's quantile of each order's remaining completion time,
never into a tight retry loop. Without over-demand every check is admitted at
once and the budget changes nothing.

The state (calls in hand, price, dispatch calls seen) is shared by every consumer
of the shop through the rate limit's Redis, so the fleet spends one budget per
provider; without Redis it is per process. Options: ``ORDER_MONITOR_BUDGET`` (a
dict; its declaration in ``conf`` says each).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from ..conf import SETTINGS, app_settings
from ..providers import ratelimit
from ..providers.ratelimit import Limits, LocalState, SharedState

__all__ = ["DEFAULT_OPTIONS", "Budget", "for_provider", "option", "reset"]

#: The options and their defaults, declared with the setting (``conf.SETTINGS["BUDGET"]``).
DEFAULT_OPTIONS: dict[str, float] = dict(SETTINGS["BUDGET"].default)

#: Below this price every check is admitted (the budget is not short).
_FREE = 1e-4
#: How fast the price moves: per refused ask up, per unused call down.
_STEP = 0.05
#: Seconds the dispatch rate shown to operators is averaged over (exponentially).
DISPATCH_RATE_SECONDS = 60.0
#: Steps of the search for the moment a put-off check's bid reaches the price.
_SEARCH_STEPS = 24

#: A check's chance of finding its order ended if it called at a given moment (epoch seconds).
ChanceAt = Callable[[float], float]


class Budget:
    """Admission of due checks under ``rate`` calls per second (shared with dispatch).

    Calls accrue at ``rate x TARGET`` per second (at most ``BURST`` seconds of them
    saved up); each dispatch call counted in ``state`` takes one first, even into
    debt. Times are seconds on the epoch clock (any clock the caller keeps, for a
    simulation). Safe across threads, and across processes when ``state`` is shared.
    """

    def __init__(self, rate: float, options: dict[str, float] | None = None, state: SharedState | None = None) -> None:
        self.rate = float(rate)
        self.options = {**DEFAULT_OPTIONS, **(options or {})}
        self.per_second = self.rate * self.options["TARGET"]
        self.depth = max(1.0, self.per_second * self.options["BURST"])
        self.shared = state if state is not None else LocalState()

    def bid(self, chance: float, idle: float) -> float:
        """The highest price at which a check is admitted: its chance, raised by its order's
        ``idle`` seconds without a call (infinite after AGING seconds)."""
        left = 1.0 - max(0.0, idle) / self.options["AGING"]
        return max(0.0, chance) / left if left > 0 else float("inf")

    def note_dispatch(self) -> None:
        """Count a dispatch call made outside the rate limit's ``call_slot`` (a simulation does)."""
        self.shared.count_dispatch()

    def admit(self, chance_at: ChanceAt, last_call: float, now: float) -> float | None:
        """None when the check may call now; else the seconds to wait before asking again.

        ``chance_at(t)``: the chance a call at ``t`` finds the order ended;
        ``last_call``: when the order was last asked about (or dispatched).
        """
        bid = self.bid(chance_at(now), now - last_call)
        admitted, price = self.shared.update(lambda state, dispatched: self._decide(state, dispatched, bid, now))
        if admitted:
            return None
        if bid >= price:
            # Worth a call, but none is left: ask again soon (the price has risen).
            return self.options["MIN_DEFER"]
        return self._until_worth(chance_at, last_call, now, price)

    def _decide(self, state: dict[str, float], dispatched: int, bid: float, now: float) -> tuple[dict[str, float], tuple[bool, float]]:
        state = self._accrued(state, dispatched, now)
        price = state["price"]
        if bid >= price and state["calls"] >= 1.0:
            state["calls"] -= 1.0
            return state, (True, price)
        if bid >= price:
            state["price"] = max(_FREE, price) * (1 + _STEP)
        return state, (False, price)

    def _accrued(self, state: dict[str, float], dispatched: int, now: float) -> dict[str, float]:
        calls = state.get("calls", self.depth)
        price = state.get("price", 0.0)
        updated = state.get("updated", now)
        if now > updated:
            calls += (now - updated) * self.per_second
            if calls > self.depth:
                # Calls went unused: checks below the price could have had them.
                price *= (1 - _STEP) ** (calls - self.depth)
                calls = self.depth
                if price < _FREE:
                    price = 0.0
        # Dispatch calls since the last look took their calls first (counted as if just made:
        # when that was is not known, and sooner would refill the budget they spent).
        new = max(0, dispatched - state.get("dispatched", dispatched))
        calls -= new
        decay = math.exp(-max(0.0, now - updated) / DISPATCH_RATE_SECONDS)
        rate = state.get("dispatch_rate", 0.0) * decay + new / DISPATCH_RATE_SECONDS
        return {"calls": calls, "price": price, "updated": max(now, updated), "dispatched": float(dispatched), "dispatch_rate": rate}

    def _until_worth(self, chance_at: ChanceAt, last_call: float, now: float, price: float) -> float:
        """Seconds until the check's bid reaches ``price`` (within MIN_DEFER..MAX_DEFER)."""
        shortest, longest = self.options["MIN_DEFER"], self.options["MAX_DEFER"]

        def worth(wait: float) -> bool:
            return self.bid(chance_at(now + wait), now + wait - last_call) >= price

        if worth(shortest) or not worth(longest):
            return shortest if worth(shortest) else longest
        low, high = shortest, longest
        for _ in range(_SEARCH_STEPS):  # the bid only grows with the wait
            middle = (low + high) / 2
            low, high = (low, middle) if worth(middle) else (middle, high)
            if high - low < 0.5:
                break
        return high

    def state(self, now: float | None = None) -> dict[str, float]:
        """For operators and tests, at ``now`` (default: the epoch now): the price, the calls in
        hand, the rate they accrue at and the dispatch calls per second (last minute or so)."""
        at = time.time() if now is None else now

        def look(state: dict[str, float], dispatched: int) -> tuple[dict[str, float], dict[str, float]]:
            accrued = self._accrued(state, dispatched, at)
            return accrued, accrued

        found = self.shared.update(look)
        return {
            "price": found["price"],
            "calls": found["calls"],
            "per_second": self.per_second,
            "dispatch_per_second": found["dispatch_rate"],
        }


def option(name: str) -> float:
    """One option of ``ORDER_MONITOR_BUDGET``, or its default."""
    return float((app_settings.BUDGET or {}).get(name, DEFAULT_OPTIONS[name]))


_budgets: dict[str, Budget] = {}
_budgets_lock = threading.Lock()


def for_provider(provider: str) -> Budget | None:
    """The budget of ``provider`` (shared as its rate limit is), or None when its rate limit sets no rate.

    The rate is ``1 / min_interval`` of the provider's RATE_LIMIT.
    """
    limits = Limits.for_provider(provider)
    if limits is None or limits.min_interval <= 0:
        return None
    rate = 1.0 / limits.min_interval
    options = {**DEFAULT_OPTIONS, **(app_settings.BUDGET or {})}
    shared = ratelimit.backend().budget_state(provider)
    with _budgets_lock:
        found = _budgets.get(provider)
        if found is None or found.rate != rate or found.options != options or found.shared is not shared:
            found = _budgets[provider] = Budget(rate, options, shared)
        return found


def reset() -> None:
    """Forget every budget, and clear the shared state of each provider known here (tests).

    Known: those with a budget in this process and those in ``PROVIDERS``; another
    process (a consumer) may have written a provider's state since its last reset.
    """
    configured = app_settings.PROVIDERS if isinstance(app_settings.PROVIDERS, dict) else {}
    with _budgets_lock:
        for found in _budgets.values():
            found.shared.clear()
        for provider in configured:
            ratelimit.backend().budget_state(str(provider)).clear()
        _budgets.clear()
