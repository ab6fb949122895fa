"""The sweep at scale: 1,000,000 legacy orders, 10,000 followed, 1,000 due (PostgreSQL).

The database ``om_bench_scale`` is built once (about a minute) and reused by later
runs. Measures ``sweep.run_sweep`` (median of repeated runs; the due rows are put
back between runs), its query count, and the EXPLAIN ANALYZE plans of its two
SELECTs. Also shows what discovery (orders dispatched but not followed) costs.
"""

from __future__ import annotations

import argparse
import time

from benchmarks import stack

BUILD = """
INSERT INTO product_orders (id, status, "externalStatus", "providerId", provider_referans, "pinCode", "sentAt", "completedAt", "createdAt", "tenantId")
SELECT gen_random_uuid(),
       CASE WHEN g > %(old)s THEN 'pending' WHEN g %% 50 = 0 THEN 'rejected' ELSE 'approved' END,
       CASE WHEN g > %(old)s THEN 'sent' WHEN g %% 50 = 0 THEN 'failed' ELSE 'done' END,
       'znet', 'R' || g,
       CASE WHEN g > %(old)s OR g %% 50 = 0 THEN NULL ELSE 'XXXX-XXXX-XXXX-XXXX' END,
       CASE WHEN g > %(old)s THEN now() - make_interval(secs => (%(total)s - g) * 7)
            ELSE now() - interval '1 day' - make_interval(mins => %(old)s - g) END,
       CASE WHEN g > %(old)s THEN NULL ELSE now() - interval '1 day' - make_interval(mins => %(old)s - g) END,
       now() - interval '1 day' - make_interval(mins => %(total)s - g),
       NULL
FROM generate_series(1, %(total)s) AS g
"""

LEDGER = """
INSERT INTO order_monitor_monitoredorder
  (order_id, provider, reference, state, stop_reason, answered_checks, consecutive_failed_checks, failed_checks, dispatched_at, deadline_at,
   next_check_at, next_check_by, lease_until, lease_token, last_checked_at, last_outcome, last_provider_status,
   last_message, last_error, provider_completed_at, finished_at, created_at, updated_at)
SELECT id, 'znet', provider_referans,
       CASE WHEN "externalStatus" = 'sent' THEN 'watching' WHEN "externalStatus" = 'failed' THEN 'failed' ELSE 'completed' END,
       '', 3, 0, 0, "sentAt", "sentAt" + interval '1 day',
       CASE WHEN "externalStatus" <> 'sent' THEN NULL
            WHEN row_number() OVER (PARTITION BY "externalStatus" ORDER BY "sentAt") <= %(due)s THEN now() - interval '1 minute'
            ELSE now() + make_interval(secs => (random() * 600)::int) END,
       CASE WHEN "externalStatus" = 'sent' AND row_number() OVER (PARTITION BY "externalStatus" ORDER BY "sentAt") <= %(due)s
            THEN 'sweep' ELSE 'task' END,
       NULL, '', NULL, '', '', '', '', NULL,
       CASE WHEN "externalStatus" = 'sent' THEN NULL ELSE "completedAt" END, "sentAt", "sentAt"
FROM product_orders
WHERE "sentAt" >= now() - interval '1 day' - make_interval(mins => %(history)s)
"""


def build(total: int, followed: int, due: int, history: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE order_monitor_statuscheck, order_monitor_monitoredorder, product_orders")
        cursor.execute(BUILD, {"total": total, "old": total - followed})
        cursor.execute(LEDGER, {"due": due, "history": history})
        cursor.execute("VACUUM ANALYZE product_orders")
        cursor.execute("VACUUM ANALYZE order_monitor_monitoredorder")


def shape() -> tuple[int, int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM product_orders), (SELECT count(*) FROM order_monitor_monitoredorder WHERE state = 'watching'),"
                       " (SELECT count(*) FROM order_monitor_monitoredorder WHERE state = 'watching' AND next_check_by = 'sweep' AND next_check_at <= now())")
        return cursor.fetchone()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    total, followed, due, history = (200_000, 10_000, 1_000, 50_000) if args.quick else (1_000_000, 10_000, 1_000, 200_000)
    db = "om_bench_scale_quick" if args.quick else "om_bench_scale"
    stack.setup(db, fresh=False, BENCH_HUEY_NAME="om-bench-scale")
    from django.db import connection
    from django.db.models import Q
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from huey.contrib.djhuey import HUEY

    from django_order_monitor.engine import sweep
    from django_order_monitor.models import MonitoredOrder
    from tests.testapp.models import ProductOrder

    started = time.monotonic()
    if shape() != (total, followed, due):
        build(total, followed, due, history)
    built = time.monotonic() - started
    due_ids = list(MonitoredOrder.objects.filter(state="watching", next_check_by="sweep").values_list("pk", flat=True))

    def restore():
        MonitoredOrder.objects.filter(pk__in=due_ids).update(next_check_by="sweep", next_check_at=timezone.now() - timezone.timedelta(minutes=1))
        HUEY.flush()

    rows, data = [], {}
    for limit in (100, 1000):
        times, queries = [], []
        for _ in range(3 if args.quick else 5):
            restore()
            with CaptureQueriesContext(connection) as captured:
                clock = time.perf_counter()
                report = sweep.run_sweep(limit=limit)
                times.append(time.perf_counter() - clock)
            queries.append(len(captured))
        data[f"limit {limit}"] = {"seconds": stack.median(times), "queries": queries, "enqueued": len(report.enqueued)}
        rows.append([f"run_sweep(limit={limit}), {due} due", len(report.enqueued), stack.median(times) * 1000, queries[-1]])
    restore()

    # Discovery: orders dispatched (recently) but not followed.
    unwatched = ProductOrder.objects.filter(external_status="sent").order_by("-sent_at")[:100]
    pks = [o.pk for o in unwatched]
    MonitoredOrder.objects.filter(order_id__in=pks).delete()
    MonitoredOrder.objects.filter(pk__in=due_ids).update(next_check_by="task", next_check_at=timezone.now() + timezone.timedelta(hours=1))
    with CaptureQueriesContext(connection) as captured:
        clock = time.perf_counter()
        report = sweep.run_sweep(limit=100)
        seconds = time.perf_counter() - clock
    rows.append(["run_sweep(limit=100), 100 undiscovered, 0 due", len(report.discovered), seconds * 1000, len(captured)])
    data["discovery"] = {"seconds": seconds, "queries": len(captured), "discovered": len(report.discovered)}
    restore()

    now = timezone.now()
    plans = {
        "unwatched_dispatched_orders": sweep.unwatched_dispatched_orders(now)[:1000].explain(analyze=True),
        "due_for_sweep": sweep.due_for_sweep(now)[:1000].explain(analyze=True),
        "adaptive history (one provider)": MonitoredOrder.objects.filter(
            Q(provider="znet"), state__in=("completed", "failed", "timed_out"), finished_at__gte=now - timezone.timedelta(days=7)
        ).order_by("-finished_at").values_list("state", "dispatched_at", "finished_at")[:5000].explain(analyze=True),
    }
    data["plans"] = plans
    text = stack.table(
        f"Sweep at scale: {total:,} orders in product_orders, {followed:,} followed, {due:,} due (median of runs; build {built:.0f} s)",
        ["run", "orders handled", "ms", "queries"], rows,
    )
    text += "\n" + "\n".join(f"\nEXPLAIN ANALYZE {name}:\n{plan}" for name, plan in plans.items())
    stack.save("sweep_scale", data, text)
    HUEY.flush()


if __name__ == "__main__":
    main()
