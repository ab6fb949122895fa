"""The order_monitor_* management commands: exact output on a fixed clock, errors for bad input."""

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.testing import memory
from tests.conftest import START
from tests.testapp.models import ProductOrder

pytestmark = pytest.mark.django_db

A, B, C, D, E = (uuid.UUID(int=n) for n in range(1, 6))
MINUTE = dt.timedelta(minutes=1)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fixed_schedule(settings, queue):
    settings.ORDER_MONITOR_BACKOFF_JITTER = 0


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def ledger(order_id, *, state="watching", dispatched=START, **fields):
    fields.setdefault("deadline_at", dispatched + dt.timedelta(hours=24))
    return MonitoredOrder.objects.create(
        order_id=order_id, provider="memory", reference=f"R-{order_id.int}", state=state, dispatched_at=dispatched, **fields
    )


def checks(entry, *latencies, result="processing", at=START - MINUTE):
    for latency in latencies:
        StatusCheck.objects.create(monitored_order=entry, checked_at=at, latency_ms=latency, result=result)


@pytest.fixture
def history(clock):
    """Two completed orders (60 s and 300 s to PIN), one failed, one overdue, one sweep-driven."""
    a = ledger(A, state="completed", dispatched=START - 10 * MINUTE, finished_at=START - 5 * MINUTE)
    checks(a, 10, 20, 30)
    b = ledger(B, state="completed", dispatched=START - 20 * MINUTE, finished_at=START - 19 * MINUTE)
    checks(b, 40, at=START - 2 * dt.timedelta(hours=2))
    c = ledger(C, state="failed", dispatched=START - 60 * MINUTE, finished_at=START - 50 * MINUTE)
    checks(c, 100)
    checks(c, 5000, result="transport_error")
    ledger(D, next_check_at=START - 10 * MINUTE)
    ledger(E, next_check_at=START + 5 * MINUTE, next_check_by="sweep", answered_checks=20)


def test_status_summarises_states_overdue_the_day_and_providers(history):
    assert run("order_monitor_status") == (
        "Order monitor status at 2026-11-01 12:00:00 UTC\n"
        "Orders by state: watching 2, completed 2, failed 1, timed out 0, stopped 0\n"
        "Followed now: 2; overdue checks: 1; past their quick attempts: 1; stuck: 0\n"
        "Last sweep: started –, finished –; LATE\n"
        "Ended in the last 24 h: completed 2, failed 1, timed out 0, stopped 0\n"
        "Time to PIN, last 24 h (2 orders): p50 3 min, p90 4 min 36 s, p99 4 min 58 s\n"
        "Checks per order ended in the last 24 h (3 orders): mean 2.0, max 3\n"
        # Last hour: A's three checks and C's two; the day adds B's check of two hours ago.
        "Provider memory, last hour: 5 checks, 1 failed (20.0%), latency mean 1032 ms, p50 30 ms, p90 3040 ms, p99 4804 ms\n"
        "Provider memory, last 24 hours: 6 checks, 1 failed (16.7%), latency mean 867 ms, p50 35 ms, p90 2550 ms, p99 4755 ms\n"
    )


def test_status_of_an_empty_ledger(clock):
    assert run("order_monitor_status") == (
        "Order monitor status at 2026-11-01 12:00:00 UTC\n"
        "Orders by state: watching 0, completed 0, failed 0, timed out 0, stopped 0\n"
        "Followed now: 0; overdue checks: 0; past their quick attempts: 0; stuck: 0\n"
        "Last sweep: started –, finished –; LATE\n"
        "Ended in the last 24 h: completed 0, failed 0, timed out 0, stopped 0\n"
        "Time to PIN, last 24 h (0 orders): p50 –, p90 –, p99 –\n"
        "Checks per order ended in the last 24 h (0 orders): mean –, max 0\n"
        "Providers: no checks in the last 24 h\n"
    )


def test_status_json_carries_the_same_figures(history):
    data = json.loads(run("order_monitor_status", "--json"))
    assert data["at"] == "2026-11-01T12:00:00+00:00"
    assert data["by_state"] == {"watching": 2, "completed": 2, "failed": 1, "timed_out": 0, "stopped": 0}
    assert (data["overdue"], data["sweep_driven"], data["stuck"]) == (1, 1, 0)
    assert data["time_to_pin"] == {"n": 2, "p50": 180.0, "p90": 276.0, "p99": 297.6, "sampled": False}
    assert data["checks_per_order"] == {"orders": 3, "mean": 2.0, "max": 3, "sampled": False}
    assert [(p["window"], p["checks"], p["failed_checks"]) for p in data["providers"]] == [("1h", 5, 1), ("24h", 6, 1)]
    assert [b["count"] for b in data["delay_histogram"]] == [0, 0, 1, 0, 1, 0, 0, 0, 0]
    assert data["ended_by_hour"][-1] == {
        "hour": "2026-11-01T12:00:00+00:00", "completed": 0, "failed": 0, "timed_out": 0, "stopped": 0
    }
    assert data["ended_by_hour"][-2]["completed"] == 2 and data["ended_by_hour"][-2]["failed"] == 1


def test_check_prints_a_completion_but_never_the_pin(clock, make_order):
    order = make_order(id=A, referans="REF-A")
    memory.complete("REF-A", pin="AB12-CD34-EF56", message="İşlem tamamlandı")
    out = run("order_monitor_check", str(A))
    assert out == (
        "Order 00000000-0000-0000-0000-000000000001 via memory (reference REF-A)\n"
        "Result: completed (provider status 2)\n"
        "Message: İşlem tamamlandı\n"
        "State: completed\n"
        "PIN: delivered to the order (not shown)\n"
    )
    order.refresh_from_db()
    assert order.pin_code == "AB12-CD34-EF56"
    assert StatusCheck.objects.get().source == "command"


def test_check_of_a_waiting_order_prints_the_next_check(clock, make_order):
    make_order(id=A, referans="REF-A")
    assert run("order_monitor_check", str(A)) == (
        "Order 00000000-0000-0000-0000-000000000001 via memory (reference REF-A)\n"
        "Result: processing (provider status 1)\n"
        "State: watching; next check at 2026-11-01 12:00:30 UTC by a chained task\n"
    )


def test_check_starts_following_an_order_the_hook_missed(clock, make_order):
    order = make_order(id=A, external_status="not_sent", referans="REF-A")
    ProductOrder.objects.filter(pk=order.pk).update(external_status="sent")  # update(): no post-save hook
    out = run("order_monitor_check", str(A))
    assert out.splitlines()[0] == "Started following order 00000000-0000-0000-0000-000000000001."
    assert MonitoredOrder.objects.get(order_id=A).answered_checks == 1


def test_check_json(clock, make_order):
    make_order(id=A, referans="REF-A")
    memory.fail("REF-A", message="İptal")
    data = json.loads(run("order_monitor_check", str(A), "--json"))
    assert data == {
        "order": str(A),
        "monitored_order_id": MonitoredOrder.objects.get().pk,
        "provider": "memory",
        "reference": "REF-A",
        "started_following": False,
        "ran": True,
        "skipped_reason": "",
        "result": "failed",
        "provider_status": "3",
        "message": "İptal",
        "state": "failed",
        "next_check_at": None,
        "next_check_by": "task",
        "pin_delivered": False,
    }


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        (str(E), "No order with id 00000000-0000-0000-0000-000000000005 in testapp.ProductOrder."),
        ("42", "'42' is not an order id: testapp.ProductOrder ids look like 123e4567-e89b-12d3-a456-426614174000."),
    ],
)
def test_check_rejects_unknown_orders(clock, make_order, argument, message):
    with pytest.raises(CommandError) as error:
        run("order_monitor_check", argument)
    assert str(error.value) == message


def test_check_names_why_an_order_cannot_be_followed(clock, make_order):
    make_order(id=A, referans=None)
    with pytest.raises(CommandError) as error:
        run("order_monitor_check", str(A))
    assert str(error.value) == (
        "Order 00000000-0000-0000-0000-000000000001 is not followed and cannot be: no provider reference."
    )


def test_check_refuses_an_order_that_already_ended(clock, make_order):
    make_order(id=A)
    MonitoredOrder.objects.filter(order_id=A).update(state="completed", finished_at=START)
    with pytest.raises(CommandError) as error:
        run("order_monitor_check", str(A))
    assert str(error.value) == (
        "Order 00000000-0000-0000-0000-000000000001 is not followed any more (completed since "
        "2026-11-01 12:00:00 UTC); nothing was checked."
    )


@pytest.fixture
def sweep_work(clock, make_order):
    """One dispatched order nobody follows, one sweep-driven order due now."""
    missed = make_order(id=A, external_status="not_sent")
    ProductOrder.objects.filter(pk=missed.pk).update(external_status="sent")
    make_order(id=B)
    due = MonitoredOrder.objects.get(order_id=B)
    MonitoredOrder.objects.filter(pk=due.pk).update(next_check_by="sweep", next_check_at=START - MINUTE)
    return due


def test_sweep_dry_run_changes_nothing(sweep_work, queue):
    assert run("order_monitor_sweep", "--dry-run") == (
        "Dry run: would start following 1 dispatched order nobody followed: 00000000-0000-0000-0000-000000000001\n"
        f"Dry run: would enqueue 1 due check (monitored orders {sweep_work.pk})\n"
    )
    assert not MonitoredOrder.objects.filter(order_id=A).exists()
    assert queue.huey.pending_count() == 0


def test_sweep_follows_and_enqueues_then_has_nothing_to_do(sweep_work, queue):
    assert run("order_monitor_sweep") == (
        "Started following 1 dispatched order nobody followed: 00000000-0000-0000-0000-000000000001\n"
        f"Enqueued 1 due check (monitored orders {sweep_work.pk})\n"
    )
    assert MonitoredOrder.objects.filter(order_id=A).exists()
    assert [t.name for t in queue.huey.pending()] == ["order_monitor.check_order"]
    assert run("order_monitor_sweep") == "Nothing to do: no unfollowed dispatched orders, no checks due.\n"


def test_sweep_limit_and_json(sweep_work):
    data = json.loads(run("order_monitor_sweep", "--limit", "1", "--dry-run", "--json"))
    assert data == {"dry_run": True, "discovered_orders": [str(A)], "enqueued_monitored_orders": [sweep_work.pk]}
    with pytest.raises(CommandError, match="--limit must be 1 or more."):
        run("order_monitor_sweep", "--limit", "0")


def test_sweep_of_one_provider_enqueues_only_its_checks(sweep_work, settings):
    settings.ORDER_MONITOR_PROVIDERS = {**settings.ORDER_MONITOR_PROVIDERS, "other": {
        "ADAPTER": "django_order_monitor.testing.memory.InMemoryProvider"}}
    assert run("order_monitor_sweep", "--provider", "other") == (
        "Nothing to do: no unfollowed dispatched orders, no checks due.\n"
    )
    assert run("order_monitor_sweep", "--provider", "memory") == (
        f"Enqueued 1 due check (monitored orders {sweep_work.pk})\n"
    )
    assert not MonitoredOrder.objects.filter(order_id=A).exists()  # discovery waits for the full sweep
    with pytest.raises(CommandError) as error:
        run("order_monitor_sweep", "--provider", "znet")
    assert str(error.value) == "Unknown provider 'znet'; ORDER_MONITOR_PROVIDERS has: memory, other."


def test_sweep_refuses_to_run_while_disabled(sweep_work, settings):
    settings.ORDER_MONITOR_ENABLED = False
    with pytest.raises(CommandError) as error:
        run("order_monitor_sweep")
    assert str(error.value) == (
        "Monitoring is disabled (ORDER_MONITOR_ENABLED = False); use --dry-run to see what a sweep would do."
    )


def header(external="sent", reference="REF-A", dispatched="2026-11-01 12:00:00 UTC"):
    return (
        "Order 00000000-0000-0000-0000-000000000001\n"
        f"  external status: {external}\n"
        f"  reference: {reference}\n"
        "  provider: memory\n"
        f"  dispatched at: {dispatched}\n"
    )


def test_explain_a_followed_order(clock, make_order):
    make_order(id=A, referans="REF-A")
    clock.shift(dt.timedelta(seconds=10))
    assert run("order_monitor_explain", str(A)) == header() + (
        "Followed: watching.\n"
        "  next check at 2026-11-01 12:01:00 UTC (in 50 s) by a chained task\n"
        "  deadline 2026-11-02 12:00:00 UTC (in 23 h 59 min)\n"
        "  answered checks: 0 (quick attempts: 20); failed queries: 0 (0 in a row)\n"
        "  not checked yet\n"
    )


def test_explain_a_leased_overdue_order_past_its_deadline(clock, make_order):
    make_order(id=A, referans="REF-A")
    MonitoredOrder.objects.filter(order_id=A).update(
        deadline_at=START + MINUTE,
        lease_until=START + 30 * MINUTE,
        lease_token="t",
        last_checked_at=START + 2 * MINUTE,
        last_outcome="transport_error",
        failed_checks=4,
        consecutive_failed_checks=4,
        last_error="ProviderTimeout: znet: read timeout after 20s",
    )
    clock.shift(dt.timedelta(minutes=20))
    assert run("order_monitor_explain", str(A)) == header() + (
        "Followed: watching.\n"
        "  leased until 2026-11-01 12:30:00 UTC: a worker is checking it now\n"
        "  next check at 2026-11-01 12:01:00 UTC (19 min ago) by a chained task\n"
        "  past the deadline since 2026-11-01 12:01:00 UTC: waiting for a final answer\n"
        "  answered checks: 0 (quick attempts: 20); failed queries: 4 (4 in a row)\n"
        "  last check at 2026-11-01 12:02:00 UTC: transport_error\n"
        "  last error: ProviderTimeout: znet: read timeout after 20s\n"
    )


def test_explain_flags_an_overdue_check(clock, make_order):
    make_order(id=A, referans="REF-A")
    clock.shift(dt.timedelta(minutes=30))
    assert "(29 min ago) by a chained task (OVERDUE: is the Huey consumer running?)\n" in run("order_monitor_explain", str(A))


def test_explain_a_stopped_order(clock, make_order):
    make_order(id=A, referans="REF-A")
    MonitoredOrder.objects.filter(order_id=A).update(state="stopped", stop_reason="customer cancelled", finished_at=START)
    assert run("order_monitor_explain", str(A)) == header() + (
        "Not followed any more: stopped at 2026-11-01 12:00:00 UTC with reason 'customer cancelled'.\n"
    )


def test_explain_a_completed_order(clock, make_order):
    make_order(id=A, referans="REF-A")
    MonitoredOrder.objects.filter(order_id=A).update(
        state="completed", finished_at=START + 90 * dt.timedelta(seconds=1), last_message="İşlem tamamlandı"
    )
    assert run("order_monitor_explain", str(A)) == header() + (
        "Not followed any more: completed at 2026-11-01 12:01:30 UTC.\n"
        "  time to PIN: 1 min 30 s\n"
        "  last message: İşlem tamamlandı\n"
    )


@pytest.mark.parametrize(
    ("fields", "verdict"),
    [
        ({"external_status": "not_sent"}, "Not followed: not dispatched (external status 'not_sent')."),
        ({"referans": None}, "Not followed: no provider reference."),
    ],
)
def test_explain_why_an_order_is_not_followed(clock, make_order, fields, verdict):
    make_order(id=A, **{"referans": "REF-A", **fields})
    external = fields.get("external_status", "sent")
    reference = "–" if fields.get("referans", "REF-A") is None else "REF-A"
    assert run("order_monitor_explain", str(A)) == header(external, reference) + verdict + "\n"


def test_explain_an_order_the_sweep_will_pick_up_or_leave_alone(clock, make_order):
    order = make_order(id=A, external_status="not_sent", referans="REF-A")
    ProductOrder.objects.filter(pk=order.pk).update(external_status="sent")
    assert run("order_monitor_explain", str(A)).endswith(
        "Not followed yet: dispatched with a reference; the next sweep will start following it.\n"
    )
    ProductOrder.objects.filter(pk=order.pk).update(sent_at=START - dt.timedelta(days=3))
    assert run("order_monitor_explain", str(A)).endswith(
        "Not followed: dispatched at 2026-10-29 12:00:00 UTC, before the deadline window; "
        "the sweep leaves it alone (use the admin's check now to follow it).\n"
    )


def test_explain_json(clock, make_order):
    make_order(id=A, referans=None)
    assert json.loads(run("order_monitor_explain", str(A), "--json")) == {
        "order": str(A),
        "followed": False,
        "verdict": "Not followed: no provider reference.",
        "details": [],
        "external_status": "sent",
        "reference": None,
        "provider": "memory",
        "dispatched_at": "2026-11-01T12:00:00+00:00",
        "state": None,
    }


def test_explain_rejects_an_unknown_order(clock, db):
    with pytest.raises(CommandError, match="No order with id 00000000-0000-0000-0000-000000000001 in testapp.ProductOrder."):
        run("order_monitor_explain", str(A))


# -- verbosity, JSON errors and exit codes (docs/operators.rst, "Exit codes") ---------------------


def quiet(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, verbosity=0, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_verbosity_0_prints_nothing_but_the_work_is_done(sweep_work, queue):
    assert quiet("order_monitor_sweep") == ""
    assert MonitoredOrder.objects.filter(order_id=A).exists()
    assert [t.name for t in queue.huey.pending()] == ["order_monitor.check_order"]
    assert quiet("order_monitor_status") == ""
    assert quiet("order_monitor_explain", str(A)) == ""
    assert quiet("order_monitor_check", str(A)) == ""
    assert quiet("order_monitor_shadow_report") == ""
    assert StatusCheck.objects.filter(monitored_order__order_id=A).count() == 1


def test_verbosity_0_still_prints_the_json_that_was_asked_for(sweep_work):
    assert json.loads(quiet("order_monitor_sweep", "--dry-run", "--json"))["discovered_orders"] == [str(A)]


@pytest.mark.parametrize(
    ("args", "error", "code", "exit_code"),
    [
        (["order_monitor_check", str(E)], "No order with id 00000000-0000-0000-0000-000000000005 in testapp.ProductOrder.",
         "unknown_order", 1),
        (["order_monitor_explain", "42"], "'42' is not an order id: testapp.ProductOrder ids look like "
         "123e4567-e89b-12d3-a456-426614174000.", "invalid_order_id", 2),
        (["order_monitor_sweep", "--limit", "0"], "--limit must be 1 or more.", "invalid_limit", 2),
        (["order_monitor_sweep", "--provider", "znet"], "Unknown provider 'znet'; ORDER_MONITOR_PROVIDERS has: memory.",
         "unknown_provider", 2),
        (["order_monitor_shadow_report", "--limit", "0"], "--limit must be at least 1.", "invalid_limit", 2),
        (["order_monitor_prune"], "ORDER_MONITOR_RETENTION is None: everything is kept. Set it (seconds, e.g. "
         "2592000 for 30 days).", "retention_disabled", 1),
    ],
    ids=["unknown-order", "not-an-id", "bad-limit", "unknown-provider", "shadow-bad-limit", "prune-without-retention"],
)
def test_json_errors_are_json_on_stdout(clock, db, args, error, code, exit_code):
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(*args, "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"error": error, "code": code, "exit_code": exit_code}
    assert (raised.value.code, raised.value.returncode) == (code, exit_code)


def test_json_error_of_an_order_that_already_ended(clock, make_order):
    make_order(id=A)
    MonitoredOrder.objects.filter(order_id=A).update(state="completed", finished_at=START)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("order_monitor_check", str(A), "--json", stdout=out)
    assert json.loads(out.getvalue())["code"] == "not_followed"


@pytest.fixture
def manage(tmp_path):
    """``manage.py`` (``python -m django``) on the test settings, in a fresh process on a migrated SQLite file."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "ORDER_MONITOR_TEST_SQLITE": str(tmp_path / "db.sqlite3"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }

    def run_manage(*args):
        return subprocess.run(
            [sys.executable, "-m", "django", *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    migrated = run_manage("migrate", "--run-syncdb", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    return run_manage


@pytest.mark.slow
def test_manage_py_exit_codes_and_json_errors(manage):
    missing = "No order with id 00000000-0000-0000-0000-000000000005 in testapp.ProductOrder."
    done = manage("order_monitor_check", str(E), "--json")
    assert (done.returncode, done.stderr) == (1, "")
    assert json.loads(done.stdout) == {"error": missing, "code": "unknown_order", "exit_code": 1}

    done = manage("order_monitor_check", str(E))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"CommandError: {missing}\n"

    # argparse's own errors: usage text on stderr, or the JSON error under --json; exit status 2 both ways.
    done = manage("order_monitor_sweep", "--limit", "many", "--json")
    assert (done.returncode, done.stderr) == (2, "")
    assert json.loads(done.stdout) == {
        "error": "Error: argument --limit: invalid int value: 'many'", "code": "usage", "exit_code": 2,
    }
    done = manage("order_monitor_sweep", "--limit", "many")
    assert (done.returncode, done.stdout) == (2, "")
    assert "invalid int value: 'many'" in done.stderr

    done = manage("order_monitor_sweep", "-v", "0")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    done = manage("order_monitor_status", "-v", "0", "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["watching"] == 0


def test_status_fail_on_with_json_prints_one_document_and_fails(history):
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("order_monitor_status", "--json", "--fail-on", "overdue", stdout=out)
    data = json.loads(out.getvalue())  # one document: the figures and their health, no error after them
    assert data["overdue"] == 1
    assert (raised.value.code, raised.value.returncode) == ("problems", 1)


@pytest.mark.slow
def test_status_watch_redraws_in_place_on_a_terminal_until_ctrl_c(manage, tmp_path):
    import pty
    import signal
    import time as wall

    manage("order_monitor_status")  # the database is migrated
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "ORDER_MONITOR_TEST_SQLITE": str(tmp_path / "db.sqlite3"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    leader, follower = pty.openpty()  # a terminal, as an operator's
    process = subprocess.Popen(
        [sys.executable, "-m", "django", "order_monitor_status", "--watch", "0.3"],
        env=env, cwd=tmp_path, stdout=follower, stderr=subprocess.PIPE,
    )
    os.close(follower)
    output = b""
    deadline = wall.monotonic() + 60
    while output.count(b"Order monitor status at") < 3 and wall.monotonic() < deadline:
        output += os.read(leader, 65536)
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=30)
    errors = process.stderr.read()
    process.stderr.close()
    os.close(leader)
    assert code == 0, errors
    text = output.decode()
    # Each frame starts by homing the cursor and clearing the screen, then the same figures.
    frames = text.split("\x1b[H\x1b[2J")[1:]
    assert len(frames) >= 3
    assert all(frame.lstrip().startswith("Order monitor status at") for frame in frames)
    assert "Refreshed every 0.3 s; Ctrl-C stops." in frames[0]


def test_status_watch_refuses_json_and_a_zero_interval():
    out = StringIO()
    with pytest.raises(CommandError, match="does not combine with --json"):
        call_command("order_monitor_status", "--watch", "--json", stdout=out)
    with pytest.raises(CommandError, match="needs a number of seconds above 0"):
        call_command("order_monitor_status", "--watch", "0")
