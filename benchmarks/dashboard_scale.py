#!/usr/bin/env python
"""How fast the operators' figures are with a big ledger: PostgreSQL, ~1,000,000 monitored orders.

    createdb -h 127.0.0.1 -U postgres om_dash_bench        # a scratch database
    python benchmarks/dashboard_scale.py [--db om_dash_bench] [--rows 1000000] [--regenerate]

Rows are generated with ``generate_series`` (orders dispatched evenly over 60 days, the
reference mix of outcomes, 3 checks per order plus 7 more for the last two days'), then the
script times ``stats.snapshot()``, the dashboard page, the ledger list (plain and filtered)
and ``order_monitor_status``, and prints each page's queries with their times. It reads the
same PG* environment as tests/settings_services.py and never touches another database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LEDGER_SQL = """
INSERT INTO order_monitor_monitoredorder (
    order_id, provider, reference, state, stop_reason, answered_checks, consecutive_failed_checks, failed_checks,
    dispatched_at, deadline_at, next_check_at, next_check_by, lease_until, lease_token,
    last_checked_at, last_outcome, last_provider_status, last_message, last_error,
    provider_completed_at, finished_at, created_at, updated_at)
SELECT md5(i::text)::uuid,
       CASE WHEN i % 10 = 0 THEN 'other' ELSE 'znet' END,
       'ZN' || i,
       CASE WHEN done_at <= now() THEN final ELSE 'watching' END,
       '', 5, CASE WHEN i % 997 = 0 THEN 4 ELSE 0 END, 0,
       sent, sent + interval '24 hours',
       CASE WHEN done_at <= now() THEN NULL
            WHEN i % 211 = 0 THEN now() - interval '20 minutes'
            ELSE now() + (i % 600) * interval '1 second' END,
       CASE WHEN r >= 97 AND sent < now() - interval '2 hours' THEN 'sweep' ELSE 'task' END,
       NULL, '', sent + interval '60 seconds', 'processing', '1', '', '',
       CASE WHEN done_at <= now() THEN done_at END,
       CASE WHEN done_at <= now() THEN done_at END,
       sent, sent
FROM (
    SELECT i, r, sent,
           CASE WHEN r < 97 THEN sent + took ELSE sent + interval '24 hours 1 minute' END AS done_at,
           CASE WHEN r < 90 THEN 'completed' WHEN r < 97 THEN 'failed' ELSE 'timed_out' END AS final
    FROM (
        SELECT i, (i * 7919) % 100 AS r,
               now() - i * (interval '60 days' / %(rows)s) AS sent,
               CASE WHEN (i * 7919) % 100 < 70 THEN (5 + i % 26) * interval '1 second'
                    WHEN (i * 7919) % 100 < 90 THEN (120 + i % 1680) * interval '1 second'
                    ELSE (10 + i % 111) * interval '1 second' END AS took
        FROM generate_series(1::bigint, %(rows)s) AS i
    ) AS base
) AS orders
ORDER BY sent  -- ids grow with time, as in a real ledger
"""

CHECKS_SQL = """
INSERT INTO order_monitor_statuscheck (monitored_order_id, checked_at, latency_ms, result, provider_status,
                                       message, source, worker)
SELECT mo.id, mo.dispatched_at + k * interval '40 seconds', 80 + (mo.id * k) %% 900,
       CASE WHEN (mo.id + k) %% 40 = 0 THEN 'transport_error' ELSE 'processing' END, '1', '', 'poll', ''
FROM order_monitor_monitoredorder AS mo, generate_series(1, %(per_order)s) AS k
WHERE mo.dispatched_at >= %(since)s
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="om_dash_bench", help="scratch database (created beforehand with createdb)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--regenerate", action="store_true", help="drop the generated rows and make them again")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each page (the median is shown)")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ["ORDER_MONITOR_TEST_DB_NAME"] = args.db
    os.environ.setdefault("ORDER_MONITOR_TEST_HUEY_NAME", "om-dashboard-bench")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings_services"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from django_order_monitor.engine import stats
    from django_order_monitor.models import MonitoredOrder

    if settings.DATABASES["default"]["NAME"] != args.db:
        raise SystemExit("refusing to run: the settings did not pick the scratch database")
    setup_test_environment()
    call_command("migrate", verbosity=0)

    existing = MonitoredOrder.objects.count()
    if args.regenerate or existing != args.rows:
        print(f"generating {args.rows:,} ledger rows and their checks ...", flush=True)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE order_monitor_statuscheck, order_monitor_monitoredorder RESTART IDENTITY")
            cursor.execute(LEDGER_SQL.replace("%(rows)s", str(int(args.rows))))
            cursor.execute("SELECT now() - interval '60 days', now() - interval '2 days'")
            all_time, recent = cursor.fetchone()
            cursor.execute(CHECKS_SQL, {"per_order": 3, "since": all_time})
            cursor.execute(CHECKS_SQL.replace("k * interval '40 seconds'", "(3 + k) * interval '40 seconds'"),
                           {"per_order": 7, "since": recent})
            cursor.execute("VACUUM ANALYZE order_monitor_monitoredorder")
            cursor.execute("VACUUM ANALYZE order_monitor_statuscheck")
        print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM order_monitor_statuscheck")
        check_rows = cursor.fetchone()[0]
    print(f"ledger rows: {MonitoredOrder.objects.count():,}; check rows: {check_rows:,}; "
          f"PostgreSQL {connection.pg_version // 10000}")

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser("bench", "", None)
    client = Client()
    client.force_login(user)

    def measure(label, run):
        run()  # warm the caches once, as a page an operator reloads
        times, counts, slowest = [], [], []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                run()
                times.append(time.perf_counter() - started)
            counts.append(len(queries.captured_queries))
            slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))
        print(f"\n{label}: median {statistics.median(times) * 1000:.0f} ms "
              f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}) over {args.repeat} runs, {counts[-1]} queries")
        for query in slowest[:6]:
            print(f"  {float(query['time']) * 1000:7.1f} ms  {' '.join(query['sql'].split())[:150]}")

    def page(url):
        def get():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        return get

    measure("stats.snapshot()", stats.snapshot)
    measure("dashboard page", page("/admin/order_monitor/monitoredorder/dashboard/"))
    measure("ledger list", page("/admin/order_monitor/monitoredorder/"))
    measure("ledger list, overdue filter", page("/admin/order_monitor/monitoredorder/?overdue=yes"))
    measure("ledger list, stuck filter", page("/admin/order_monitor/monitoredorder/?stuck=any"))
    measure("ledger search by reference", page("/admin/order_monitor/monitoredorder/?q=ZN424242"))
    measure("order_monitor_status", lambda: call_command("order_monitor_status", stdout=StringIO()))
    out = StringIO()
    call_command("order_monitor_status", stdout=out)
    print("\n" + out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
