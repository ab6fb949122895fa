"""Start and stop real ``run_huey`` consumer processes against the test database."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.db import connection

from django_order_monitor.testing import ChildProcess

ROOT = Path(__file__).resolve().parents[2]


def consumer_env(znet_url: str, **overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="tests.settings_consumer",
        # The consumer connects to the database pytest-django created for this session.
        ORDER_MONITOR_TEST_DB_NAME=connection.settings_dict["NAME"],
        # The consumers use the database server this test run uses (tests.settings_consumer).
        ORDER_MONITOR_TEST_DATABASE=connection.vendor,
        ORDER_MONITOR_TEST_ZNET_URL=znet_url,
    )
    env.update(overrides)
    return env


class Consumer(ChildProcess):
    """One ``python -m django run_huey`` process; its output goes to a log file."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str, workers: int = 4, periodic: bool = True):
        args = [sys.executable, "-m", "django", "run_huey", "-w", str(workers), "-k", "thread", "-f"]
        if not periodic:
            args.append("-n")
        super().__init__(args, env, log_dir / f"{name}.log", cwd=ROOT)
