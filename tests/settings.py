"""Unit-test settings: SQLite and MemoryHuey, the legacy ``product_orders`` table."""

import os

from huey import MemoryHuey

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "tests.testapp",
    "django_order_monitor",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
STATIC_URL = "/static/"

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("ORDER_MONITOR_TEST_SQLITE", ":memory:")}}

# immediate=False: tests drive the queue explicitly (see tests/conftest.py).
HUEY = MemoryHuey("order-monitor-tests", immediate=False, results=False)

ORDER_MONITOR_ORDER_MODEL = "testapp.ProductOrder"
ORDER_MONITOR_PROVIDERS = {
    "memory": {"ADAPTER": "django_order_monitor.testing.memory.InMemoryProvider"},
}
ORDER_MONITOR_DEFAULT_PROVIDER = "memory"
# Etiquette sleeps in real time; the tests that exercise it switch it on.
ORDER_MONITOR_RATE_LIMIT = None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"django_order_monitor": {"level": "DEBUG"}},
}
