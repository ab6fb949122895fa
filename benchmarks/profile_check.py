"""Where one check's CPU goes: the check task run in this process, profiled.

The fake znet runs in its own process (so its CPU is not counted); PostgreSQL,
Redis and the real adapter are used as in production. Prints the process CPU
per check, the SQL statements per check and the top functions by own time;
with ``--memory``, what the Python heap grew by while the checks ran instead
(``tracemalloc``, by line).

    python -m benchmarks.profile_check [--checks 2000] [--top 30] [--memory]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import subprocess
import time
import tracemalloc

from benchmarks import stack


def _start_fake() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [stack.PYTHON, "-m", "django_order_monitor.testing.fake_znet", "--port", "0", "--seed", "profile", "--auto-register", "--mix", "never=1"],
        stdout=subprocess.PIPE, text=True, cwd=stack.ROOT,
    )
    line = process.stdout.readline()
    return process, line.split(" listening on ", 1)[1].split(" ", 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--callers", default="", help="also print who calls functions matching this")
    parser.add_argument("--memory", action="store_true", help="trace the heap's growth instead of profiling")
    args = parser.parse_args()
    fake, url = _start_fake()
    try:
        extra = '{"BACKOFF_BASE": 3600, "FIRST_CHECK_DELAY": 3600, "BACKOFF_JITTER": 0}'
        stack.setup("om_bench_profile", BENCH_EXTRA=extra, BENCH_FAKE_URL=url, BENCH_HUEY_NAME="om-bench-profile")
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from django_order_monitor.models import MonitoredOrder, StatusCheck
        from django_order_monitor.tasks import check_order
        from tests.testapp.models import ProductOrder

        stack.reset()
        now = dt.datetime.now(dt.timezone.utc)
        count = args.checks + 50
        orders = ProductOrder.objects.bulk_create(
            [ProductOrder(external_status="sent", provider_referans=f"P{n:07d}", provider_id="znet", sent_at=now) for n in range(count)]
        )
        ids = [
            e.pk for e in MonitoredOrder.objects.bulk_create(
                [MonitoredOrder(order_id=o.pk, provider="znet", referans=o.provider_referans, dispatched_at=now,
                                deadline_at=now + dt.timedelta(days=1), next_check_at=now, next_check_by="task") for o in orders]
            )
        ]
        for pk in ids[:50]:  # warm up: connections, sessions, caches
            check_order.call_local(pk)
        with CaptureQueriesContext(connection) as queries:
            check_order.call_local(ids[50])
        if args.memory:
            _trace_growth(check_order, ids[51:], args.top)
            return
        half = (len(ids) - 51) // 2
        measured, profiled = ids[51:51 + half], ids[51 + half:]
        cpu, wall = time.process_time(), time.perf_counter()
        for pk in measured:
            check_order.call_local(pk)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        profile = cProfile.Profile(time.process_time)  # CPU time: waiting on sockets costs nothing here
        profile.enable()
        for pk in profiled:
            check_order.call_local(pk)
        profile.disable()
        done = StatusCheck.objects.count()
        print(f"{len(measured)} checks, then {len(profiled)} profiled ({done} recorded): "
              f"{cpu * 1000 / len(measured):.2f} ms CPU and {wall * 1000 / len(measured):.2f} ms wall per check; "
              f"{len(queries.captured_queries)} SQL statements per check:")
        for query in queries.captured_queries:
            print("   ", query["sql"][:160])
        cpu = time.process_time()
        for pk in measured:  # the same orders again: now not due, so this is the skip path
            check_order.call_local(pk)
        print(f"not-due skip: {(time.process_time() - cpu) * 1000 / len(measured):.2f} ms CPU per task")
        stats = pstats.Stats(profile)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        if args.callers:
            stats.print_callers(args.callers)
    finally:
        fake.terminate()
        fake.wait()


def _trace_growth(check_order, ids: list[int], top: int) -> None:
    """Check each order twice (the second round: the skip path), then show what stayed on the heap."""
    import gc

    half = len(ids) // 2
    for pk in ids[:half]:  # settle caches, pools and connections first
        check_order.call_local(pk)
    gc.collect()
    tracemalloc.start(5)
    before = tracemalloc.take_snapshot()
    for pk in ids[half:]:
        check_order.call_local(pk)
    for pk in ids:
        check_order.call_local(pk)
    gc.collect()
    after = tracemalloc.take_snapshot()
    stats = after.compare_to(before, "lineno")
    grown = sum(stat.size_diff for stat in stats)
    print(f"heap after {len(ids) - half} checks and {len(ids)} not-due tasks: {grown / 1024:+.1f} KB "
          f"({grown / (len(ids) - half + len(ids)):+.1f} bytes per task)")
    for stat in stats[:top]:
        print("   ", stat)


if __name__ == "__main__":
    main()
