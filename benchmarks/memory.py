"""Memory: one consumer following many orders through a long compressed run; RSS sampled over time.

The consumer (8 thread workers, adaptive policy, time compressed 60x) follows
``orders`` orders of the reference mix; the driver runs the sweep. RSS is read
from /proc every 2 s; the table gives start (after 10 s), peak and end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from benchmarks import stack


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    orders, seconds, scale = (2_000, 60, 60.0) if args.quick else (10_000, 240, 60.0)
    stack.setup(BENCH_TIME_SCALE=str(scale), BENCH_POLICY="django_order_monitor.adaptive.AdaptivePolicy", BENCH_HUEY_NAME="om-bench-memory")
    from django.conf import settings

    from benchmarks.settings import providers
    from django_order_monitor import policy, scheduling, sweep
    from django_order_monitor.fake_znet import FakeZnetServer
    from django_order_monitor.models import MonitoredOrder, StatusCheck
    from tests.testapp.models import ProductOrder

    stack.reset()
    with FakeZnetServer(seed="memory", time_scale=scale, max_orders=orders + 10) as fake:
        settings.ORDER_MONITOR_PROVIDERS = providers(fake.url)
        consumer = stack.Consumer(stack.consumer_env(BENCH_FAKE_URL=fake.url), "memory-consumer", 8, tick=1 / scale)
        now = dt.datetime.now(dt.timezone.utc)
        rows = ProductOrder.objects.bulk_create(
            [ProductOrder(external_status="sent", provider_referans=f"M{n:07d}", provider_id="adaptive", sent_at=now) for n in range(orders)]
        )
        rule = policy.get_policy()
        entries = []
        for row in rows:
            fake.add_order(row.provider_referans)
            first = rule.first_check(now, now, "adaptive")
            entries.append(MonitoredOrder(order_id=row.pk, provider="adaptive", referans=row.provider_referans, dispatched_at=now,
                                          deadline_at=policy.deadline(now), next_check_at=first, next_check_by="task"))
        for entry in MonitoredOrder.objects.bulk_create(entries):
            scheduling.enqueue_check(entry.pk, entry.next_check_at)
        samples = []
        started = time.monotonic()
        next_sweep = started + float(settings.ORDER_MONITOR_SWEEP_INTERVAL)
        while time.monotonic() - started < seconds:
            samples.append((time.monotonic() - started, consumer.rss_mb(), StatusCheck.objects.count()))
            if time.monotonic() >= next_sweep:
                sweep.run_sweep()
                next_sweep += float(settings.ORDER_MONITOR_SWEEP_INTERVAL)
            time.sleep(2)
        code = consumer.stop()
    start = next(s for s in samples if s[0] >= 10)
    peak = max(samples, key=lambda s: s[1])
    end = samples[-1]
    quarter = [samples[len(samples) * k // 4] for k in (1, 2, 3)]
    rows_out = [[f"t = {s[0]:.0f} s", s[1], s[2]] for s in (start, *quarter, end)]
    rows_out.append(["peak", peak[1], peak[2]])
    text = stack.table(
        f"Memory: one consumer following {orders:,} orders for {seconds} s at time_scale {scale:g} "
        f"(= {seconds * scale / 3600:.1f} provider hours), consumer exit {code}",
        ["sample", "RSS MB", "checks done"], rows_out,
    )
    stack.save("memory", {"samples": samples, "orders": orders, "scale": scale}, text)


if __name__ == "__main__":
    main()
