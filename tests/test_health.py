"""Health for cron and probes: ``order_monitor_status --fail-on`` and the JSON health view."""

import datetime as dt
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from django_order_monitor import tasks
from tests.conftest import START

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[1]
HEALTH = "/order-monitor/health/"
ALL = "overdue,stuck,sweep-late"


def status(*args):
    out = StringIO()
    call_command("order_monitor_status", *args, stdout=out)
    return out.getvalue()


def failing_status(*args):
    with pytest.raises(CommandError) as raised:
        status(*args)
    return raised.value.returncode, str(raised.value)


def sweep(queue):
    tasks.sweep_orders()
    queue.run_pending()


def test_fail_on_exits_0_when_healthy_and_1_naming_each_problem(clock, queue, make_order):
    sweep(queue)
    assert "Last sweep: started 2026-11-01 12:00:00 UTC, finished 2026-11-01 12:00:00 UTC\n" in status("--fail-on", ALL)

    make_order()  # followed, and then no consumer runs for 20 minutes: its check is overdue, no sweep came
    queue.flush()
    clock.move_to(START + dt.timedelta(minutes=20))
    assert failing_status("--fail-on", ALL) == (
        1, "overdue: 1 followed orders checked later than promised; sweep-late: no sweep since 2026-11-01T12:00:00+00:00"
    )
    assert failing_status("--fail-on", "sweep-late") == (1, "sweep-late: no sweep since 2026-11-01T12:00:00+00:00")
    assert "stuck: 0" in status("--fail-on", "stuck")  # only what is asked about fails
    assert "LATE" in status()  # without --fail-on, figures only: exit 0


def test_a_wrong_problem_name_exits_2(clock):
    assert failing_status("--fail-on", "overdue,late") == (2, "--fail-on: unknown late; choose from overdue, stuck, sweep-late.")


def test_the_json_output_carries_the_health(clock, queue):
    import json

    sweep(queue)
    data = json.loads(status("--json"))["health"]
    assert data == {
        "at": "2026-11-01T12:00:00+00:00", "watching": 0, "overdue": 0, "stuck": 0,
        "last_sweep_at": "2026-11-01T12:00:00+00:00", "last_sweep_finished_at": "2026-11-01T12:00:00+00:00",
        "sweep_late": False, "problems": [],
    }


def manage(*args, database):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "tests.settings", "ORDER_MONITOR_TEST_SQLITE": str(database)}
    return subprocess.run([sys.executable, "-m", "django", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_exit_codes_through_manage_py(tmp_path):
    """What cron and an exec probe see: 3 before migrate, 1 while no sweep ever ran, 0 for what is fine."""
    database = tmp_path / "shop.sqlite3"
    unreadable = manage("order_monitor_status", "--fail-on", ALL, database=database)
    assert unreadable.returncode == 3, unreadable.stderr
    assert "Cannot read the monitor's tables: OperationalError" in unreadable.stderr

    assert manage("migrate", "-v", "0", database=database).returncode == 0
    never_swept = manage("order_monitor_status", "--fail-on", ALL, database=database)
    assert never_swept.returncode == 1
    assert never_swept.stderr.strip() == "CommandError: sweep-late: no sweep since ever"
    assert "Last sweep: started –, finished –; LATE" in never_swept.stdout
    fine = manage("order_monitor_status", "--fail-on", "overdue,stuck", database=database)
    assert fine.returncode == 0, fine.stderr


# -- the view ------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client):
    """Staff who may view the ledger, as for the dashboard and the metrics."""
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_monitoredorder"))
    client.force_login(user)
    return client


def test_the_view_answers_staff_with_200_when_healthy_and_503_naming_the_problems(clock, queue, staff_client, make_order):
    sweep(queue)
    healthy = staff_client.get(HEALTH)
    assert healthy.status_code == 200
    assert healthy.json() == {
        "ok": True, "failing": [], "at": "2026-11-01T12:00:00+00:00", "watching": 0, "overdue": 0, "stuck": 0,
        "last_sweep_at": "2026-11-01T12:00:00+00:00", "last_sweep_finished_at": "2026-11-01T12:00:00+00:00",
        "sweep_late": False, "problems": [],
    }
    assert "no-cache" in healthy["Cache-Control"]

    make_order()
    queue.flush()
    clock.move_to(START + dt.timedelta(minutes=20))
    unhealthy = staff_client.get(HEALTH)
    assert unhealthy.status_code == 503
    assert unhealthy.json()["failing"] == ["overdue", "sweep-late"]
    narrowed = staff_client.get(HEALTH, {"fail_on": "stuck"})
    assert narrowed.status_code == 200 and narrowed.json()["problems"] == ["overdue", "sweep-late"]
    assert staff_client.get(HEALTH, {"fail_on": "late"}).status_code == 400


def test_the_view_is_closed_to_anonymous_and_non_staff_users(clock, client):
    anonymous = client.get(HEALTH)
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == "Bearer"
    client.force_login(get_user_model().objects.create_user("shopper", password="x"))
    assert client.get(HEALTH).status_code == 401
    client.force_login(get_user_model().objects.create_user("clerk", password="x", is_staff=True))
    assert client.get(HEALTH).status_code == 401  # staff, but not allowed to view the ledger


def test_a_probe_with_the_health_token_gets_in(clock, client, settings):
    assert client.get(HEALTH, headers={"Authorization": "Bearer probe-token-123"}).status_code == 401  # no token set
    settings.ORDER_MONITOR_HEALTH_TOKEN = "probe-token-123"
    assert client.get(HEALTH, headers={"Authorization": "Bearer probe-token-123"}).status_code == 503  # in; never swept
    assert client.get(HEALTH, headers={"Authorization": "Bearer probe-token-12"}).status_code == 401
    assert client.get(HEALTH, headers={"Authorization": "Basic probe-token-123"}).status_code == 401
