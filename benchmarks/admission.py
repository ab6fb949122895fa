"""What a budget admission costs on Redis, where every consumer of a shop shares one budget.

Each due check that meets a short budget asks ``Budget.admit`` once: one Redis
transaction (WATCH, read the state and the dispatch count, write). The threads of
one process take turns; processes race and retry. Measured: admissions a second
and ms each, for 1 and 8 threads in one process and for 3 processes of 4 threads
on one budget (Redis db 12, flushed first).

    python -m benchmarks --only admission        # about 30 s
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

REDIS_URL = os.environ.get("BENCH_ADMISSION_REDIS", "redis://127.0.0.1:6379/12")
ASKS = 2000


def admissions(threads: int, asks: int = ASKS) -> float:
    """Seconds for ``asks`` admissions from ``threads`` threads of this process."""
    import redis

    from django_order_monitor.engine.budget import Budget
    from django_order_monitor.providers import ratelimit

    backend = ratelimit._RedisBackend(redis.Redis.from_url(REDIS_URL), "bench-admission")
    spending = Budget(1000.0, None, backend.budget_state("znet"))

    def ask() -> None:
        for _ in range(asks // threads):
            now = time.time()
            spending.admit(lambda moment: 0.5, now - 30, now)

    pool = [threading.Thread(target=ask) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.perf_counter() - started


def main() -> None:
    import django
    import redis

    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        django.setup()
        print(admissions(int(sys.argv[2])))
        return
    django.setup()
    from benchmarks import stack

    redis.Redis.from_url(REDIS_URL).flushdb()
    rows = []
    for threads in (1, 8):
        seconds = admissions(threads)
        rows.append([f"1 process, {threads} thread(s)", ASKS, ASKS / seconds, 1000 * seconds / ASKS])
    children = [
        subprocess.Popen([sys.executable, "-m", "benchmarks.admission", "--child", "4"], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    seconds = max(float(child.communicate()[0].strip().splitlines()[-1]) for child in children)
    rows.append(["3 processes, 4 threads each", 3 * ASKS, 3 * ASKS / seconds, 1000 * seconds / ASKS])
    text = stack.table(
        "Budget admissions on Redis (one shared budget)",
        ["who asks", "admissions", "per second", "ms each"],
        rows,
        digits=2,
    )
    stack.save("admission", {"rows": rows}, text)


if __name__ == "__main__":
    main()
