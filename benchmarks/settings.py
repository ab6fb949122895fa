"""Settings of the benchmark driver and of the consumers it starts (PostgreSQL + Redis db 14).

Everything comes from the environment the driver sets:

``BENCH_DB`` (database name, default ``om_bench``), ``BENCH_REDIS_URL`` (default
``redis://127.0.0.1:6379/14``), ``BENCH_HUEY_NAME``, ``BENCH_FAKE_URL`` (the fake
znet), ``BENCH_BATCH_URL`` (the fake batch provider), ``BENCH_POLICY``,
``BENCH_TIME_SCALE`` (every time setting is divided by it), ``BENCH_CONN_MAX_AGE``,
``BENCH_EXTRA`` (JSON of further ``ORDER_MONITOR_*`` settings, without the prefix),
``BENCH_RATE_LIMIT`` (JSON: the RATE_LIMIT of each fake-znet provider name; default none).
"""

import json
import os

from huey import RedisHuey

from tests.settings import *  # noqa: F401,F403

INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks"]  # noqa: F405  (benchmarks/tasks.py: the no-op task)

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
        "NAME": os.environ.get("BENCH_DB", "om_bench"),
        "CONN_MAX_AGE": int(os.environ.get("BENCH_CONN_MAX_AGE", "60")),
    }
}

HUEY = RedisHuey(
    os.environ.get("BENCH_HUEY_NAME", "om-bench"),
    url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    immediate=False,
    results=False,
)

TIME_SCALE = float(os.environ.get("BENCH_TIME_SCALE", "1"))


def providers(znet_url, batch_url=None):
    """Every benchmark provider name, all on the same fake server (rate limits off unless
    BENCH_RATE_LIMIT sets one: each name then has its own, as in a shop)."""
    # Read here, not at import: a driver sets it before calling this (as for its consumers).
    rate_limit = json.loads(os.environ.get("BENCH_RATE_LIMIT", "null"))
    znet = {
        "ADAPTER": "django_order_monitor.providers.adapters.znet.ZnetProvider",
        "OPTIONS": {"base_url": znet_url, "kod": "demo", "sifre": "demo-secret", "connect_timeout": 2, "read_timeout": 10},
        "RATE_LIMIT": rate_limit,
    }
    configured = {name: dict(znet) for name in ("znet", "seed", "fixed", "adaptive")}
    if batch_url:
        configured["batch"] = {
            "ADAPTER": "django_order_monitor.providers.adapters.batchjson.BatchJsonProvider",
            "OPTIONS": {"base_url": batch_url, "api_token": "bench-token", "connect_timeout": 2, "read_timeout": 10},
            "RATE_LIMIT": None,
        }
    return configured


ORDER_MONITOR_PROVIDERS = providers(os.environ.get("BENCH_FAKE_URL", "http://127.0.0.1:9/"), os.environ.get("BENCH_BATCH_URL"))
ORDER_MONITOR_DEFAULT_PROVIDER = "znet"
ORDER_MONITOR_POLICY = os.environ.get("BENCH_POLICY", "django_order_monitor.engine.policy.Policy")
ORDER_MONITOR_TERMINAL_CALLBACK = None

if TIME_SCALE != 1:
    for _name, _seconds in {
        "FIRST_CHECK_DELAY": 60,
        "BACKOFF_BASE": 30,
        "BACKOFF_MAX": 600,
        "DEADLINE": 24 * 3600,
        "FINAL_CHECK_GRACE": 3600,
        "LOST_TASK_GRACE": 120,
        "SWEEP_INTERVAL": 300,
        "SWEEP_SPACING": 0.2,
    }.items():
        globals()["ORDER_MONITOR_" + _name] = _seconds / TIME_SCALE
    ORDER_MONITOR_LEASE_SECONDS = max(5.0, 90 / TIME_SCALE)
ORDER_MONITOR_ADAPTIVE = {"TIME_SCALE": TIME_SCALE}
ORDER_MONITOR_FIXED_INTERVAL = 10 / TIME_SCALE

for _name, _value in json.loads(os.environ.get("BENCH_EXTRA", "{}")).items():
    globals()["ORDER_MONITOR_" + _name] = _value

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("BENCH_LOG_LEVEL", "WARNING")},
}
