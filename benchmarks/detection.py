"""Detection delay against provider load: three policies on the real stack, and the simulation.

Real stack: one consumer (8 thread workers, compressed scheduler tick) with
PostgreSQL, Redis and the fake znet at ``time_scale`` S; the three policies run
side by side (``RoutedPolicy`` picks one per provider name, all names on the
same fake). Orders are saved into the legacy table like the shop does, so the
post-save hook starts them. The driver runs the sweep every SWEEP_INTERVAL.
Delays are in provider seconds: (order row's completed_at - provider's
terminal_at) x S. Calls per order come from the fake's own counters.

Simulation: 10,000 orders over the whole 24 h deadline (benchmarks/simulate.py),
and the same orders/horizon as the real run, to validate the simulation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from benchmarks import stack

POLICIES = ("seed", "fixed", "adaptive")


def real_stack(scale: float, per_policy: int, window: float, horizon: float, workers: int = 8) -> dict:
    stack.setup(BENCH_TIME_SCALE=str(scale), BENCH_POLICY="benchmarks.policies.RoutedPolicy", BENCH_HUEY_NAME="om-bench-detect")
    from django.conf import settings

    from benchmarks.settings import providers
    from django_order_monitor.engine import sweep
    from django_order_monitor.models import MonitoredOrder
    from django_order_monitor.testing.fake_znet import FakeZnetServer
    from tests.testapp.models import ProductOrder

    stack.reset()
    with FakeZnetServer(seed="detect", time_scale=scale) as fake:
        settings.ORDER_MONITOR_PROVIDERS = providers(fake.url)
        consumer = stack.Consumer(stack.consumer_env(BENCH_FAKE_URL=fake.url), "detection-consumer", workers, tick=1 / scale)
        time.sleep(3)
        sweep_every = float(settings.ORDER_MONITOR_SWEEP_INTERVAL)
        next_sweep = time.monotonic() + sweep_every
        started = time.monotonic()
        gap = window / scale / per_policy
        for number in range(per_policy):
            for name in POLICIES:
                referans = f"{name[0]}{number:07d}"
                fake.add_order(referans)
                ProductOrder.objects.create(external_status="sent", provider_referans=referans, provider_id=name, sent_at=dt.datetime.now(dt.timezone.utc))
            time.sleep(max(0.0, started + gap * (number + 1) - time.monotonic()))
        end = time.monotonic() + horizon / scale
        while time.monotonic() < end:
            if time.monotonic() >= next_sweep:
                sweep.run_sweep()
                next_sweep += sweep_every
            time.sleep(0.2)
        code = consumer.stop()
        stats = fake.stats()
    orders = {o.provider_referans: o for o in ProductOrder.objects.all()}
    ledger = {m.reference: m for m in MonitoredOrder.objects.all()}
    rows = {}
    for name in POLICIES:
        delays, calls, wrong, missed, never_calls = [], [], 0, 0, []
        for referans, plan in stats["orders"].items():
            if not referans.startswith(name[0]):
                continue
            order, entry = orders[referans], ledger.get(referans)
            calls.append(stats["calls_per_referans"].get(referans, 0))
            outcome = plan["outcome"]
            if outcome == "never":
                never_calls.append(calls[-1])
                wrong += entry is None or entry.state != "watching"
                continue
            if entry is None or entry.state == "watching":
                missed += 1
                continue
            wrong += entry.state != outcome or (outcome == "completed" and order.pin_code != plan["pin"])
            delays.append((order.completed_at.timestamp() - plan["terminal_at"]) * scale)
        delays.sort()
        from benchmarks.simulate import percentile

        rows[name] = {
            "orders": len(calls),
            "p50": percentile(delays, 50),
            "p90": percentile(delays, 90),
            "p99": percentile(delays, 99),
            "calls_per_order": sum(calls) / max(1, len(calls)),
            "calls_per_never_order": sum(never_calls) / max(1, len(never_calls)),
            "undetected": missed,
            "wrong_state": wrong,
        }
    return {"scale": scale, "per_policy": per_policy, "window": window, "horizon": horizon, "consumer_exit": code, "policies": rows}


def simulation(orders: int, *, horizon: float | None = None, rate: float = 2.0) -> list[dict]:
    import django

    django.setup()
    from benchmarks.simulate import compare

    return compare(orders, rate=rate, horizon=horizon)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        scale, per_policy, window, horizon, sim_orders = 16.0, 60, 60.0, 1900.0, 3000
    else:
        scale, per_policy, window, horizon, sim_orders = 8.0, 150, 120.0, 2100.0, 10_000
    started = time.monotonic()
    real = real_stack(scale, per_policy, window, horizon)
    real_seconds = time.monotonic() - started
    started = time.monotonic()
    full = simulation(sim_orders)
    same = simulation(per_policy, horizon=horizon, rate=per_policy / window)
    sim_seconds = time.monotonic() - started

    headers = ["policy", "p50 s", "p90 s", "p99 s", "calls/order", "calls/never-order", "wrong"]
    text = [
        stack.table(
            f"Detection delay, simulation: {sim_orders:,} orders, 2 orders/s, whole 24 h deadline, Huey tick 1 s ({sim_seconds:.1f} s to run all)",
            [*headers, "calls/finishing order", "batched calls/order"],
            [[r["policy"], r["p50"], r["p90"], r["p99"], r["calls_per_order"], r["calls_per_never_order"], r["wrong_state"], r["calls_per_finishing_order"], r["batched_calls_per_order"]] for r in full],
        ),
        "",
        stack.table(
            f"Detection delay, real stack (run at time_scale {scale:g}: {per_policy} orders per policy over {window:g} s, "
            f"followed {horizon:g} s; {real_seconds:.0f} s wall; consumer exit {real['consumer_exit']})",
            [*headers, "undetected"],
            [[n, r["p50"], r["p90"], r["p99"], r["calls_per_order"], r["calls_per_never_order"], r["wrong_state"], r["undetected"]] for n, r in real["policies"].items()],
        ),
        "",
        stack.table(
            f"Simulation of that same run ({per_policy} orders per policy, {horizon:g} s horizon): compare with the real stack",
            headers,
            [[r["policy"], r["p50"], r["p90"], r["p99"], r["calls_per_order"], r["calls_per_never_order"], r["wrong_state"]] for r in same[:3]],
        ),
    ]
    stack.save("detection", {"real": real, "simulation": full, "simulation_same_run": same}, "\n".join(text))


if __name__ == "__main__":
    main()
