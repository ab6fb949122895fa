"""The call budget on the real stack, against the simulation of the same run (issue 12).

Real stack: the fake znet (reference mix) at ``time_scale`` S, PostgreSQL, Redis
and two consumers (4 thread workers each, scheduler tick 1/S) following with
:class:`~django_order_monitor.engine.placement.ModelPolicy` (``CALL_WORTH`` 3
provider seconds) under znet's rate limit of 10 calls per provider second
(``min_interval`` 0.1/S) and the call budget, every time option divided by S.
The driver dispatches 100 orders per provider minute, each through
``get_provider("znet").place_order`` (so it takes its turn in the shared rate
limit and is counted against the budget, as a shop's dispatch is), then saves
the shop's row as sent, so the post-save hook starts monitoring it. The ledger
is seeded first with the 2,000 earlier orders the simulation's "learned"
policies learn from, so both start from the same history.

Plan, in provider time: orders arrive for 40 minutes; those dispatched in
minutes 20-40 are reported; the run ends at minute 70 (``--quick``: 20, 10-20, 35).
Delays are in provider seconds: (the shop row's completed_at - the fake's
terminal_at) x S; an order that ended but was not seen by the end counts with
its delay so far (as in the simulation). The peak is the most calls (pin_ekle +
pin_kontrol, from the fake's call log, taken as each arrives) in any window of one
provider second, and in any 10 s (divided by 10: the arrival jitter of single calls,
not compressed by S, averages out).

Simulation: ``benchmarks.budget.Run`` with the same mix, load, budget and windows
and no 24 h backlog of never-ending orders (the real run has none); and, for
context, the same with the backlog (the simulation's usual steady state).

    python -m benchmarks.budget_stack [--scale 5] [--quick]   # 14 (quick: 7) minutes at S=5
    python -m benchmarks --only budget_stack
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import threading
import time
import uuid
from typing import Any

from benchmarks import stack

DB = "om_bench_budget"
REDIS_URL = "redis://127.0.0.1:6379/13"
HUEY_NAME = "om-bench-budget"
POLICY = "django_order_monitor.engine.placement.ModelPolicy"
MIX = "reference"
SCHEDULE = "model, worth 3 s (learned)"  # the simulation's row this run confirms
CALL_WORTH = 3.0
BUDGET = 10.0  # provider calls per provider second, dispatch included
PER_MINUTE = 100.0
CONSUMERS, WORKERS = 2, 4
#: Provider seconds: (arrivals until, measured from, run ends at).
PLANS = {"full": (2400.0, 1200.0, 4200.0), "quick": (1200.0, 600.0, 2100.0)}
#: Budget options that are times (divided by S); TARGET is a share.
_BUDGET_TIMES = ("BURST", "AGING", "MIN_DEFER", "MAX_DEFER")


def rate_limit(scale: float) -> dict[str, float]:
    """znet's RATE_LIMIT: BUDGET calls per provider second at time scale ``scale``.

    ``max_concurrent`` is the consumers' worker threads: the simulation has no cap on
    calls in flight, only the gap, and on the real stack a call's wall time is not
    compressed by S, so a lower cap would measure this machine's latency, not the policy.
    ``max_wait`` is 10 provider seconds, but at least 1 real second (a loaded machine's
    scheduling jitter is not compressed either).
    """
    return {"min_interval": 1.0 / BUDGET / scale, "max_concurrent": CONSUMERS * WORKERS, "max_wait": max(10.0 / scale, 1.0)}


def extra_settings(scale: float) -> dict[str, Any]:
    """ORDER_MONITOR_* settings beyond benchmarks/settings.py's scaling (BENCH_EXTRA)."""
    from django_order_monitor.conf import SETTINGS

    budget = {name: value / scale if name in _BUDGET_TIMES else value for name, value in SETTINGS["BUDGET"].default.items()}
    # TIME_SCALE divides CALL_WORTH, MIN_INTERVAL and the prior (engine.adaptive); the settings
    # module scales FIRST_CHECK_DELAY, BACKOFF_*, DEADLINE, SWEEP_INTERVAL and the leases.
    return {"ADAPTIVE": {"TIME_SCALE": scale, "CALL_WORTH": CALL_WORTH}, "BUDGET": budget}


def seed_history(scale: float) -> int:
    """Write the simulation's 2,000 earlier orders into the ledger as finished (times / ``scale``),
    each with a processing answer at its end, so the policy learns exactly those times."""
    from django.utils import timezone

    from benchmarks.budget import DEADLINE, MIXES, history
    from django_order_monitor.engine.adaptive import clear_cache
    from django_order_monitor.models import MonitoredOrder, StatusCheck

    past = history(MIXES[MIX], seed=f"history:{MIX}")  # what schedules() learns from
    now = timezone.now()
    states = MonitoredOrder.State
    rows = []
    for number, seconds in enumerate(past):
        # Finished just before the run, newest last; a timed-out one finished at its deadline.
        finished = now - dt.timedelta(seconds=(len(past) - number) * 0.01)
        dispatched = finished - dt.timedelta(seconds=(DEADLINE if seconds is None else seconds) / scale)
        rows.append(MonitoredOrder(
            order_id=uuid.uuid4(), provider="znet", reference=f"history{number:05d}",
            state=states.TIMED_OUT if seconds is None else states.COMPLETED,
            dispatched_at=dispatched, deadline_at=dispatched + dt.timedelta(seconds=DEADLINE / scale), finished_at=finished,
        ))
    MonitoredOrder.objects.bulk_create(rows, batch_size=500)
    # A "still processing" answer at the moment each one finished: the policy learns an order's
    # end between its last such answer and its terminal one, so these are learned exactly.
    StatusCheck.objects.bulk_create(
        [StatusCheck(monitored_order=row, checked_at=row.finished_at, latency_ms=0, result="processing")
         for row in MonitoredOrder.objects.filter(reference__startswith="history", state=states.COMPLETED)],
        batch_size=500,
    )
    clear_cache()
    return len(rows)


def _forget_limits() -> None:
    """Drop the rate limit's and the budget's Redis keys of this Huey name (a previous run's)."""
    from django_order_monitor.engine import budget
    from django_order_monitor.providers import ratelimit

    shared = ratelimit.backend()
    if not hasattr(shared, "prefix"):
        raise RuntimeError("the rate limit is not shared through Redis: the consumers would each spend their own budget")
    for key in shared.client.scan_iter(match=shared.prefix + "*"):
        shared.client.delete(key)
    budget.reset()


def real_stack(scale: float, plan: tuple[float, float, float]) -> dict[str, Any]:
    """One run on the real stack (see the module docstring); its measurements."""
    from django_order_monitor.testing.fake_znet import FakeZnetServer

    arrive, warm, end = plan
    gap = 60.0 / PER_MINUTE  # provider seconds between arrivals
    # Every call of the run fits the log: at most BUDGET a provider second, and some slack. The
    # balance must outlast every order (the default 100,000 runs out after about 3,600).
    fake = FakeZnetServer(seed="budget-stack", time_scale=scale, balance=1e9, call_log=int(BUDGET * end * 2)).start()
    try:
        stack.setup(
            DB, BENCH_TIME_SCALE=str(scale), BENCH_POLICY=POLICY, BENCH_HUEY_NAME=HUEY_NAME, BENCH_REDIS_URL=REDIS_URL,
            BENCH_FAKE_URL=fake.url, BENCH_RATE_LIMIT=json.dumps(rate_limit(scale)), BENCH_EXTRA=json.dumps(extra_settings(scale)),
        )
        from django.conf import settings
        from django.db import connections

        import django_order_monitor.tasks  # noqa: F401  (scopes the rate limit by the Huey name, as in the consumers)
        from django_order_monitor.engine import sweep
        from django_order_monitor.exceptions import ProviderError
        from django_order_monitor.providers import get_provider
        from django_order_monitor.providers.ratelimit import RateLimited
        from tests.testapp.models import ProductOrder

        stack.reset()
        _forget_limits()
        seeded = seed_history(scale)
        consumers = [
            stack.Consumer(stack.consumer_env(), f"budget-stack-consumer-{n}", WORKERS, tick=1 / scale) for n in range(CONSUMERS)
        ]
        time.sleep(5)  # both consumers up (Django set-up on a loaded 2-core machine)
        # The periodic sweep, as in production (ModelPolicy never hands an order to it: it only
        # recovers lost tasks); in a thread so it never delays a dispatch.
        stop_sweep = threading.Event()

        def sweeping() -> None:
            try:
                while not stop_sweep.wait(float(settings.ORDER_MONITOR_SWEEP_INTERVAL)):
                    sweep.run_sweep()
            finally:
                connections.close_all()

        sweeper = threading.Thread(target=sweeping, name="sweep", daemon=True)
        sweeper.start()
        provider = get_provider("znet")
        count = int(arrive / gap)
        started, epoch = time.monotonic(), time.time()
        lag = 0.0
        limited = 0
        errors: list[str] = []  # a dispatch's errors must not go unseen: they would skew everything
        next_report = started + 60
        for number in range(count):
            due = started + number * gap / scale
            time.sleep(max(0.0, due - time.monotonic()))
            lag = max(lag, time.monotonic() - due)
            referans = f"b{number:06d}"
            while True:
                try:
                    provider.place_order(referans, oyun="1", kupur="1")
                    break
                except RateLimited:  # nothing was sent: send it again, as the shop would
                    limited += 1
                except ProviderError as err:  # refused, or outcome unknown: monitored anyway here
                    errors.append(str(err)[:200])
                    break
            ProductOrder.objects.create(
                external_status="sent", provider_referans=referans, provider_id="znet", sent_at=dt.datetime.now(dt.timezone.utc)
            )
            if time.monotonic() >= next_report:
                next_report += 60
                _progress(fake, epoch, scale, number + 1, lag)
        finish = started + end / scale
        while time.monotonic() < finish:
            time.sleep(min(60.0, max(0.0, finish - time.monotonic())))
            _progress(fake, epoch, scale, count, lag)
        end_epoch = epoch + end / scale
        stop_sweep.set()
        cpu = sum(c.cpu() for c in consumers)
        codes = [c.stop() for c in consumers]
        sweeper.join(timeout=30)
        stats = fake.stats()
        log = fake.calls_logged()
    finally:
        fake.stop()
    return {
        "scale": scale, "plan": plan, "seeded_history": seeded, "consumer_exit": codes, "consumer_cpu_s": cpu,
        "dispatch_lag_s": lag * scale, "dispatch_rate_limited": limited,
        "dispatch_errors": len(errors), "dispatch_error_examples": sorted(set(errors))[:5],
        "call_log_full": len(log) >= int(BUDGET * end * 2), "calls": stats["calls"],
        **_measure(stats, log, epoch, end_epoch, scale, warm, arrive, gap),
    }


def _progress(fake: Any, epoch: float, scale: float, dispatched: int, lag: float) -> None:
    log = fake.calls_logged()
    now = time.time()
    recent = [t for t, _ in log if t >= now - 60]
    print(
        f"  provider minute {(now - epoch) * scale / 60:5.1f}: {dispatched:,} dispatched (lag {lag * scale:.1f} provider s), "
        f"{len(recent) / (60 * scale):.2f} calls per provider second over the last real minute",
        flush=True,
    )


def _measure(stats: dict, log: list, epoch: float, end_epoch: float, scale: float, warm: float, arrive: float, gap: float) -> dict[str, Any]:
    """The simulation's measurements, from the fake's record and the shop's and ledger's rows."""
    from benchmarks.budget import _peak_per_second, percentile
    from django_order_monitor.models import MonitoredOrder
    from tests.testapp.models import ProductOrder

    orders = {o.provider_referans: o for o in ProductOrder.objects.filter(provider_referans__startswith="b")}
    ledger = {m.reference: m for m in MonitoredOrder.objects.filter(reference__startswith="b")}
    terminal = {MonitoredOrder.State.COMPLETED, MonitoredOrder.State.FAILED, MonitoredOrder.State.TIMED_OUT}
    # Two delays: to the shop row's completed_at (as benchmarks/detection.py: the start of the check
    # that saw it), and to the provider's first terminal answer (the call that saw it, as simulated).
    delays, answers, calls, never_calls, never_hours = [], [], 0, 0, 0.0
    measured = undetected = wrong = unmonitored = 0
    examples: list[dict[str, Any]] = []  # of wrong states (never a PIN)
    for referans, plan in stats["orders"].items():
        number = int(referans[1:])
        order, entry = orders.get(referans), ledger.get(referans)
        if order is None or entry is None:
            unmonitored += 1
            continue
        ended = plan["terminal_at"]
        seen = order.completed_at or entry.finished_at
        detected = seen.timestamp() if entry.state in terminal and seen is not None else None
        if detected is not None:
            # A terminal state must be the provider's, with its PIN, told by the provider. (Not "seen after
            # it ended" by completed_at: that is when its check started, before its turn in the rate limit.)
            why = (
                "state" if entry.state != plan["outcome"] else "never ends" if ended is None
                else "provider never answered terminal" if plan["terminal_reported_at"] is None
                else "PIN" if plan["outcome"] == "completed" and order.pin_code != plan["pin"] else ""
            )
            if why:
                wrong += 1
                if len(examples) < 10:
                    examples.append({"referans": referans, "why": why, "state": entry.state, "outcome": plan["outcome"]})
        if not warm <= number * gap < arrive:
            continue
        measured += 1
        if ended is None:
            never_calls += stats["calls_per_referans"].get(referans, 0)
            never_hours += (end_epoch - plan["dispatched_at"]) * scale / 3600
            continue
        if ended > end_epoch:
            continue
        calls += stats["calls_per_referans"].get(referans, 0)
        answered = plan["terminal_reported_at"]
        if detected is None or detected > end_epoch:
            undetected += 1
            detected = end_epoch
        if answered is None or answered > end_epoch:
            answered = end_epoch
        delays.append((detected - ended) * scale)
        answers.append((answered - ended) * scale)
    delays.sort()
    answers.sort()
    times = sorted((t - epoch) * scale for t, _ in log if epoch - 1 <= t <= end_epoch)
    return {
        "orders": measured,
        "finished": len(delays),
        "p50": percentile(delays, 50),
        "p90": percentile(delays, 90),
        "p99": percentile(delays, 99),
        "answered": {"p50": percentile(answers, 50), "p90": percentile(answers, 90), "p99": percentile(answers, 99)},
        "calls_per_finished": calls / max(1, len(delays)),
        "calls_per_never_hour": never_calls / never_hours if never_hours else None,
        "undetected": undetected,
        "wrong_state": wrong,
        "wrong_examples": examples,
        "unmonitored": unmonitored,
        "peak_per_second": _peak_per_second(times),
        # Over 10 s the arrival jitter of single calls averages out: what the limiter lets through.
        "peak_per_10s": _peak_per_second([t / 10 for t in times]) / 10,
        "mean_per_second": _mean_rate(times, warm, (end_epoch - epoch) * scale),
    }


def _mean_rate(times: list[float], start: float, end: float) -> float:
    """Calls per second from ``start`` to ``end`` (provider seconds)."""
    return sum(1 for t in times if start <= t < end) / (end - start)


def simulate(plan: tuple[float, float, float], *, backlog: bool) -> dict[str, Any]:
    """The simulation's run of SCHEDULE with the same mix, load, budget and windows."""
    from django.test import override_settings

    from benchmarks import budget
    from benchmarks.budget import _peak_per_second

    arrive, warm, end = plan
    with override_settings(**budget.SETTINGS):
        policy = budget.schedules(MIX)[SCHEDULE]
        random.seed(f"jitter:{SCHEDULE}")
        run = budget.Run(policy, budget.MIXES[MIX], PER_MINUTE, BUDGET, "budget", backlog=backlog)
        found = run.run(warm=warm, measure=arrive - warm, drain=end - arrive).summary()
    times = sorted(run.calls)
    return {**found, "peak_per_10s": _peak_per_second([t / 10 for t in times]) / 10, "mean_per_second": _mean_rate(times, warm, end)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=5.0, help="time compression S (provider seconds per real second)")
    parser.add_argument("--quick", action="store_true", help="half the windows (arrivals 20 min, run 35 min)")
    args = parser.parse_args()
    plan = PLANS["quick" if args.quick else "full"]
    arrive, warm, end = plan
    load_before = os.getloadavg()
    started = time.monotonic()
    real = real_stack(args.scale, plan)
    real_seconds = time.monotonic() - started
    load_after = os.getloadavg()
    started = time.monotonic()
    same = simulate(plan, backlog=False)
    steady = simulate(plan, backlog=True)
    sim_seconds = time.monotonic() - started

    def row(name: str, r: dict[str, Any]) -> list[Any]:
        return [name, r["orders"], r["p50"], r["p90"], r["p99"], r["calls_per_finished"], r["calls_per_never_hour"],
                r["undetected"], r.get("wrong_state"), r["peak_per_second"], r["peak_per_10s"], r["mean_per_second"]]

    text = [
        "Delays in provider seconds from the order ending at the provider: on the real stack to the shop row's "
        "completed_at (as benchmarks/detection.py; it is when the check that saw it started, before its turn in the "
        "rate limit) and to the provider's first terminal answer (the call that saw it, as the simulation counts).",
        stack.table(
            f"Call budget, real stack vs simulation: {MIX} mix, {PER_MINUTE:g} orders/min dispatched through the adapter, "
            f"{BUDGET:g} calls/s shared with dispatch, ModelPolicy worth {CALL_WORTH:g} s learned from {real['seeded_history']:,} "
            f"earlier orders; arrivals for {arrive / 60:g} min, orders of minutes {warm / 60:g}-{arrive / 60:g} measured, "
            f"run ends at minute {end / 60:g} (provider time)",
            ["run", "orders", "p50 s", "p90 s", "p99 s", "calls/finished", "calls/h never", "undetected", "wrong",
             "peak calls/s", "peak calls/s over 10 s", f"mean calls/s ({warm / 60:g}-{end / 60:g} min)"],
            [
                row(f"real stack (S={args.scale:g}), to completed_at", real),
                row("real stack, to the terminal answer", {**real, **real["answered"]}),
                row("simulation, same run", same),
                row("simulation, 24 h backlog", steady),
            ],
        ),
        f"(real stack: time scale {args.scale:g}, {CONSUMERS} consumers x {WORKERS} thread workers, tick {1 / args.scale:g} s; "
        f"{real_seconds:.0f} s wall; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; consumer CPU "
        f"{real['consumer_cpu_s']:.0f} s; exits {real['consumer_exit']}; dispatch lag at most {real['dispatch_lag_s']:.1f} "
        f"provider s, {real['dispatch_rate_limited']} dispatch calls refused by the rate limit and sent again, "
        f"{real['dispatch_errors']} refused or unanswered; {real['unmonitored']} orders not monitored; "
        f"simulations {sim_seconds:.1f} s)",
    ]
    stack.save("budget_stack", {"real": real, "simulation": same, "simulation_backlog": steady}, "\n".join(text))


if __name__ == "__main__":
    main()
