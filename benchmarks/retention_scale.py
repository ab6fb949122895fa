#!/usr/bin/env python
"""Retention on PostgreSQL with ~2 million history rows: how fast a prune goes, and what it costs the hot path.

    python benchmarks/retention_scale.py [--db om_retention_bench] [--orders 300000] [--checks 6]

Rows are generated with ``generate_series``: orders dispatched evenly over 60 days (the
reference mix of outcomes; those of the last day still followed), ``--checks`` history
rows each. With ORDER_MONITOR_RETENTION = 30 days, about half of both goes. The script
times, each on freshly generated rows:

1. one periodic run (what the sweep does: ``retention.prune`` within its 10 s budget,
   resting between batches), with the hot path probed (see 3);
2. ``order_monitor_prune --dry-run`` (the counts);
3. ``order_monitor_prune`` to the end, with the time of each batch, while a thread plays
   the hot path (claim a followed order, insert its history row, release it: the check's
   own statements) and records its latency, against the same probe with nothing else
   running;
4. a metrics scrape (the database gauges) on the ledger left.

The scratch database is created when missing (``benchmarks.stack.setup``, the PG*
environment); no other database is touched, and Redis is not used.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAYS = 60
RETENTION_DAYS = 30

LEDGER_SQL = """
INSERT INTO order_monitor_monitoredorder (
    order_id, provider, reference, product, state, stop_reason, answered_checks, consecutive_failed_checks, failed_checks,
    dispatched_at, deadline_at, next_check_at, next_check_by, lease_until, lease_token,
    last_checked_at, last_outcome, last_provider_status, last_message, last_error,
    provider_completed_at, finished_at, created_at, updated_at)
SELECT md5(i::text)::uuid, 'znet', 'ZN' || i, '',
       CASE WHEN sent > now() - interval '1 day' THEN 'watching' ELSE final END,
       '', 5, 0, 0, sent, sent + interval '24 hours',
       CASE WHEN sent > now() - interval '1 day' THEN now() + (i % 600) * interval '1 second' END,
       'task', NULL, '', sent + interval '60 seconds', 'processing', '1', '', '',
       CASE WHEN sent <= now() - interval '1 day' THEN sent + took END,
       CASE WHEN sent <= now() - interval '1 day' THEN sent + took END,
       sent, sent
FROM (
    SELECT i, now() - i * (interval '{days} days' / {orders}) AS sent,
           CASE WHEN (i * 7919) % 100 < 90 THEN 'completed' WHEN (i * 7919) % 100 < 97 THEN 'failed'
                ELSE 'timed_out' END AS final,
           (5 + i % 1800) * interval '1 second' AS took
    FROM generate_series(1::bigint, {orders}) AS i
) AS orders
ORDER BY sent  -- ids grow with time, as in a real ledger
"""

CHECKS_SQL = """
INSERT INTO order_monitor_statuscheck (monitored_order_id, checked_at, latency_ms, result, provider_status,
                                       message, source, worker)
SELECT mo.id, mo.dispatched_at + k * interval '40 seconds', 80 + (mo.id * k) % 900,
       CASE WHEN (mo.id + k) % 40 = 0 THEN 'transport_error' ELSE 'processing' END, '1', 'İşlem sürüyor', 'poll',
       'bench-host:4242:140000000000'
FROM order_monitor_monitoredorder AS mo, generate_series(1, {checks}) AS k
ORDER BY mo.dispatched_at, k
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class HotPath(threading.Thread):
    """Plays the check's statements on followed orders, as fast as it can, and records each latency."""

    def __init__(self, ids: list[int]) -> None:
        super().__init__(daemon=True)
        self.ids = ids
        self.latencies: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        from django.db import connection

        from django_order_monitor.engine import leases
        from django_order_monitor.models import StatusCheck

        rng = random.Random(13)
        try:
            while not self.stopping.is_set():
                pk = rng.choice(self.ids)
                started = time.perf_counter()
                entry = leases.claim(pk, force=True)
                if entry is not None:
                    StatusCheck.objects.create(monitored_order=entry, result="processing", provider_status="1", source="poll")
                    leases.release(pk, entry.lease_token)
                self.latencies.append(time.perf_counter() - started)
                time.sleep(0.005)
        finally:
            connection.close()

    def summary(self) -> str:
        ms = [value * 1000 for value in self.latencies]
        return (f"{len(ms)} checks, p50 {statistics.median(ms):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
                f"max {max(ms):.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="om_retention_bench", help="scratch database (created when missing)")
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--checks", type=int, default=6, help="history rows per order")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from benchmarks import stack

    stack.setup(args.db, fresh=False)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from django_order_monitor import metrics
    from django_order_monitor.engine import retention
    from django_order_monitor.models import MonitoredOrder

    settings.ORDER_MONITOR_RETENTION = RETENTION_DAYS * 24 * 3600

    def generate() -> None:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE order_monitor_statuscheck, order_monitor_monitoredorder RESTART IDENTITY")
            cursor.execute(LEDGER_SQL.format(days=DAYS, orders=int(args.orders)))
            cursor.execute(CHECKS_SQL.format(checks=int(args.checks)))
            cursor.execute("VACUUM ANALYZE order_monitor_monitoredorder")
            cursor.execute("VACUUM ANALYZE order_monitor_statuscheck")
        print(f"generated in {time.perf_counter() - started:.0f} s: {sizes()}", flush=True)

    def sizes() -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM order_monitor_monitoredorder), (SELECT count(*) FROM order_monitor_statuscheck),"
                " pg_total_relation_size('order_monitor_monitoredorder'), pg_total_relation_size('order_monitor_statuscheck')"
            )
            ledger, history, ledger_bytes, history_bytes = cursor.fetchone()
        return (f"{ledger:,} ledger rows ({ledger_bytes / 2**20:.0f} MiB with indexes), "
                f"{history:,} history rows ({history_bytes / 2**20:.0f} MiB)")

    print(f"PostgreSQL {connection.pg_version // 10000}; {args.orders:,} orders over {DAYS} days, {args.checks} checks each;"
          f" RETENTION {RETENTION_DAYS} days, batches of {retention.BATCH_SIZE:,}")

    # 1. One periodic run, within its budget and resting between batches, as the sweep does.
    generate()
    watching = list(MonitoredOrder.objects.filter(state="watching").values_list("pk", flat=True)[:5000])
    connection.close()  # the probe's thread and this one each open their own
    periodic_probe = HotPath(watching)
    periodic_probe.start()
    started = time.perf_counter()
    report = retention.prune(time_budget=retention.TIME_BUDGET, rest_ratio=retention.REST_RATIO)
    took = time.perf_counter() - started
    periodic_probe.stopping.set()
    periodic_probe.join()
    print(f"\n1. one periodic run (budget {retention.TIME_BUDGET:g} s, rest ratio {retention.REST_RATIO:g}): "
          f"{report.history:,} history rows and {report.ledger:,} ended orders in {took:.1f} s, {report.batches} batches, "
          f"finished: {report.finished}")
    print(f"   hot path during the run: {periodic_probe.summary()}")

    # 2 and 3. The command, on fresh rows, with the hot path probed.
    generate()
    started = time.perf_counter()
    out = StringIO()
    call_command("order_monitor_prune", "--dry-run", stdout=out)
    print(f"\n2. order_monitor_prune --dry-run: {time.perf_counter() - started:.1f} s: {out.getvalue().strip()}")

    watching = list(MonitoredOrder.objects.filter(state="watching").values_list("pk", flat=True)[:5000])
    connection.close()
    idle = HotPath(watching)
    idle.start()
    time.sleep(10)
    idle.stopping.set()
    idle.join()

    batches: dict[str, list[float]] = {"ledger": [], "history": []}
    last = [time.perf_counter()]

    def on_batch(kind: str, rows: int) -> None:
        now = time.perf_counter()
        batches[kind].append(now - last[0])
        last[0] = now

    probe = HotPath(watching)
    probe.start()
    started = time.perf_counter()
    last[0] = started
    report = retention.prune(on_batch=on_batch)
    took = time.perf_counter() - started
    probe.stopping.set()
    probe.join()
    rows = report.history + report.ledger
    print(f"\n3. order_monitor_prune to the end: {report.history:,} history rows and {report.ledger:,} ended orders "
          f"in {took:.1f} s ({rows / took:,.0f} rows/s), {report.batches} batches")
    for kind, times in batches.items():
        if times:
            ms = [value * 1000 for value in times]
            print(f"   {kind} batches: {len(ms)}, median {statistics.median(ms):.0f} ms, p99 {percentile(ms, 99):.0f} ms, "
                  f"max {max(ms):.0f} ms")
    print(f"   hot path, nothing else running: {idle.summary()}")
    print(f"   hot path, during the prune:     {probe.summary()}")
    print(f"   left: {sizes()} (the space is reused after autovacuum; VACUUM FULL gives it back)")

    # 4. A metrics scrape on what is left.
    settings.ORDER_MONITOR_METRICS = {}
    if metrics.available():
        metrics.exposition()
        times = []
        for _ in range(5):
            started = time.perf_counter()
            metrics.exposition()
            times.append(time.perf_counter() - started)
        followed = MonitoredOrder.objects.filter(state="watching").count()
        print(f"\n4. metrics scrape with {followed:,} followed orders: median {statistics.median(times) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
