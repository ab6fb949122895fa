"""Plumbing shared by the benchmark sections: databases, consumers, /proc readings, tables."""

from __future__ import annotations

import atexit
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from django_order_monitor.testing import ChildProcess

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PYTHON = sys.executable
_TICKS = os.sysconf("SC_CLK_TCK")


def setup(db: str = "om_bench", *, fresh: bool = True, **env: str) -> None:
    """Create (or recreate) database ``db``, point Django at it and migrate."""
    import psycopg

    os.environ.update({"BENCH_DB": db, "DJANGO_SETTINGS_MODULE": "benchmarks.settings", **env})
    with psycopg.connect(host=os.environ.get("PGHOST", "127.0.0.1"), user=os.environ.get("PGUSER", "postgres"), dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{db}" WITH (FORCE)')
        if not exists or fresh:
            conn.execute(f'CREATE DATABASE "{db}"')
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def reset() -> None:
    """Empty the ledger, the history, the shop's orders and the bench Huey queue."""
    from django.db import connection
    from huey.contrib.djhuey import HUEY

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE order_monitor_statuscheck, order_monitor_monitoredorder, product_orders")
    HUEY.flush()


def consumer_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="benchmarks.settings", **extra)
    return env


class Consumer(ChildProcess):
    """A consumer process: ``run_huey`` itself, or the same Huey consumer with a compressed
    scheduler tick (``tick`` seconds, see benchmarks/consumer.py)."""

    def __init__(self, env: dict[str, str], name: str, workers: int, *, tick: float | None = None, periodic: bool = False):
        RESULTS.mkdir(exist_ok=True)
        if tick is None:
            args = [PYTHON, "-m", "django", "run_huey", "-w", str(workers), "-k", "thread", "-f"]
            if not periodic:
                args.append("-n")
        else:
            args = [PYTHON, "-m", "benchmarks.consumer", "--workers", str(workers), "--tick", str(tick)]
        super().__init__(args, env, RESULTS / f"{name}.log", cwd=ROOT)
        # A section that dies half-way must not leave its consumer running: it would
        # take the next section's tasks (its own session, so it outlives us otherwise).
        atexit.register(self.stop)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss_mb(self) -> float:
        return rss_mb(self.pid)

    def stop(self, *args, **kwargs) -> int:
        atexit.unregister(self.stop)
        return super().stop(*args, **kwargs)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(title: str, headers: list[str], rows: list[list[Any]], digits: int = 1) -> str:
    cells = [[fmt(c, digits) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    out = [title, line, "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), line]
    out += ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in cells]
    out.append(line)
    return "\n".join(out)


def save(section: str, data: dict[str, Any], text: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{section}.json").write_text(json.dumps(data, indent=1, default=str))
    (RESULTS / f"{section}.txt").write_text(text + "\n")
    print(text, flush=True)
