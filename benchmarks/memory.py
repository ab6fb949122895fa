"""Memory: one consumer following 10,000 orders through a long compressed run; RSS sampled over time.

The consumer (8 thread workers, adaptive policy, time compressed 60x) follows
orders of the reference mix: ``--orders`` at the start, then new orders at up
to ``--arrivals`` per second while fewer than that are followed, so the
consumer works at a steady load for the whole run; the driver runs the sweep. RSS is read from /proc every 2 s. Flat means:
after warm-up, the second half of the run adds (next to) nothing while the
consumer keeps checking.

    python -m benchmarks.memory [--quick] [--seconds 900] [--orders 10000] [--arrivals 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from benchmarks import stack


def _add_orders(fake, count: int, serial: int) -> int:
    """Dispatch ``count`` new orders the way the hook would (ledger row + first check); returns the next serial."""
    from django_order_monitor.engine import policy, scheduling
    from django_order_monitor.models import MonitoredOrder
    from tests.testapp.models import ProductOrder

    now = dt.datetime.now(dt.timezone.utc)
    rows = ProductOrder.objects.bulk_create(
        [ProductOrder(external_status="sent", provider_referans=f"M{n:08d}", provider_id="adaptive", sent_at=now)
         for n in range(serial, serial + count)]
    )
    rule = policy.get_policy()
    entries = []
    for row in rows:
        fake.add_order(row.provider_referans)
        entries.append(MonitoredOrder(order_id=row.pk, provider="adaptive", referans=row.provider_referans, dispatched_at=now,
                                      deadline_at=policy.deadline(now), next_check_at=rule.first_check(now, now, "adaptive"),
                                      next_check_by="task"))
    for entry in MonitoredOrder.objects.bulk_create(entries):
        scheduling.enqueue_check(entry.pk, entry.next_check_at)
    return serial + count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=int, default=None, help="length of the run (default 900, quick 90)")
    parser.add_argument("--orders", type=int, default=None, help="orders followed at any time (default 10000, quick 2000)")
    parser.add_argument("--arrivals", type=float, default=20.0, help="new orders per second at most (default 20)")
    args = parser.parse_args()
    scale = 60.0
    seconds = args.seconds or (90 if args.quick else 900)
    orders = args.orders or (2_000 if args.quick else 10_000)
    stack.setup(BENCH_TIME_SCALE=str(scale), BENCH_POLICY="django_order_monitor.engine.adaptive.AdaptivePolicy", BENCH_HUEY_NAME="om-bench-memory")
    from django.conf import settings

    from benchmarks.settings import providers
    from django_order_monitor.engine import sweep
    from django_order_monitor.models import MonitoredOrder, StatusCheck
    from django_order_monitor.testing.fake_znet import FakeZnetServer

    stack.reset()
    with FakeZnetServer(seed="memory", time_scale=scale, max_orders=orders * 40) as fake:
        settings.ORDER_MONITOR_PROVIDERS = providers(fake.url)
        consumer = stack.Consumer(stack.consumer_env(BENCH_FAKE_URL=fake.url), "memory-consumer", 8, tick=1 / scale)
        serial = _add_orders(fake, orders, 0)
        samples = []  # (seconds, RSS MB, checks done, orders followed, orders added so far)
        started = time.monotonic()
        next_sweep = started + float(settings.ORDER_MONITOR_SWEEP_INTERVAL)
        while time.monotonic() - started < seconds:
            followed = MonitoredOrder.objects.active().count()
            samples.append((time.monotonic() - started, consumer.rss_mb(), StatusCheck.objects.count(), followed, serial))
            if followed < orders:
                serial = _add_orders(fake, min(orders - followed, int(args.arrivals * 2)), serial)
            if time.monotonic() >= next_sweep:
                sweep.run_sweep()
                next_sweep += float(settings.ORDER_MONITOR_SWEEP_INTERVAL)
            time.sleep(2)
        code = consumer.stop()
    warm = next(s for s in samples if s[0] >= min(30, seconds / 4))
    half = samples[len(samples) // 2]
    end = samples[-1]
    peak = max(samples, key=lambda s: s[1])
    marks = [warm, *(samples[len(samples) * k // 4] for k in (1, 2, 3)), end]
    rows_out = [[f"t = {s[0]:.0f} s", s[1], s[2], s[3], s[4]] for s in marks]
    rows_out.append(["peak", peak[1], peak[2], peak[3], peak[4]])
    second_half_checks = end[2] - half[2]
    growth = end[1] - half[1]
    per_thousand = growth * 1024 / (second_half_checks / 1000) if second_half_checks else 0.0
    text = stack.table(
        f"Memory: one consumer, {orders:,} orders at the start and up to {args.arrivals:g} new a second, "
        f"for {seconds} s at time_scale {scale:g} "
        f"(= {seconds * scale / 3600:.1f} provider hours), consumer exit {code}",
        ["sample", "RSS MB", "checks done", "followed", "orders so far"], rows_out,
    )
    text += (
        f"\nSecond half of the run: RSS {half[1]:.1f} -> {end[1]:.1f} MB ({growth:+.1f} MB) over "
        f"{second_half_checks:,} checks = {per_thousand:+.1f} KB per 1,000 checks"
    )
    stack.save("memory", {"samples": samples, "orders": orders, "scale": scale, "seconds": seconds,
                          "second_half_growth_mb": growth, "second_half_checks": second_half_checks}, text)


if __name__ == "__main__":
    main()
