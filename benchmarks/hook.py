"""What the app adds to the shop's ``save()``: the post-save hook and the on-commit enqueue.

Each save is its own transaction (as in a view with ATOMIC_REQUESTS), so the
on-commit enqueue to Redis is inside the timing. "Without the app" disconnects
the hook, which is what not installing it would leave.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from benchmarks import stack


def timed_saves(count: int, dispatched: bool) -> list[float]:
    from django.db import transaction

    from tests.testapp.models import ProductOrder

    times = []
    for number in range(count):
        order = ProductOrder(
            external_status="sent" if dispatched else "not_sent",
            provider_referans=f"H{time.monotonic_ns()}{number}" if dispatched else None,
            provider_id="znet",
            sent_at=dt.datetime.now(dt.timezone.utc),
        )
        started = time.perf_counter()
        with transaction.atomic():
            order.save()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count, rounds = (200, 3) if args.quick else (500, 5)
    stack.setup(BENCH_HUEY_NAME="om-bench-hook")
    from django.db.models.signals import post_save

    from django_order_monitor.hook import order_saved
    from tests.testapp.models import ProductOrder

    stack.reset()
    timed_saves(50, True)  # warm up connections, caches and Redis
    results: dict[str, list[float]] = {}
    for _ in range(rounds):
        for installed in (False, True):
            if not installed:
                post_save.disconnect(order_saved, sender=ProductOrder, dispatch_uid="django_order_monitor.order_saved")
            for dispatched in (True, False):
                key = f"{'with' if installed else 'without'} app, {'dispatched' if dispatched else 'not dispatched'}"
                results.setdefault(key, []).extend(timed_saves(count, dispatched))
            if not installed:
                post_save.connect(order_saved, sender=ProductOrder, dispatch_uid="django_order_monitor.order_saved")
        stack.reset()
    medians = {key: stack.median(values) for key, values in results.items()}
    rows = []
    for case in ("dispatched", "not dispatched"):
        without, with_app = medians[f"without app, {case}"], medians[f"with app, {case}"]
        rows.append([f"save() of a {case} order", without, with_app, with_app - without])
    text = stack.table(
        f"Hook overhead: median ms per save() in its own transaction ({rounds} x {count} saves per case, PostgreSQL, Redis)",
        ["case", "without app", "with app", "added"], rows, digits=3,
    )
    stack.save("hook", {"medians_ms": medians, "saves_per_case": count * rounds}, text)


if __name__ == "__main__":
    main()
