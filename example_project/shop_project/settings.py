"""Settings of the example shop.

By default everything is embedded: SQLite and SqliteHuey, files under
``example_project/var/``. Environment variables switch to PostgreSQL + Redis
(see README.rst, "Environment"):

- ``SHOP_DATABASE_URL`` (``postgres://user:password@host:5432/name`` or
  ``sqlite:////absolute/path.sqlite3``), or ``SHOP_DB=postgres`` with the usual
  ``PGHOST``/``PGPORT``/``PGUSER``/``PGPASSWORD``/``PGDATABASE``;
- ``SHOP_REDIS_URL`` (``redis://127.0.0.1:6379/0``): PriorityRedisHuey instead of SqliteHuey;
- ``SHOP_ZNET_URL``, ``SHOP_ZNET_KOD``, ``SHOP_ZNET_SIFRE``: the znet dealer account;
- ``SHOP_TIME_SCALE`` and ``SHOP_DEADLINE``: compress the monitoring policy for demos.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from huey import PriorityRedisHuey, SqliteHuey

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SHOP_VAR_DIR") or BASE_DIR / "var").resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


SECRET_KEY = os.environ.get("SHOP_SECRET_KEY", "example-shop-insecure-key-do-not-use-in-production")
DEBUG = env_flag("SHOP_DEBUG", True)
ALLOWED_HOSTS = [h for h in os.environ.get("SHOP_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "orders",
    "django_order_monitor",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "shop_project.urls"
WSGI_APPLICATION = "shop_project.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"


# -- database -----------------------------------------------------------------------


def sqlite_database(path: str | Path) -> dict:
    # WAL lets the consumer's threads read while one writes; IMMEDIATE takes the
    # write lock when a transaction starts, so two writers wait for each other
    # (busy timeout) instead of failing with "database is locked" half-way.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        },
    }


def postgres_database(host: str, port: str, user: str, password: str, name: str) -> dict:
    return {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": host,
        "PORT": port,
        "USER": user,
        "PASSWORD": password,
        "NAME": name,
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


def database_from_url(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:////abs/path.sqlite3 -> /abs/path.sqlite3; sqlite:///rel.sqlite3 -> VAR_DIR/rel.sqlite3
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        return sqlite_database(Path(path) if Path(path).is_absolute() else VAR_DIR / path)
    if parts.scheme in ("postgres", "postgresql", "pgsql"):
        return postgres_database(
            parts.hostname or "127.0.0.1",
            str(parts.port or 5432),
            unquote(parts.username or "postgres"),
            unquote(parts.password or ""),
            unquote(parts.path.lstrip("/")) or "shop",
        )
    raise ValueError(f"SHOP_DATABASE_URL: unsupported scheme {parts.scheme!r} (use postgres:// or sqlite:///)")


if os.environ.get("SHOP_DATABASE_URL"):
    DATABASES = {"default": database_from_url(os.environ["SHOP_DATABASE_URL"])}
elif os.environ.get("SHOP_DB", "sqlite").lower() in ("postgres", "postgresql"):
    DATABASES = {
        "default": postgres_database(
            os.environ.get("PGHOST", "127.0.0.1"),
            os.environ.get("PGPORT", "5432"),
            os.environ.get("PGUSER", "postgres"),
            os.environ.get("PGPASSWORD", ""),
            os.environ.get("PGDATABASE", "shop"),
        )
    }
else:
    DATABASES = {"default": sqlite_database(VAR_DIR / "shop.sqlite3")}


# -- Huey: the clock of the order monitor ------------------------------------------------

HUEY_NAME = os.environ.get("SHOP_HUEY_NAME", "shop")
if os.environ.get("SHOP_REDIS_URL"):
    HUEY = PriorityRedisHuey(HUEY_NAME, url=os.environ["SHOP_REDIS_URL"], immediate=False, results=False)
else:
    HUEY = SqliteHuey(HUEY_NAME, filename=str(VAR_DIR / "huey.sqlite3"), immediate=False, results=False, timeout=30)


# -- the order monitor --------------------------------------------------------------------

ORDER_MONITOR_ORDER_MODEL = "orders.ProductOrder"
# Role -> attribute of ProductOrder. These happen to be the library's defaults (the
# reference shop's names); they are spelled out here because a shop's will differ.
ORDER_MONITOR_FIELDS = {
    "reference": "provider_referans",
    "external_status": "external_status",
    "status": "status",
    "pin": "pin_code",
    "dispatched_at": "sent_at",
    "last_sync_at": "last_sync_at",
    "completed_at": "completed_at",
    "provider": "provider_id",
    "provider_message": "provider_message",
    "duration_ms": "duration_ms",
    "tenant": "tenant_id",
}
ORDER_MONITOR_PROVIDERS = {
    "znet": {
        "ADAPTER": "django_order_monitor.providers.adapters.znet.ZnetProvider",
        "OPTIONS": {
            "base_url": os.environ.get("SHOP_ZNET_URL", "http://127.0.0.1:8765/"),
            "kod": os.environ.get("SHOP_ZNET_KOD", "demo"),
            "sifre": os.environ.get("SHOP_ZNET_SIFRE", "demo-secret"),
            "connect_timeout": 5,
            "read_timeout": 20,
        },
    },
}
ORDER_MONITOR_DEFAULT_PROVIDER = "znet"
ORDER_MONITOR_TERMINAL_CALLBACK = "orders.monitoring.on_terminal"
if os.environ.get("SHOP_MONITOR_POLICY"):
    ORDER_MONITOR_POLICY = os.environ["SHOP_MONITOR_POLICY"]

# The seed's policy (the library's defaults), divided by SHOP_TIME_SCALE so the
# demo can run a day in minutes. SHOP_DEADLINE is in provider seconds too (24 h by
# default); the demo shortens it so never-ending orders time out while you watch.
# Two numbers cannot shrink: the sweep runs on whole minutes, and a lease must
# outlive a provider call (connect + read timeout).
TIME_SCALE = float(os.environ.get("SHOP_TIME_SCALE", "1"))
DEADLINE_SECONDS = float(os.environ.get("SHOP_DEADLINE", str(24 * 60 * 60)))
if TIME_SCALE <= 0:
    raise ValueError("SHOP_TIME_SCALE must be > 0")


def scaled(seconds: float, floor: float = 0.0) -> float | int:
    value = max(floor, seconds / TIME_SCALE)
    return int(value) if float(value).is_integer() else round(value, 3)


ORDER_MONITOR_FIRST_CHECK_DELAY = scaled(60)
ORDER_MONITOR_BACKOFF_BASE = scaled(30)
ORDER_MONITOR_BACKOFF_MAX = scaled(600)
ORDER_MONITOR_DEADLINE = scaled(DEADLINE_SECONDS)
ORDER_MONITOR_FINAL_CHECK_GRACE = scaled(60 * 60)
ORDER_MONITOR_SWEEP_SPACING = scaled(0.2)
ORDER_MONITOR_LOST_TASK_GRACE = scaled(120, floor=5)
ORDER_MONITOR_SWEEP_INTERVAL = 60 if TIME_SCALE > 1 else 300
ORDER_MONITOR_BREAKER_COOLDOWN = scaled(60, floor=1)
# Provider etiquette (znet asks for 100-500 ms between calls, no big bursts). A
# compressed clock makes 30x the calls per second, so the gap shrinks with it.
ORDER_MONITOR_RATE_LIMIT = {"min_interval": scaled(0.1), "max_concurrent": 4, "max_wait": scaled(10, floor=1)}
# Prometheus metrics (needs the [metrics] extra): the consumer serves them on this port, the
# web process at /order-monitor/metrics; scrapers send the token as a bearer token.
if os.environ.get("SHOP_METRICS_PORT"):
    ORDER_MONITOR_METRICS = {
        "PORT": int(os.environ["SHOP_METRICS_PORT"]),
        "ADDRESS": "127.0.0.1",
        "TOKEN": os.environ.get("SHOP_METRICS_TOKEN") or None,
    }

# -- the shop's catalogue --------------------------------------------------------------------

# package code -> znet's "oyun" (oyun_bilgi_id) and "kupur", our price and how often
# the demo sells it. The last package lost its znet mapping (empty kupur): znet
# refuses such an order at dispatch, which the shop must reject and refund at once.
SHOP_PACKAGES = {
    "pubg-uc-60": {"oyun": "101", "kupur": "60", "price": "0.99", "weight": 45},
    "pubg-uc-325": {"oyun": "101", "kupur": "325", "price": "4.99", "weight": 20},
    "freefire-diamonds-100": {"oyun": "214", "kupur": "100", "price": "1.09", "weight": 23},
    "steam-wallet-10usd": {"oyun": "310", "kupur": "10", "price": "10.49", "weight": 10},
    "razer-gold-5usd-retired": {"oyun": "412", "kupur": "", "price": "5.25", "weight": 2},
}

# -- logging ------------------------------------------------------------------------------

LOG_LEVEL = os.environ.get("SHOP_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(threadName)s: %(message)s"}},
    # SHOP_LOG_FILE sends the log to a file instead of stderr (the demo uses it).
    "handlers": {
        "console": (
            {
                "class": "logging.FileHandler",
                "filename": os.environ["SHOP_LOG_FILE"],
                "encoding": "utf-8",
                "formatter": "plain",
            }
            if os.environ.get("SHOP_LOG_FILE")
            else {"class": "logging.StreamHandler", "formatter": "plain"}
        )
    },
    "loggers": {
        "django_order_monitor": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "orders": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # Configured here, so run_huey does not add a handler of its own.
        "huey": {
            "handlers": ["console"],
            "level": os.environ.get("SHOP_HUEY_LOG_LEVEL", "INFO").upper(),
            "propagate": False,
        },
    },
}
