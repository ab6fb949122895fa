"""Integration settings: the real PostgreSQL and Redis (see README, "Running the tests").

Environment (defaults fit this project's CI machine):
``PGHOST`` 127.0.0.1, ``PGPORT`` 5432, ``PGUSER`` postgres, ``PGPASSWORD`` empty,
``ORDER_MONITOR_TEST_DB_NAME`` order_monitor (pytest-django creates test_<name>),
``REDIS_URL`` redis://127.0.0.1:6379/15.
"""

import os

from huey import PriorityRedisHuey

from tests.settings import *  # noqa: F401,F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
        "NAME": os.environ.get("ORDER_MONITOR_TEST_DB_NAME", "order_monitor"),
        "TEST": {"NAME": os.environ.get("ORDER_MONITOR_TEST_TEST_DB_NAME", "test_order_monitor")},
    }
}

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
HUEY = PriorityRedisHuey(
    os.environ.get("ORDER_MONITOR_TEST_HUEY_NAME", "order-monitor-tests"),
    url=REDIS_URL,
    immediate=False,
    results=False,
)
