"""A discrete-event simulation of the monitor's polling, with the real Policy classes.

Each order gets the fake provider's own seeded plan (``fake_znet.plans.draw_plan``,
the reference mix) and is followed exactly as the consumer does: the policy's
first check, Huey's scheduler tick (a delayed task runs at the first tick at or
after its ETA), the check's latency, ``after_answer`` after each non-terminal
answer, sweep-driven checks at the next sweep run, the deadline as the last
check. Times are provider seconds on a fake clock; 10,000 orders take seconds.

Batching (one provider call answering many orders) is estimated by grouping
the checks that run in the same scheduler tick, up to ``batch_size`` a call.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.test import override_settings

from django_order_monitor.engine import adaptive
from django_order_monitor.engine.policy import Policy
from django_order_monitor.testing.fake_znet.plans import PlanOutcome, draw_plan

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

#: The seed's numbers (the defaults), in provider seconds.
PRODUCTION = {
    "FIRST_CHECK_DELAY": 60,
    "BACKOFF_BASE": 30,
    "BACKOFF_FACTOR": 2,
    "BACKOFF_MAX": 600,
    "BACKOFF_JITTER": 0.1,
    "QUICK_ATTEMPTS": 20,
    "DEADLINE": 24 * 3600,
    "SWEEP_INTERVAL": 300,
    # Undo a compressed benchmark process's scaling for the policies' own options.
    "ADAPTIVE": {"TIME_SCALE": 1},
    "FIXED_INTERVAL": 10,
}


def synthetic_history(count: int = 2000, seed: str = "history", noise: float = 3.0) -> list[float | None]:
    """Seconds from dispatch to detection of ``count`` earlier orders of the reference mix
    (None = timed out), as the ledger would hold them."""
    rng = random.Random(seed)
    history: list[float | None] = []
    for number in range(count):
        plan = draw_plan(seed, f"H{number:07d}")
        history.append(None if plan.delay is None else plan.delay + rng.uniform(0, noise))
    return history


class SimAdaptivePolicy(adaptive.AdaptivePolicy):
    """The adaptive policy learning from a given history instead of the database."""

    history: list[float | None] = []

    def load_history(self, provider: str, product: str = "") -> list[float | None]:
        return list(self.history)


@dataclass
class OrderTrace:
    outcome: str
    delay: float | None  # detection delay (s) of a terminal answer; None when not detected
    calls: int
    final_state: str


@dataclass
class SimResult:
    name: str
    orders: list[OrderTrace]
    check_times: list[float] = field(default_factory=list)

    def summary(self, batch_size: int = 50, tick: float = 1.0) -> dict[str, Any]:
        delays = sorted(o.delay for o in self.orders if o.delay is not None)
        calls = [o.calls for o in self.orders]
        finite = [o.calls for o in self.orders if o.outcome != PlanOutcome.NEVER.value]
        never = [o.calls for o in self.orders if o.outcome == PlanOutcome.NEVER.value]
        wrong = sum(1 for o in self.orders if o.final_state != _expected_state(o.outcome) and o.final_state != "open")
        per_tick = Counter(math.floor(t / tick) for t in self.check_times)
        batched = sum(math.ceil(n / batch_size) for n in per_tick.values())
        return {
            "policy": self.name,
            "orders": len(self.orders),
            "p50": percentile(delays, 50),
            "p90": percentile(delays, 90),
            "p99": percentile(delays, 99),
            "calls_per_order": sum(calls) / max(1, len(calls)),
            "calls_per_finishing_order": sum(finite) / max(1, len(finite)),
            "calls_per_never_order": sum(never) / max(1, len(never)),
            "batched_calls_per_order": batched / max(1, len(calls)),
            "wrong_state": wrong,
        }


def _expected_state(outcome: str) -> str:
    return {"completed": "completed", "failed": "failed", "never": "timed_out"}[outcome]


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return None
    rank = max(1, math.ceil(p / 100 * len(values)))
    return values[min(rank, len(values)) - 1]


def _at(seconds: float) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=seconds)


def _secs(moment: dt.datetime) -> float:
    return (moment - EPOCH).total_seconds()


def simulate(
    policy: Policy,
    name: str,
    *,
    orders: int = 10_000,
    seed: str = "sim",
    rate: float = 2.0,
    tick: float = 1.0,
    latency: float = 0.1,
    horizon: float | None = None,
    settings: dict[str, Any] | None = None,
    provider: str = "sim",
) -> SimResult:
    """Follow ``orders`` orders (one every ``1/rate`` s) with ``policy``.

    ``horizon`` stops following each order that many seconds after its
    dispatch (the whole deadline when None). ``tick`` is Huey's scheduler
    interval and ``latency`` a check's duration, in provider seconds.
    """
    numbers = {**PRODUCTION, **(settings or {})}
    rng = random.Random(f"{seed}:timing")
    tick_phase = rng.uniform(0, tick)
    sweep_every = float(numbers["SWEEP_INTERVAL"])
    sweep_phase = rng.uniform(0, sweep_every)
    deadline_after = float(numbers["DEADLINE"])
    traces: list[OrderTrace] = []
    check_times: list[float] = []
    prefixed = {"ORDER_MONITOR_" + key: value for key, value in numbers.items()}
    with override_settings(**prefixed):
        # The policy's jitter uses the module-level random: seed it for repeatable runs.
        random.seed(f"{seed}:jitter")
        for number in range(orders):
            dispatched = number / rate
            plan = draw_plan(seed, f"S{number:07d}")
            terminal_at = None if plan.delay is None else dispatched + plan.delay
            deadline = dispatched + deadline_after
            stop = dispatched + (horizon if horizon is not None else deadline_after + 3600)
            eta = _secs(policy.first_check(_at(dispatched), _at(dispatched), provider))
            by = "task"
            calls = attempts = 0
            delay: float | None = None
            state = "open"
            while True:
                if by == "sweep":
                    run = sweep_phase + math.ceil((eta - sweep_phase) / sweep_every) * sweep_every
                else:
                    run = tick_phase + math.ceil((eta - tick_phase) / tick) * tick
                if run > stop:
                    break
                calls += 1
                check_times.append(run)
                done = run + latency
                if terminal_at is not None and run >= terminal_at:
                    delay = done - terminal_at
                    state = plan.outcome.value
                    break
                if run >= deadline:
                    state = "timed_out"
                    break
                attempts += 1
                nxt = policy.after_answer(attempts, _at(deadline), _at(done), dispatched_at=_at(dispatched), provider=provider)
                eta, by = _secs(nxt.at), nxt.by
            traces.append(OrderTrace(plan.outcome.value, delay, calls, state))
    return SimResult(name, traces, check_times)


def compare(orders: int = 10_000, *, history: int = 2000, **kwargs: Any) -> list[dict[str, Any]]:
    """The three policies (and the adaptive one without history) on the same orders."""
    from benchmarks.policies import FixedIntervalPolicy

    adaptive.clear_cache()
    SimAdaptivePolicy.history = synthetic_history(history)
    warm = SimAdaptivePolicy()
    rows = [
        simulate(Policy(), "seed (60 s, 30 s x 2^n <= 600 s)", orders=orders, **kwargs).summary(),
        simulate(FixedIntervalPolicy(), "fixed 10 s", orders=orders, **kwargs).summary(),
        simulate(warm, f"adaptive ({history} orders of history)", orders=orders, **kwargs).summary(),
    ]
    adaptive.clear_cache()
    SimAdaptivePolicy.history = []
    rows.append(simulate(SimAdaptivePolicy(), "adaptive (prior only)", orders=orders, **kwargs).summary())
    adaptive.clear_cache()
    return rows
