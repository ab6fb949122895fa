"""Huey's own consumer (what ``run_huey`` starts) with a compressed scheduler tick.

Huey's scheduler wakes once a second (its minimum), so a delayed check runs up
to a second late. With time compressed by ``S``, that second would be ``S``
provider seconds; this runner wakes every ``1/S`` s instead, so a compressed
run sees the same lateness as production. Nothing else differs from run_huey:
same workers, Redis queue and schedule, tasks and Django glue.

    python -m benchmarks.consumer --workers 8 --tick 0.125
"""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--tick", type=float, default=1.0)
    args = parser.parse_args()

    import django

    django.setup()
    from huey.consumer import Consumer, Scheduler
    from huey.contrib.djhuey import HUEY

    import benchmarks.tasks  # noqa: F401  (registers the no-op tasks)
    import django_order_monitor.tasks  # noqa: F401  (registers the checks)

    tick = args.tick

    class CompressedScheduler(Scheduler):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.interval = tick

    class CompressedConsumer(Consumer):
        scheduler_class = CompressedScheduler

    CompressedConsumer(HUEY, workers=args.workers, worker_type="thread", periodic=False, flush_locks=True).run()


if __name__ == "__main__":
    main()
