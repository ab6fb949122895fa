"""Settings of the ``run_huey`` consumers the integration tests start (PostgreSQL or MariaDB, + Redis).

Times are compressed (seconds instead of minutes) and read from the environment
the test sets: ``ORDER_MONITOR_TEST_ZNET_URL``, ``..._DB_NAME`` (the test database),
``..._DATABASE`` (``mysql`` for the MariaDB pass; PostgreSQL otherwise).
"""

import json
import os

if os.environ.get("ORDER_MONITOR_TEST_DATABASE") == "mysql":
    from tests.settings_mariadb import *  # noqa: F401,F403
else:
    from tests.settings_services import *  # noqa: F401,F403

DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405


def znet_providers(base_url: str) -> dict:
    return {
        "znet": {
            "ADAPTER": "django_order_monitor.providers.adapters.znet.ZnetProvider",
            "OPTIONS": {
                "base_url": base_url,
                "kod": "demo",
                "sifre": os.environ.get("ORDER_MONITOR_TEST_ZNET_SIFRE", "demo-secret"),
                "connect_timeout": 2,
                "read_timeout": float(os.environ.get("ORDER_MONITOR_TEST_READ_TIMEOUT", "3")),
            },
        }
    }


ORDER_MONITOR_PROVIDERS = znet_providers(os.environ.get("ORDER_MONITOR_TEST_ZNET_URL", "http://127.0.0.1:9/"))
ORDER_MONITOR_DEFAULT_PROVIDER = "znet"
ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.store_terminal"

#: The compressed policy, shared with the test process (it computes first-check times).
COMPRESSED_POLICY = {
    "FIRST_CHECK_DELAY": 1,
    "BACKOFF_BASE": 1,
    "BACKOFF_MAX": 4,
    "BACKOFF_JITTER": 0.1,
    "QUICK_ATTEMPTS": 1000,
    "DEADLINE": 40,
    "FINAL_CHECK_GRACE": 10,
    "LEASE_SECONDS": 30,
    "LOST_TASK_GRACE": 5,
    "SWEEP_INTERVAL": 60,
    "SWEEP_SPACING": 0.01,
    "CALL_SLOT_GRACE": 2,
}
# Provider etiquette is off in the tests unless one sets it (JSON), as the crash-bound tests do.
if os.environ.get("ORDER_MONITOR_TEST_RATE_LIMIT"):
    ORDER_MONITOR_RATE_LIMIT = json.loads(os.environ["ORDER_MONITOR_TEST_RATE_LIMIT"])

for _name, _default in COMPRESSED_POLICY.items():
    _value = float(os.environ.get("ORDER_MONITOR_TEST_" + _name, _default))
    globals()["ORDER_MONITOR_" + _name] = int(_value) if _value.is_integer() else _value

# Further ORDER_MONITOR_* settings a test gives its consumers: JSON, names without the prefix.
for _name, _value in json.loads(os.environ.get("ORDER_MONITOR_TEST_EXTRA", "{}")).items():
    globals()["ORDER_MONITOR_" + _name] = _value

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ORDER_MONITOR_TEST_LOG_LEVEL", "WARNING")},
}

# Metrics on the consumer's own port, when a test asks for them (tests/integration/test_metrics_consumer.py).
if os.environ.get("ORDER_MONITOR_TEST_METRICS_PORT"):
    ORDER_MONITOR_METRICS = {
        "PORT": int(os.environ["ORDER_MONITOR_TEST_METRICS_PORT"]),
        "ADDRESS": "127.0.0.1",
        "TOKEN": os.environ.get("ORDER_MONITOR_TEST_METRICS_TOKEN", "consumer-metrics-token"),
    }
