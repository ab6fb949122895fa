"""Following an order through Huey: backoff, write-back, errors, deadline."""

import datetime as dt

import pytest

from django_order_monitor import signals
from django_order_monitor.engine.pipeline import check_order
from django_order_monitor.exceptions import ProviderTimeout
from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.providers.adapters.base import Outcome, StatusResult
from django_order_monitor.testing import memory
from tests import hooks
from tests.conftest import START
from tests.testapp.models import ProductOrder

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_jitter(settings):
    settings.ORDER_MONITOR_BACKOFF_JITTER = 0
    hooks.terminal_calls.clear()


def check_times(entry):
    return [c.checked_at - START for c in StatusCheck.objects.filter(monitored_order=entry).order_by("checked_at")]


def test_checks_follow_the_seed_backoff(clock, queue, make_order):
    order = make_order()
    queue.run_until(START + dt.timedelta(minutes=20))
    entry = MonitoredOrder.objects.get(order=order)
    seconds = [t.total_seconds() for t in check_times(entry)]
    # First check 60 s after dispatch, then 30, 60, 120, 240, 480 s apart.
    assert seconds == [60, 90, 150, 270, 510, 990]
    assert entry.answered_checks == 6
    assert entry.state == "watching"


def test_completion_writes_pin_and_statuses_once(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.record_terminal"
    received = []
    signals.order_completed.connect(lambda **kw: received.append(kw["transition"]), weak=False)
    order = make_order(referans="R-1")
    queue.run_until(START + dt.timedelta(seconds=100))
    memory.complete("R-1", pin="AB12-CD34-EF56-GH78", message="İşlem tamamlandı|kanal 2")
    queue.run_until(START + dt.timedelta(hours=30))

    order.refresh_from_db()
    assert order.pin_code == "AB12-CD34-EF56-GH78"
    assert order.status == "approved"
    assert order.external_status == "done"
    assert order.provider_message == "İşlem tamamlandı|kanal 2"
    # Third check at 150 s found it.
    assert order.completed_at == START + dt.timedelta(seconds=150)
    assert order.last_sync_at == order.completed_at
    assert order.duration_ms == 150_000
    entry = MonitoredOrder.objects.get(order=order)
    assert entry.state == "completed"
    assert entry.next_check_at is None
    # No check after the terminal one, and the callback and signal ran once.
    assert len(check_times(entry)) == 3
    assert [(t.order_pk, t.outcome, t.internal_status) for t in hooks.terminal_calls] == [(order.pk, "completed", "approved")]
    assert [t.outcome for t in received] == ["completed"]
    signals.order_completed.receivers.clear()


def test_provider_failure_rejects_the_order(clock, queue, make_order):
    order = make_order(referans="R-2")
    memory.fail("R-2", message="İptal edildi")
    queue.run_until(START + dt.timedelta(minutes=5))
    order.refresh_from_db()
    assert (order.status, order.external_status, order.pin_code) == ("rejected", "failed", None)
    assert MonitoredOrder.objects.get(order=order).state == "failed"


def test_processing_answer_syncs_without_touching_the_pin(clock, queue, make_order):
    order = make_order(referans="R-3", external_status="sent")
    memory.set_answer("R-3", StatusResult(Outcome.PROCESSING, pin=" - ", message="İşlem bekleniyor", provider_status="1"))
    queue.run_until(START + dt.timedelta(seconds=61))
    order.refresh_from_db()
    assert order.pin_code is None
    assert order.status == "pending"
    assert order.external_status == "processing"
    assert order.provider_message == "İşlem bekleniyor"
    assert order.last_sync_at == START + dt.timedelta(seconds=60)


def test_failed_queries_are_recorded_and_retried_without_using_attempts(clock, queue, make_order):
    order = make_order(referans="R-4")
    memory.set_answer("R-4", ProviderTimeout("znet: read timeout after 20s on servis/pin_kontrol.php", provider="memory"))
    queue.run_until(START + dt.timedelta(minutes=10))
    entry = MonitoredOrder.objects.get(order=order)
    order.refresh_from_db()
    assert order.status == "pending" and order.external_status == "sent"
    assert entry.state == "watching"
    assert entry.answered_checks == 0
    assert entry.consecutive_failed_checks == entry.failed_checks == 5
    assert "read timeout" in entry.last_error
    assert set(StatusCheck.objects.filter(monitored_order=entry).values_list("result", flat=True)) == {"transport_error"}

    memory.set_answer("R-4", StatusResult.query_error("3|Sistem meşgul", provider_status="3"))
    queue.run_until(START + dt.timedelta(minutes=30))
    entry.refresh_from_db()
    assert entry.answered_checks == 0 and entry.state == "watching"
    assert StatusCheck.objects.filter(monitored_order=entry, result="query_error").exists()

    memory.complete("R-4", pin="PIN-4")
    queue.run_until(START + dt.timedelta(hours=2))
    order.refresh_from_db()
    assert order.pin_code == "PIN-4"


def test_after_quick_attempts_the_sweep_drives_the_checks(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_QUICK_ATTEMPTS = 3
    order = make_order()
    queue.run_until(START + dt.timedelta(hours=1))
    entry = MonitoredOrder.objects.get(order=order)
    assert entry.answered_checks == 3
    assert entry.next_check_by == "sweep"
    assert queue.huey.scheduled_count() == 0  # no chain left; the sweep owns it
    assert entry.next_check_at == START + dt.timedelta(seconds=150 + 300)


def test_deadline_final_check_then_timeout_fails_once(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.record_terminal"
    settings.ORDER_MONITOR_DEADLINE = 600
    order = make_order(referans="R-5")
    queue.run_until(START + dt.timedelta(hours=1))
    entry = MonitoredOrder.objects.get(order=order)
    order.refresh_from_db()
    assert entry.state == "timed_out"
    assert (order.status, order.external_status) == ("rejected", "failed")
    # The last check ran at the deadline exactly, then nothing more.
    assert check_times(entry)[-1] == dt.timedelta(seconds=600)
    assert [t.outcome for t in hooks.terminal_calls] == ["timed_out"]


def test_final_check_answered_completed_wins_over_timeout(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_DEADLINE = 600
    order = make_order(referans="R-6")
    queue.run_until(START + dt.timedelta(seconds=599))
    memory.complete("R-6", pin="LATE-PIN")
    queue.run_until(START + dt.timedelta(hours=1))
    order.refresh_from_db()
    assert order.status == "approved" and order.pin_code == "LATE-PIN"


def test_provider_down_at_the_deadline_does_not_time_out_within_grace(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_DEADLINE = 600
    settings.ORDER_MONITOR_FINAL_CHECK_GRACE = 1800
    order = make_order(referans="R-7")
    queue.run_until(START + dt.timedelta(seconds=590))
    memory.set_answer("R-7", ProviderTimeout("znet: connect timeout", provider="memory"))
    queue.run_until(START + dt.timedelta(seconds=600 + 1700))
    assert MonitoredOrder.objects.get(order=order).state == "watching"
    memory.complete("R-7", pin="P7")
    queue.run_until(START + dt.timedelta(seconds=600 + 3600))
    order.refresh_from_db()
    assert order.status == "approved"


def test_timeout_action_stop_leaves_the_order_for_a_human(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.record_terminal"
    settings.ORDER_MONITOR_DEADLINE = 300
    settings.ORDER_MONITOR_TIMEOUT_ACTION = "stop"
    order = make_order()
    queue.run_until(START + dt.timedelta(hours=1))
    order.refresh_from_db()
    entry = MonitoredOrder.objects.get(order=order)
    assert entry.state == "stopped" and entry.stop_reason == "deadline passed"
    assert (order.status, order.external_status) == ("pending", "processing")
    assert hooks.terminal_calls == []


def test_late_and_duplicate_tasks_are_harmless(clock, queue, make_order):
    order = make_order()
    entry = MonitoredOrder.objects.get(order=order)
    # Five copies of the same check (a replayed or duplicated message).
    for _ in range(5):
        queue.huey.enqueue(__import__("django_order_monitor.tasks", fromlist=["x"]).check_order.s(entry.pk))
    clock.move_to(START + dt.timedelta(seconds=61))
    queue.run_pending()
    queue.run_until(START + dt.timedelta(seconds=61))  # the original first-check task, due as well
    assert StatusCheck.objects.filter(monitored_order=entry).count() == 1
    # Only one chain continues.
    assert queue.huey.scheduled_count() == 1


def test_order_ended_by_the_shop_stops_monitoring(clock, queue, make_order):
    order = make_order()
    ProductOrder.objects.filter(pk=order.pk).update(status="approved")
    queue.run_until(START + dt.timedelta(minutes=5))
    entry = MonitoredOrder.objects.get(order=order)
    assert entry.state == "stopped"
    assert entry.stop_reason == "the order ended outside the monitor"
    assert StatusCheck.objects.count() == 0


def test_deleted_order_stops_monitoring(clock, queue, make_order):
    order = make_order()
    ProductOrder.objects.filter(pk=order.pk).delete()
    queue.run_until(START + dt.timedelta(minutes=5))
    assert MonitoredOrder.objects.get().state == "stopped"


def test_failing_terminal_callback_rolls_back_and_retries(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.failing_terminal"
    order = make_order(referans="R-8")
    memory.complete("R-8", pin="P8")
    clock.move_to(START + dt.timedelta(seconds=61))
    report = check_order(MonitoredOrder.objects.get().pk)
    order.refresh_from_db()
    entry = MonitoredOrder.objects.get()
    # Nothing half-applied: the order has no PIN, the ledger is still watching and unleased,
    # and the failure is a failed check with its backoff, like a failed query.
    assert (order.pin_code, order.status, entry.state, entry.lease_token) == (None, "pending", "watching", "")
    assert (report.result, entry.consecutive_failed_checks, entry.last_outcome) == ("internal_error", 1, "internal_error")
    assert entry.last_error.startswith("internal error: RuntimeError at hooks.py:")
    assert list(entry.checks.values_list("result", flat=True)) == ["internal_error", "completed"]
    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.record_terminal"
    clock.move_to(entry.next_check_at)
    assert check_order(entry.pk).state == "completed"
    order.refresh_from_db()
    assert order.pin_code == "P8"
