"""A shop without Redis: Huey keeps its queue and schedule in PostgreSQL (``PostgresHuey``).

As ``tests.settings_consumer``, with the queue in the test database. The tests point
``REDIS_URL`` at a closed port, so anything that still needed Redis would fail.
"""

import os

from huey import PostgresHuey

from tests.settings_consumer import *  # noqa: F401,F403
from tests.settings_consumer import DATABASES

_db = DATABASES["default"]
HUEY = PostgresHuey(
    os.environ.get("ORDER_MONITOR_TEST_HUEY_NAME", "order-monitor-tests") + "-pg",
    host=_db["HOST"],
    port=_db["PORT"],
    user=_db["USER"],
    password=_db["PASSWORD"] or None,
    dbname=_db["NAME"],
    immediate=False,
    results=False,
)
ORDER_MONITOR_REDIS_URL = None  # the rate limits are per consumer process without Redis
