"""Start and stop real ``run_huey`` consumer processes against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def consumer_env(znet_url: str, **overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="tests.settings_consumer",
        # The consumer connects to the database pytest-django created for this session.
        ORDER_MONITOR_TEST_DB_NAME=connection.settings_dict["NAME"],
        ORDER_MONITOR_TEST_ZNET_URL=znet_url,
    )
    env.update(overrides)
    return env


class Consumer:
    """One ``django-admin run_huey`` process; its output goes to a log file."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str, workers: int = 4, periodic: bool = True):
        self.log_path = log_dir / f"{name}.log"
        args = [sys.executable, "-m", "django", "run_huey", "-w", str(workers), "-k", "thread", "-f"]
        if not periodic:
            args.append("-n")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20) -> int:
        """Stop gracefully (SIGINT lets running checks finish); SIGKILL if it hangs."""
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
        """SIGKILL: what an OOM killer or a power cut does; held tasks are lost."""
        self.stop(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for(predicate, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
