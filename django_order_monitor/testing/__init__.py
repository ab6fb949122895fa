"""Helpers for testing code that uses django_order_monitor (ours and the shop's).

``QueueRunner`` drives a non-immediate Huey (``MemoryHuey(immediate=False)``)
the way ``run_huey`` would: it runs queued tasks and, as a clock is moved
forward, the delayed ones when they fall due. Huey's immediate mode cannot do
this: its delayed tasks never run.

``ChildProcess`` and ``wait_until`` are for integration tests that start real
processes (``run_huey`` consumers, a fake provider) and wait for their effects.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.utils import timezone


class QueueRunner:
    """Run a Huey instance's tasks in-process, in due order.

    ``move_to`` is called with each aware datetime the runner needs the clock
    to show (e.g. ``time_machine`` traveller's ``move_to``).
    """

    def __init__(self, huey=None, move_to: Callable[[dt.datetime], None] | None = None) -> None:
        if huey is None:
            from huey.contrib.djhuey import HUEY

            huey = HUEY
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


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    """Call ``predicate`` until it returns something true or ``timeout`` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class ChildProcess:
    """A child process in its own process group, its output in a log file.

    ``stop()`` sends SIGINT to the whole group (``run_huey`` then lets running
    tasks finish) and SIGKILLs it if it has not exited within ``timeout``.
    """

    def __init__(self, command: Sequence[str], env: dict[str, str], log_path: Path, *, cwd: Path | None = None) -> None:
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            list(command), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_line(self, needle: str, timeout: float) -> str:
        """The first output line containing ``needle``; AssertionError (with the log) if none comes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log().splitlines():
                if needle in line:
                    return line
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no {needle!r} in the output of {self.process.args!r}:\n{self.log()[-3000:]}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20) -> int:
        """Signal the group and reap it (SIGKILL after ``timeout``); returns the exit status."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: what an OOM killer or a power cut does; tasks the process held are lost."""
        self.stop(signal.SIGKILL)
