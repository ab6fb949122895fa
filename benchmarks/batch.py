"""Batch status: HTTP calls saved by answering many orders per call (check_batch + BatchJsonProvider).

Real: ``orders`` followed orders of the reference mix on the fake batch server
(100 ms per call), checked in two rounds with ``grouping.check_batch`` (everything
due each round, the adapter's batch size 50) against the same rounds checked one
by one with ``pipeline.check_order``. The simulation's "batched calls/order"
column (detection section) gives the saving under the adaptive schedule.
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
    orders = 100 if args.quick else 300
    stack.setup(BENCH_HUEY_NAME="om-bench-batch", BENCH_EXTRA='{"BACKOFF_BASE": 3600, "FIRST_CHECK_DELAY": 3600, "BACKOFF_JITTER": 0}')
    from django.conf import settings
    from django.utils import timezone

    from benchmarks.settings import providers
    from django_order_monitor.engine import grouping, pipeline
    from django_order_monitor.models import MonitoredOrder, StatusCheck
    from django_order_monitor.providers import close_all
    from django_order_monitor.testing.fake_batchjson import FakeBatchJsonServer
    from tests.testapp.models import ProductOrder

    rows = []
    for mode in ("one call per order", "check_batch (50 per call)"):
        stack.reset()
        with FakeBatchJsonServer(seed="batch", api_token="bench-token", latency=0.1) as fake:
            settings.ORDER_MONITOR_PROVIDERS = providers("http://127.0.0.1:9/", fake.url)
            close_all()  # a plain assignment sends no setting_changed: drop adapters of the last server
            now = dt.datetime.now(dt.timezone.utc)
            created = ProductOrder.objects.bulk_create(
                [ProductOrder(external_status="sent", provider_referans=str(10_000 + n), provider_id="batch", sent_at=now) for n in range(orders)]
            )
            for order in created:
                fake.add_order(order.provider_referans, outcome="never")
            ids = [e.pk for e in MonitoredOrder.objects.bulk_create([
                MonitoredOrder(order_id=o.pk, provider="batch", referans=o.provider_referans, dispatched_at=now,
                               deadline_at=now + dt.timedelta(days=1), next_check_at=now, next_check_by="sweep") for o in created])]
            clock = time.perf_counter()
            for _ in range(2):  # two rounds: everything due each time
                MonitoredOrder.objects.update(next_check_at=timezone.now(), next_check_by="sweep")
                if mode.startswith("check_batch"):
                    grouping.check_batch(ids)
                else:
                    for pk in ids:
                        pipeline.check_order(pk)
            seconds = time.perf_counter() - clock
            checks = StatusCheck.objects.count()
            rows.append([mode, checks, fake.http_calls, fake.http_calls / checks, checks / seconds])
    text = stack.table(
        f"Batch status: {orders} orders x 2 rounds, fake batch provider at 100 ms per call, one process, one thread",
        ["mode", "order checks", "HTTP calls", "calls per check", "checks/s"], rows, digits=2,
    )
    stack.save("batch", {"rows": rows}, text)


if __name__ == "__main__":
    main()
