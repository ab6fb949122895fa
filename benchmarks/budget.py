"""Detection delay under a provider call budget: arrivals, dispatch, mixes, the oracle (issue 12).

A discrete-event simulation on a fake clock with the real policy classes and
the real :class:`~django_order_monitor.engine.budget.Budget`. Orders arrive at
``orders/min``; each takes one dispatch call, then is followed by its policy.
With a budget of B calls/s, one call leaves every 1/B s: a waiting dispatch
first (a customer is waiting), else a status check, chosen by the discipline:

* ``unconstrained``: every check runs when due (Huey's 1 s tick), no budget;
* ``fcfs``: a plain rate limiter: due checks queue and are served first come, first served;
* ``budget``: each due check asks ``Budget.admit`` with its policy's chance of finding the
  order ended (plus aging); admitted checks queue for the limiter, the others are put off.

Budgeted runs start in a steady state for the orders that never end: the 24 h of
them already being followed (at the policy's own pace) are there at t = 0. Orders
arrive for an hour (``WARM``) and then half an hour more; those dispatched in that
half hour are reported, followed ``DRAIN`` seconds more (unconstrained runs: an hour
of orders, each followed to its deadline or the end of the run). An order that ended but was not
detected by the end of the run counts with its delay so far (and is shown).

Reported per schedule: p50/p90/p99 detection delay (provider seconds from the
order ending to the check that saw it, plus the check's 0.1 s), status calls per
finished order, calls per hour of an order that never ends, the longest any due
check waited (from the time its policy planned it to its call), and the most
calls (dispatch + status) in any 1 s window against the budget.

    python -m benchmarks --only budget           # about 3 minutes
    python -m benchmarks.budget --quick
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import heapq
import math
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from django_order_monitor.testing.fake_znet.plans import REFERENCE_MIX, MixEntry, PlanOutcome

#: The mixes: the reference workload of DESIGN.md; the mix of issue 12's real-stack run
#: (about half within seconds, a large share tens of minutes); a long tail.
MIXES: dict[str, tuple[MixEntry, ...]] = {
    "reference": REFERENCE_MIX,
    "half-slow": (
        MixEntry("quick", 0.50, PlanOutcome.COMPLETED, 3.0, 20.0),
        MixEntry("manual", 0.35, PlanOutcome.COMPLETED, 600.0, 2400.0),
        MixEntry("failed", 0.12, PlanOutcome.FAILED, 10.0, 300.0),
        MixEntry("never", 0.03, PlanOutcome.NEVER),
    ),
    "long-tail": (
        MixEntry("quick", 0.40, PlanOutcome.COMPLETED, 5.0, 30.0),
        MixEntry("slow", 0.47, PlanOutcome.COMPLETED, 300.0, 3600.0),
        MixEntry("failed", 0.10, PlanOutcome.FAILED, 60.0, 1800.0),
        MixEntry("never", 0.03, PlanOutcome.NEVER),
    ),
}

#: Options of the budget under test (ORDER_MONITOR_BUDGET); the defaults unless a study sets them.
BUDGET_OPTIONS: dict[str, float] = {}

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
DEADLINE = 24 * 3600.0
TICK = 1.0
LATENCY = 0.1
WARM, MEASURE, DRAIN = 3600.0, 3600.0, 3600.0


def draw(mix: tuple[MixEntry, ...], rng: random.Random) -> tuple[str, float | None]:
    """An order's outcome and seconds from dispatch to its end (None: never ends)."""
    pick = rng.random() * sum(entry.weight for entry in mix)
    for entry in mix:
        pick -= entry.weight
        if pick < 0:
            break
    if entry.outcome is PlanOutcome.NEVER:
        return entry.outcome.value, None
    return entry.outcome.value, rng.uniform(entry.min_delay, entry.max_delay)


def history(mix: tuple[MixEntry, ...], count: int = 2000, seed: str = "history") -> list[float | None]:
    """Seconds from dispatch to detection of ``count`` earlier orders (None: timed out), as the ledger holds them."""
    rng = random.Random(seed)
    return [None if delay is None else delay + rng.uniform(0, 3) for _, delay in (draw(mix, rng) for _ in range(count))]


def _at(seconds: float) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=seconds)


def _secs(moment: dt.datetime) -> float:
    return (moment - EPOCH).total_seconds()


@dataclass
class Order:
    dispatched: float
    outcome: str
    ends_at: float | None
    measured: bool
    calls: int = 0
    attempts: int = 0
    last_call: float = 0.0
    planned: float = 0.0  # when its policy wanted the pending check
    detected: float | None = None
    closed: bool = False


@dataclass
class Run:
    """One schedule on one mix at one load: the event loop and its measurements."""

    policy: Any
    mix: tuple[MixEntry, ...]
    per_minute: float
    budget: float | None = None  # calls per second, shared with dispatch
    discipline: str = "unconstrained"  # or "fcfs", "budget"
    seed: str = "budget"
    sweep_every: float = 300.0
    backlog: bool = True  # budgeted runs: start with the 24 h of never-ending orders being followed
    orders: list[Order] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)  # every call's time, dispatch included
    longest_wait: float = 0.0
    deferrals: int = 0

    def run(self, *, warm: float = WARM, measure: float = MEASURE, drain: float = DRAIN) -> Run:
        from django_order_monitor.engine.budget import Budget

        rng = random.Random(f"{self.seed}:orders")
        self.limiter = Budget(self.budget, BUDGET_OPTIONS) if self.discipline == "budget" else None
        self.events: list[tuple[float, int, str, Order | None]] = []
        self.sequence = 0
        self.queue: deque[Order] = deque()  # status checks waiting for a call slot
        self.dispatch_queue: deque[Order] = deque()
        self.slot_free = 0.0
        self.slot_pending = False
        self.sweep_phase = rng.uniform(0, self.sweep_every)
        self.end = warm + measure + drain
        if self.budget is not None and self.backlog:
            self._backlog(rng)
        gap = 60.0 / self.per_minute
        count = int((warm + measure) / gap)
        for number in range(count):
            at = number * gap
            outcome, delay = draw(self.mix, rng)
            order = Order(at, outcome, None if delay is None else at + delay, measured=warm <= at < warm + measure)
            self.orders.append(order)
            self._push(at, "arrive", order)
        while self.events:
            now, _, kind, order = heapq.heappop(self.events)
            if now > self.end:
                break
            if kind == "arrive":
                self._arrive(order, now)
            elif kind == "due":
                self._due(order, now)
            else:
                self._slot(now)
        return self

    # -- events --------------------------------------------------------------------------

    def _push(self, at: float, kind: str, order: Order | None) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (at, self.sequence, kind, order))

    def _backlog(self, rng: random.Random) -> None:
        """The orders that never end, dispatched over the last 24 h, each at its place in its schedule."""
        never = sum(e.weight for e in self.mix if e.outcome is PlanOutcome.NEVER) / sum(e.weight for e in self.mix)
        rate = self.per_minute / 60.0 * never
        if rate <= 0:
            return
        ages, by = self._never_schedule()
        for number in range(int(DEADLINE * rate)):
            age = (number + rng.random()) / rate
            order = Order(-age, "never", None, measured=False)
            index = bisect.bisect_right(ages, age)
            if index >= len(ages):
                continue
            order.attempts = index
            order.last_call = -age + (ages[index - 1] if index else 0.0)
            self.orders.append(order)
            self._plan(order, -age + ages[index], by[index])

    def _never_schedule(self) -> tuple[list[float], list[str]]:
        """Ages of every check of an order that never ends, followed alone (and who drives each)."""
        ages, by = [], []
        at = _secs(self.policy.first_check(_at(0), _at(0), "sim"))
        driver = "task"
        attempts = 0
        while at < DEADLINE:
            ages.append(at)
            by.append(driver)
            attempts += 1
            nxt = self.policy.after_answer(attempts, _at(DEADLINE), _at(at + LATENCY), dispatched_at=_at(0), provider="sim")
            at, driver = max(_secs(nxt.at), at + TICK), nxt.by
        return ages, by

    def _plan(self, order: Order, at: float, by: str) -> None:
        """A check its policy wants at ``at``: Huey's next tick, or the next sweep run."""
        if by == "sweep":
            run = self.sweep_phase + math.ceil((at - self.sweep_phase) / self.sweep_every) * self.sweep_every
        else:
            run = math.ceil(at / TICK) * TICK
        order.planned = run
        self._push(run, "due", order)

    def _arrive(self, order: Order, now: float) -> None:
        if self.budget is None:
            self._dispatched(order, now)
        else:
            self.dispatch_queue.append(order)
            self._want_slot(now)

    def _dispatched(self, order: Order, now: float) -> None:
        self.calls.append(now)
        if self.limiter is not None:
            self.limiter.note_dispatch()
        order.dispatched = now
        if order.ends_at is not None:
            order.ends_at = max(order.ends_at, now)
        order.last_call = now
        self._plan(order, _secs(self.policy.first_check(_at(now), _at(now), "sim")), "task")

    def _due(self, order: Order, now: float) -> None:
        if order.closed:
            return
        if self.discipline == "unconstrained":
            self._check(order, now)
            return
        if self.limiter is not None:
            dispatched, last_call = _at(order.dispatched), _at(order.last_call)

            def chance_at(moment: float) -> float:
                return self.policy.find_chance(dispatched, last_call, _at(moment), "sim")

            wait = self.limiter.admit(chance_at, order.last_call, now)
            if wait is not None:
                self.deferrals += 1
                self.sequence += 1
                heapq.heappush(self.events, (now + wait, self.sequence, "due", order))  # keeps its planned time
                return
        self.queue.append(order)
        self._want_slot(now)

    def _want_slot(self, now: float) -> None:
        if not self.slot_pending:
            self.slot_pending = True
            self._push(max(now, self.slot_free), "slot", None)

    def _slot(self, now: float) -> None:
        self.slot_pending = False
        if self.dispatch_queue:
            self._dispatched(self.dispatch_queue.popleft(), now)
        elif self.queue:
            self._check(self.queue.popleft(), now)
        else:
            return
        self.slot_free = now + 1.0 / self.budget
        if self.dispatch_queue or self.queue:
            self._want_slot(now)

    def _check(self, order: Order, now: float) -> None:
        self.calls.append(now)
        order.calls += 1
        self.longest_wait = max(self.longest_wait, now - order.planned)
        done = now + LATENCY
        deadline = order.dispatched + DEADLINE
        if order.ends_at is not None and now >= order.ends_at:
            order.detected, order.closed = done, True
            return
        if now >= deadline:
            order.closed = True
            return
        order.attempts += 1
        order.last_call = now
        nxt = self.policy.after_answer(
            order.attempts, _at(deadline), _at(done), dispatched_at=_at(order.dispatched), provider="sim"
        )
        self._plan(order, max(_secs(nxt.at), done), nxt.by)

    # -- results -------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        measured = [o for o in self.orders if o.measured]
        finished = [o for o in measured if o.ends_at is not None and o.ends_at <= self.end]
        delays = sorted((o.detected if o.detected is not None else self.end) - o.ends_at for o in finished)
        never = [o for o in measured if o.outcome == "never"]
        never_hours = sum(min(self.end, o.dispatched + DEADLINE) - o.dispatched for o in never) / 3600
        peak = _peak_per_second(sorted(self.calls))
        return {
            "orders": len(measured),
            "p50": percentile(delays, 50),
            "p90": percentile(delays, 90),
            "p99": percentile(delays, 99),
            "calls_per_finished": sum(o.calls for o in finished) / max(1, len(finished)),
            "calls_per_never_hour": sum(o.calls for o in never) / never_hours if never_hours else None,
            "undetected": sum(1 for o in finished if o.detected is None),
            "longest_wait": self.longest_wait,
            "peak_per_second": peak,
            "exceeded": None if self.budget is None else peak > self.budget + 1e-9,
            "deferrals": self.deferrals,
        }


def _peak_per_second(times: list[float]) -> int:
    """The most calls in any window of 1 s (half-open, so calls exactly 1/B apart fit B)."""
    peak = start = 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0 - 1e-9:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return None
    return values[min(len(values), max(1, math.ceil(p / 100 * len(values)))) - 1]


# -- the schedules compared -----------------------------------------------------------------


def learned(policy_class: type, past: list[float | None], **overrides: float) -> Any:
    """An instance of a model-based policy that learned from ``past`` instead of the database."""
    return type(
        f"Sim{policy_class.__name__}",
        (policy_class,),
        {"load_history": lambda self, provider, product="": list(past), "cache": {}, "overrides": overrides},
    )()


def schedules(mix_name: str) -> dict[str, Any]:
    """Every schedule compared, by name, for one mix (the oracle comes separately: it needs a call count)."""
    from benchmarks.policies import FixedIntervalPolicy
    from django_order_monitor.engine.adaptive import AdaptivePolicy
    from django_order_monitor.engine.placement import ModelPolicy
    from django_order_monitor.engine.policy import Policy

    past = history(MIXES[mix_name], seed=f"history:{mix_name}")
    return {
        "seed schedule (default Policy)": Policy(),
        "fixed 10 s": FixedIntervalPolicy(),
        "adaptive (learned)": learned(AdaptivePolicy, past),
        "model (prior only)": learned(ModelPolicy, []),
        "model (learned)": learned(ModelPolicy, past),
        # Dense where calls are cheap: under a budget, the budget does the thinning.
        "model, worth 3 s (learned)": learned(ModelPolicy, past, CALL_WORTH=3),
    }


def oracle(mix_name: str, calls: int) -> Any:
    from benchmarks.policies import OraclePolicy

    rng = random.Random(f"oracle:{mix_name}")
    times = [delay for _, delay in (draw(MIXES[mix_name], rng) for _ in range(20_000)) if delay is not None]
    return OraclePolicy(times, calls)


#: Numbers of the seed's policy (the defaults), and the adaptive options unscaled.
SETTINGS = {
    "ORDER_MONITOR_FIRST_CHECK_DELAY": 60,
    "ORDER_MONITOR_BACKOFF_BASE": 30,
    "ORDER_MONITOR_BACKOFF_FACTOR": 2,
    "ORDER_MONITOR_BACKOFF_MAX": 600,
    "ORDER_MONITOR_BACKOFF_JITTER": 0.1,
    "ORDER_MONITOR_QUICK_ATTEMPTS": 20,
    "ORDER_MONITOR_DEADLINE": DEADLINE,
    "ORDER_MONITOR_SWEEP_INTERVAL": 300,
    "ORDER_MONITOR_ADAPTIVE": {"TIME_SCALE": 1},
    "ORDER_MONITOR_FIXED_INTERVAL": 10,
}


def unconstrained(mix_name: str, per_minute: float = 60.0, measure: float = MEASURE) -> list[dict[str, Any]]:
    """Every schedule with no budget, and the oracle at the new policy's calls per finished order and around it."""
    rows = []
    for name, policy in schedules(mix_name).items():
        random.seed(f"jitter:{name}")
        rows.append({"schedule": name, **Run(policy, MIXES[mix_name], per_minute).run(warm=0, measure=measure).summary()})
    matched = [r["calls_per_finished"] for r in rows if r["schedule"].startswith("model") and "learned" in r["schedule"]]
    # Calls per finished order of the oracle with n checks is about (n + 1) / 2 + a little.
    for calls in sorted({max(1, round(2 * m - 1)) for m in matched} | {16}):
        found = Run(oracle(mix_name, calls), MIXES[mix_name], per_minute).run(warm=0, measure=measure).summary()
        rows.append({"schedule": f"oracle, {calls} quantiles", **found})
    return rows


def budgeted(mix_name: str, per_minute: float, budget: float, *, quick: bool = False) -> list[dict[str, Any]]:
    """The schedules under ``budget`` calls/s shared with dispatch: a plain limiter (fcfs) and the budget."""
    compared = schedules(mix_name)
    plan = [
        ("seed schedule (default Policy)", "fcfs"),
        ("fixed 10 s", "fcfs"),
        ("adaptive (learned)", "fcfs"),
        ("model (learned)", "fcfs"),
        ("adaptive (learned)", "budget"),
        ("model (learned)", "budget"),
        ("model, worth 3 s (learned)", "budget"),
    ]
    if quick:
        plan = [p for p in plan if p[0] != "fixed 10 s"]
    rows = []
    for name, discipline in plan:
        random.seed(f"jitter:{name}")
        run = Run(compared[name], MIXES[mix_name], per_minute, budget, discipline)
        rows.append({"schedule": name, "discipline": discipline, **run.run(measure=MEASURE / (4 if quick else 2)).summary()})
    return rows


def main() -> None:
    import django
    from django.test import override_settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--budget", type=float, default=10.0, help="provider calls per second, dispatch included")
    args = parser.parse_args()
    django.setup()
    from benchmarks import stack

    loads = (100, 200, 300)
    mixes = ("reference", "long-tail") if args.quick else tuple(MIXES)
    started = time.monotonic()
    data: dict[str, Any] = {"budget": args.budget, "unconstrained": {}, "budgeted": {}}
    text = []
    with override_settings(**SETTINGS):
        for mix_name in mixes:
            rows = unconstrained(mix_name, measure=MEASURE / (2 if args.quick else 1))
            data["unconstrained"][mix_name] = rows
            text.append(stack.table(
                f"Unconstrained, {mix_name} mix ({_describe(MIXES[mix_name])}): {rows[0]['orders']:,} orders at 60/min, no budget",
                ["schedule", "p50 s", "p90 s", "p99 s", "calls/finished", "calls/h never", "undetected"],
                [[r["schedule"], r["p50"], r["p90"], r["p99"], r["calls_per_finished"], r["calls_per_never_hour"], r["undetected"]] for r in rows],
            ))
            text.append("")
        for mix_name in ("reference", "long-tail"):
            for per_minute in loads:
                rows = budgeted(mix_name, per_minute, args.budget, quick=args.quick)
                data["budgeted"][f"{mix_name}@{per_minute}"] = rows
                text.append(stack.table(
                    f"{mix_name} mix, {per_minute} orders/min, {args.budget:g} calls/s shared with dispatch "
                    f"({rows[0]['orders']:,} orders measured after {WARM / 60:.0f} min, 24 h of never-ending orders already followed)",
                    ["schedule", "discipline", "p50 s", "p90 s", "p99 s", "calls/finished", "calls/h never",
                     "undetected", "longest wait s", "peak calls/s", "exceeded"],
                    [[r["schedule"], r["discipline"], r["p50"], r["p90"], r["p99"], r["calls_per_finished"],
                      r["calls_per_never_hour"], r["undetected"], r["longest_wait"], r["peak_per_second"],
                      "yes" if r["exceeded"] else "never"] for r in rows],
                ))
                text.append("")
    text.append(f"({time.monotonic() - started:.0f} s to simulate all)")
    stack.save("budget", data, "\n".join(text))


def _describe(mix: tuple[MixEntry, ...]) -> str:
    total = sum(e.weight for e in mix)
    parts = []
    for e in mix:
        share = f"{100 * e.weight / total:.0f} %"
        parts.append(f"{share} never" if e.outcome is PlanOutcome.NEVER else f"{share} {e.outcome.value} {e.min_delay:g}-{e.max_delay:g} s")
    return ", ".join(parts)


if __name__ == "__main__":
    main()
