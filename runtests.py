#!/usr/bin/env python
"""Run the whole test suite: unit tests on SQLite (and the multi-database tests), then everything again on PostgreSQL + Redis, then on MariaDB + Redis.

    python runtests.py [pytest args]

The PostgreSQL pass needs PostgreSQL and Redis (see tests/settings_services.py
for the environment it reads), the MariaDB pass MariaDB (or MySQL), its driver
``mysqlclient`` and Redis (tests/settings_mariadb.py). Where they do not
answer, a pass is skipped and the summary says so; with
ORDER_MONITOR_TEST_SERVICES=1 (as CI sets) it fails instead. The last line is
the combined count: "total: N passed, N failed, N skipped".
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def redis_address() -> tuple[str, int]:
    url = urlparse(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    return url.hostname or "127.0.0.1", url.port or 6379


def unreachable(services: list[tuple[str, tuple[str, int]]]) -> str | None:
    missing = [f"{name} at {host}:{port}" for name, (host, port) in services if not reachable(host, port)]
    return ", ".join(missing) + " not reachable" if missing else None


def services_problem() -> str | None:
    pg = (os.environ.get("PGHOST", "127.0.0.1"), int(os.environ.get("PGPORT", "5432")))
    return unreachable([("PostgreSQL", pg), ("Redis", redis_address())])


def mariadb_problem() -> str | None:
    if importlib.util.find_spec("MySQLdb") is None:
        return 'the MariaDB/MySQL driver is not installed (pip install -e ".[mysql]")'
    mariadb = (os.environ.get("MYSQL_HOST", "127.0.0.1"), int(os.environ.get("MYSQL_PORT", "3306")))
    return unreachable([("MariaDB", mariadb), ("Redis", redis_address())])


#: The passes after the SQLite one: (label, settings module, what they need, how to get it).
SERVER_PASSES = [
    ("all tests: PostgreSQL + Redis", "tests.settings_services", services_problem, "Start them (or set PGHOST/REDIS_URL)"),
    ("all tests: MariaDB + Redis", "tests.settings_mariadb", mariadb_problem, "Start them (or set MYSQL_HOST/REDIS_URL)"),
]


def run_pass(label: str, settings: str, extra: list[str], report: Path) -> int:
    print(f"\n=== {label} ({settings}) ===", flush=True)
    command = [sys.executable, "-m", "pytest", f"--ds={settings}", f"--junitxml={report}", *extra]
    return subprocess.call(command, cwd=ROOT)


def counts(report: Path) -> tuple[int, int, int]:
    if not report.exists():
        return 0, 1, 0  # pytest died before writing a report: count it as a failure
    suites = ET.parse(report).getroot()
    passed = failed = skipped = 0
    for suite in suites.iter("testsuite"):
        tests, errors, failures, skips = (int(suite.get(k, 0)) for k in ("tests", "errors", "failures", "skipped"))
        failed += errors + failures
        skipped += skips
        passed += tests - errors - failures - skips
    return passed, failed, skipped


def main(argv: list[str]) -> int:
    required = os.environ.get("ORDER_MONITOR_TEST_SERVICES") == "1"
    # Runs started side by side on one machine must not share a test database or Huey queue.
    os.environ.setdefault("ORDER_MONITOR_TEST_TEST_DB_NAME", f"test_order_monitor_{os.getpid()}")
    os.environ.setdefault("ORDER_MONITOR_TEST_HUEY_NAME", f"order-monitor-tests-{os.getpid()}")
    notes = []
    with tempfile.TemporaryDirectory() as tmp:
        reports = [Path(tmp, "sqlite.xml")]
        codes = [run_pass("unit tests: SQLite + MemoryHuey", "tests.settings", argv, reports[0])]
        # Its own settings (a router, two databases): run unless the arguments name other tests.
        if not any(Path(ROOT, arg.split("::")[0]).exists() for arg in argv if not arg.startswith("-")):
            reports.append(Path(tmp, "multidb.xml"))
            codes.append(
                run_pass("the order model on a second database: SQLite", "tests.settings_multidb", ["tests/multidb", *argv], reports[-1])
            )
        for number, (label, settings, problem_of, remedy) in enumerate(SERVER_PASSES, start=1):
            problem = problem_of()
            if problem and not required:
                notes.append(f"SKIPPED the {label.split(': ')[1]} pass: {problem}. {remedy} to run it.")
            elif problem:
                notes.append(f"FAILED: ORDER_MONITOR_TEST_SERVICES=1 but {problem}.")
                codes.append(1)
            else:
                reports.append(Path(tmp, f"pass{number}.xml"))
                codes.append(run_pass(label, settings, argv, reports[-1]))
        totals = [sum(column) for column in zip(*(counts(r) for r in reports), strict=True)]
    # pytest exits 5 when it collected nothing (e.g. a -k that matches no test in one pass).
    failed = any(code not in (0, 5) for code in codes) or all(code == 5 for code in codes)
    print()
    for note in notes:
        print(note)
    print(f"total: {totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    return 1 if failed or totals[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
