"""MariaDB/MySQL pass: the whole suite on a real MariaDB (or MySQL) and Redis (see README, "Running the tests").

Environment (defaults fit this project's CI machine):
``MYSQL_HOST`` 127.0.0.1, ``MYSQL_PORT`` 3306, ``MYSQL_USER`` root, ``MYSQL_PASSWORD`` empty,
``ORDER_MONITOR_TEST_DB_NAME`` order_monitor, ``ORDER_MONITOR_TEST_TEST_DB_NAME`` (the database
pytest-django creates), ``REDIS_URL`` redis://127.0.0.1:6379/15.
"""

import os

from tests.settings import *  # noqa: F401,F403

# The same Redis queue (and REDIS_URL) as the PostgreSQL pass.
from tests.settings_services import HUEY, REDIS_URL  # noqa: F401

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.mysql",
        "HOST": os.environ.get("MYSQL_HOST", "127.0.0.1"),
        "PORT": os.environ.get("MYSQL_PORT", "3306"),
        "USER": os.environ.get("MYSQL_USER", "root"),
        "PASSWORD": os.environ.get("MYSQL_PASSWORD", ""),
        "NAME": os.environ.get("ORDER_MONITOR_TEST_DB_NAME", "order_monitor"),
        # utf8mb4: PINs and provider messages may hold any character (Arabic, Turkish, emoji).
        "OPTIONS": {"charset": "utf8mb4"},
        "TEST": {
            "NAME": os.environ.get("ORDER_MONITOR_TEST_TEST_DB_NAME", "test_order_monitor"),
            "CHARSET": "utf8mb4",
            "COLLATION": "utf8mb4_unicode_ci",
        },
    }
}
