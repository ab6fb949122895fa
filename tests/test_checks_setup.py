"""System checks about the project around the monitor, seen through ``manage.py`` in a fresh project.

Each test writes a small project into a temporary directory and runs Django's
own commands in a new process, as a shop does: a missing ``huey.contrib.djhuey``,
a managed order model whose app has no migrations yet, a database the monitor
does not run on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.core.checks import Error
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection, connections

from django_order_monitor import sql

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

SETTINGS = """
SECRET_KEY = "tests-only"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", {huey}"orders", "django_order_monitor"]
DATABASES = {{"default": {{"ENGINE": "{engine}", "NAME": "db.sqlite3"}}}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
from huey import SqliteHuey
HUEY = SqliteHuey("shop", filename="huey.db", immediate=False)
ORDER_MONITOR_ORDER_MODEL = "orders.Order"
ORDER_MONITOR_PROVIDERS = {{"memory": {{"ADAPTER": "django_order_monitor.testing.memory.InMemoryProvider"}}}}
"""

#: A managed order model, as step 4 of the README's quick start has it.
MODELS = """
from django.db import models
from django_order_monitor.models import ProviderReferansMixin


class Order(ProviderReferansMixin, models.Model):
    status = models.CharField(max_length=20, default="pending")
    external_status = models.CharField(max_length=30, default="not_sent")
    pin_code = models.CharField(max_length=120, null=True, blank=True)
"""


def project(tmp_path: Path, *, huey: bool = True, engine: str = "django.db.backends.sqlite3") -> Path:
    """A fresh project: settings, and an ``orders`` app as ``startapp`` leaves it (empty migrations)."""
    (tmp_path / "settings.py").write_text(SETTINGS.format(huey='"huey.contrib.djhuey", ' if huey else "", engine=engine))
    app = tmp_path / "orders"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "models.py").write_text(MODELS)
    return tmp_path


def manage(directory: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "settings",
        "PYTHONPATH": os.pathsep.join([str(directory), str(ROOT)]),
    }
    return subprocess.run(
        [sys.executable, "-m", "django", *args], env=env, cwd=directory, capture_output=True, text=True, timeout=120
    )


def test_a_missing_djhuey_app_stops_check_and_names_the_fix(tmp_path):
    directory = project(tmp_path, huey=False)
    manage(directory, "makemigrations", "orders")
    done = manage(directory, "check")
    assert done.returncode == 1
    assert "(order_monitor.E026) 'huey.contrib.djhuey' is not in INSTALLED_APPS: manage.py run_huey is an unknown command" in done.stderr
    assert "HINT: Add 'huey.contrib.djhuey' to INSTALLED_APPS (and a HUEY setting)." in done.stderr
    assert "Traceback" not in done.stderr


def test_a_managed_order_model_without_migrations_names_makemigrations_then_migrate_works(tmp_path):
    directory = project(tmp_path)
    done = manage(directory, "check")
    assert done.returncode == 0  # a warning: makemigrations, the fix, runs these checks too
    assert "(order_monitor.W005) The app orders of the order model orders.Order has no migrations" in done.stderr
    done = manage(directory, "migrate")
    # Before: Django's own "ValueError: Dependency on app with no migrations: orders", a traceback.
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "(order_monitor.E027) The app orders of the order model orders.Order has no migrations" in done.stderr
    assert "HINT: Run 'python manage.py makemigrations orders' first, then migrate." in done.stderr
    # Following the hint is all it takes.
    assert manage(directory, "makemigrations", "orders").returncode == 0
    done = manage(directory, "migrate")
    assert done.returncode == 0, done.stderr
    assert "Applying order_monitor.0001_initial... OK" in done.stdout
    done = manage(directory, "check")
    assert (done.returncode, done.stderr) == (0, "")


BACKEND = """
from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    vendor = "cockroachdb"
    display_name = "CockroachDB"
"""


def test_a_database_the_monitor_does_not_run_on_is_refused_naming_the_supported_ones(tmp_path):
    directory = project(tmp_path, engine="cockroach_backend")
    (directory / "cockroach_backend").mkdir()
    (directory / "cockroach_backend" / "__init__.py").write_text("")
    (directory / "cockroach_backend" / "base.py").write_text(textwrap.dedent(BACKEND))
    manage(directory, "makemigrations", "orders")
    done = manage(directory, "check")
    assert done.returncode == 1
    assert (
        "(order_monitor.E025) The database 'default' is CockroachDB (cockroach_backend), which the monitor does not support."
        in done.stderr
    )
    assert "HINT: Use one of: PostgreSQL, SQLite, MariaDB 10.6+, MySQL 8.0.11+" in done.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    "mariadb, version, shown",
    [(True, (10, 5, 27), "MariaDB 10.5.27"), (False, (8, 0, 0), "MySQL 8.0.0")],
    ids=["mariadb-10.5", "mysql-8.0.0"],
)
def test_a_mariadb_or_mysql_without_skip_locked_stops_migrate(monkeypatch, mariadb, version, shown):
    """Judged on the server's own version (the MariaDB pass), when a command connects."""
    if connection.vendor != "mysql":
        pytest.skip("the version of a MariaDB/MySQL server")
    wrapper = connections["default"]
    monkeypatch.setitem(wrapper.__dict__, "mysql_is_mariadb", mariadb)
    monkeypatch.setitem(wrapper.__dict__, "mysql_version", version)
    with pytest.raises(SystemCheckError) as raised:
        call_command("check", databases=["default"])
    message = str(raised.value)
    assert f"(order_monitor.E025) The database 'default' is {shown}, which the monitor does not support." in message
    assert sql.SUPPORTED_DATABASES in message


@pytest.mark.django_db
def test_the_database_of_this_run_is_supported():
    messages = [m for m in sql_checks(["default"]) if m.id == "order_monitor.E025"]
    assert messages == []


def sql_checks(databases):
    from django_order_monitor.checks import check_database_vendor, check_database_version

    messages = check_database_vendor() + check_database_version(databases=databases)
    return [m for m in messages if isinstance(m, Error)]


@pytest.mark.django_db
def test_migrate_is_not_stopped_by_any_check_on_this_database():
    """What ``migrate`` runs: no error; on MariaDB/MySQL Django's own W037 (the due-time index is not partial there)."""
    from django.core.checks import run_checks

    messages = run_checks(databases=["default"])
    assert [m for m in messages if m.is_serious()] == []
    expected = {("models.W037", "order_monitor.MonitoredOrder")} if connection.vendor == "mysql" else set()
    assert {(m.id, getattr(getattr(m.obj, "_meta", None), "label", m.obj)) for m in messages} == expected
