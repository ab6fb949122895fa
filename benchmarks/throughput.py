"""Throughput of one consumer (run_huey, thread workers) and its CPU per check, beside no-op tasks.

Orders are due now and the fake answers "waiting" after ``latency`` ms; the
next check is an hour away, so each order costs exactly one check. Checks/s is
measured from the first to the last StatusCheck; CPU is the consumer process's
user+system time (/proc) over the batch, divided by the checks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time

from benchmarks import stack
from django_order_monitor.testing import wait_until


def _prepare(fake, count: int) -> list[int]:
    from django_order_monitor.models import MonitoredOrder
    from tests.testapp.models import ProductOrder

    stack.reset()
    now = dt.datetime.now(dt.timezone.utc)
    orders = ProductOrder.objects.bulk_create(
        [ProductOrder(external_status="sent", provider_referans=f"T{n:07d}", provider_id="znet", sent_at=now) for n in range(count)]
    )
    for order in orders:
        fake.add_order(order.provider_referans, outcome="never")
    entries = MonitoredOrder.objects.bulk_create(
        [
            MonitoredOrder(order_id=o.pk, provider="znet", referans=o.provider_referans, dispatched_at=now,
                           deadline_at=now + dt.timedelta(days=1), next_check_at=now, next_check_by="task")
            for o in orders
        ]
    )
    return [e.pk for e in entries]


def run_checks(consumer, fake, count: int) -> dict:
    from django.db.models import Max, Min

    from django_order_monitor.models import StatusCheck
    from django_order_monitor.tasks import check_order

    ids = _prepare(fake, count)
    cpu = consumer.cpu()
    for pk in ids:
        check_order(pk)
    wait_until(lambda: StatusCheck.objects.count() >= count, timeout=300, interval=0.1)
    time.sleep(0.2)
    cpu = consumer.cpu() - cpu
    if not StatusCheck.objects.exists():
        raise SystemExit(f"the consumer recorded no check; see {consumer.log_path}")
    span = StatusCheck.objects.aggregate(a=Min("checked_at"), b=Max("checked_at"))
    last = StatusCheck.objects.order_by("-checked_at").values_list("latency_ms", flat=True).first() or 0
    seconds = (span["b"] - span["a"]).total_seconds() + last / 1000
    done = StatusCheck.objects.count()
    return {"checks": done, "per_second": done / seconds, "cpu_ms_per_check": cpu * 1000 / done}


def run_noop(consumer, count: int, name: str) -> dict:
    from huey.contrib.djhuey import HUEY

    from benchmarks import tasks

    task = {"noop": tasks.noop, "db_noop": tasks.db_noop}[name]
    HUEY.flush()
    cpu = consumer.cpu()
    started = time.monotonic()
    for number in range(count):
        task(number)
    # The queue is empty when the last task was taken; give it a moment to run.
    wait_until(lambda: HUEY.pending_count() == 0, timeout=120, interval=0.05)
    seconds = time.monotonic() - started
    time.sleep(0.3)
    cpu = consumer.cpu() - cpu
    return {"checks": count, "per_second": count / seconds, "cpu_ms_per_check": cpu * 1000 / count}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 2 if args.quick else 3
    size = 0.4 if args.quick else 1.0
    extra = {"BACKOFF_BASE": 3600, "FIRST_CHECK_DELAY": 3600, "BACKOFF_JITTER": 0}
    stack.setup(BENCH_EXTRA=json.dumps(extra), BENCH_HUEY_NAME="om-bench-throughput")
    from django.conf import settings

    from benchmarks.settings import providers
    from django_order_monitor.testing.fake_znet import FakeZnetServer

    configs = [  # (label, workers, latency ms, checks, kind)
        ("checks, 100 ms provider", 1, 100, 40, "check"),
        ("checks, 100 ms provider", 8, 100, 400, "check"),
        ("checks, 100 ms provider", 32, 100, 2000, "check"),
        ("checks, 0 ms provider", 8, 0, 2000, "check"),
        ("checks, 0 ms provider", 1, 0, 1000, "check"),
        ("no-op task (queue ceiling)", 8, 0, 5000, "noop"),
        ("no-op db_task (+ connection handling)", 8, 0, 5000, "db_noop"),
    ]
    rows, data = [], []
    with FakeZnetServer(seed="throughput", max_connections=512) as fake:
        settings.ORDER_MONITOR_PROVIDERS = providers(fake.url)
        env = stack.consumer_env(BENCH_FAKE_URL=fake.url)
        for label, workers, latency, count, kind in configs:
            fake.set_latency(latency)
            count = max(20, int(count * size))
            consumer = stack.Consumer(env, f"throughput-w{workers}", workers)
            time.sleep(4)
            runs = [run_checks(consumer, fake, count) if kind == "check" else run_noop(consumer, count, kind) for _ in range(repeats)]
            code = consumer.stop()
            result = {
                "label": label, "workers": workers, "latency_ms": latency, "checks": count, "repeats": repeats,
                "per_second": stack.median([r["per_second"] for r in runs]),
                "cpu_ms_per_check": stack.median([r["cpu_ms_per_check"] for r in runs]),
                "exit": code,
            }
            data.append(result)
            rows.append([label, workers, count, result["per_second"], result["cpu_ms_per_check"]])
    text = stack.table(
        f"Throughput of one consumer (run_huey -k thread, PostgreSQL, Redis, fake znet; median of {repeats} runs)",
        ["what", "workers", "tasks", "per second", "CPU ms per task"], rows, digits=2,
    )
    stack.save("throughput", {"runs": data}, text)


if __name__ == "__main__":
    main()
