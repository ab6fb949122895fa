"""Helpers for testing code that uses django_order_monitor (ours and the shop's).

``QueueRunner`` drives a non-immediate Huey (``MemoryHuey(immediate=False)``)
the way ``run_huey`` would: it runs queued tasks and, as a clock is moved
forward, the delayed ones when they fall due. Huey's immediate mode cannot do
this: its delayed tasks never run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone


class QueueRunner:
    """Run a Huey instance's tasks in-process, in due order.

    ``move_to`` is called with each aware datetime the runner needs the clock
    to show (e.g. ``time_machine`` traveller's ``move_to``).
    """

    def __init__(self, huey=None, move_to: Callable[[dt.datetime], None] | None = None) -> None:
        if huey is None:
            from huey.contrib.djhuey import HUEY as huey
        self.huey = huey
        self.move_to = move_to
        self.executed = 0

    def flush(self) -> None:
        self.huey.flush()

    def run_pending(self, max_tasks: int = 100_000) -> int:
        """Execute every task queued now; tasks not yet due move to the schedule."""
        ran = 0
        # Check the length first: a blocking Redis dequeue waits a second on an empty queue.
        while ran < max_tasks and self.huey.pending_count():
            task = self.huey.dequeue()
            if task is None:
                break
            self.huey.execute(task)
            ran += 1
        self.executed += ran
        return ran

    def next_eta(self) -> dt.datetime | None:
        etas = [task.eta for task in self.huey.scheduled() if task.eta is not None]
        if not etas:
            return None
        return timezone.make_aware(min(etas), dt.timezone.utc) if self.huey.utc else min(etas)

    def run_until(self, moment: dt.datetime, max_tasks: int = 100_000) -> int:
        """Move the clock forward to ``moment``, running each delayed task when it falls due."""
        if self.move_to is None:
            raise RuntimeError("QueueRunner.run_until needs a move_to clock function.")
        ran = self.run_pending(max_tasks)
        while ran < max_tasks:
            eta = self.next_eta()
            if eta is None or eta > moment:
                break
            self.move_to(max(eta, timezone.now()))
            for task in self.huey.read_schedule(self._huey_now()):
                self.huey.enqueue(task)
            ran += self.run_pending(max_tasks - ran)
        self.move_to(moment)
        return ran

    def _huey_now(self) -> dt.datetime:
        now = timezone.now()
        return now.astimezone(dt.timezone.utc).replace(tzinfo=None) if self.huey.utc else now
