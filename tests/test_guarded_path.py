"""The one guarded path: whoever brings an answer, the shop's decision wins and a PIN is never lost.

Each test is a defect an outside review reproduced (issue "One guarded path"), driven
through what a user touches: the Huey tasks run by the queue, the push URL, the admin.
"""

import datetime as dt
import io
import json
import logging
import time

import pytest
from django.core.management import call_command

from django_order_monitor import signals
from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.providers.adapters.base import Outcome, StatusResult
from django_order_monitor.push import sign
from django_order_monitor.testing import memory
from tests import hooks
from tests.conftest import START
from tests.testapp.models import ProductOrder, TerminalEvent

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "cb-secret-guard"
MEMORY = {"ADAPTER": "django_order_monitor.testing.memory.InMemoryProvider", "CALLBACK_SECRET": SECRET}


@pytest.fixture(autouse=True)
def _shop(settings):
    settings.ORDER_MONITOR_BACKOFF_JITTER = 0
    settings.ORDER_MONITOR_PROVIDERS = {"memory": MEMORY}
    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.store_terminal"
    hooks.late_completions.clear()
    yield
    TerminalEvent.objects.all().delete()


def push(client, payload):
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    return client.post(
        "/order-monitor/callback/memory/",
        data=body,
        content_type="application/json",
        headers={"X-Order-Monitor-Timestamp": timestamp, "X-Order-Monitor-Signature": sign(SECRET, timestamp, body)},
    )


def events(order):
    return sorted(TerminalEvent.objects.filter(order_id=order.pk).values_list("outcome", "source"))


def client_as_admin():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username="ops", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    return client


# -- 0. the shop's own status service performs the transition ------------------------------------


@pytest.fixture
def status_service(settings):
    settings.ORDER_MONITOR_TRANSITION_HANDLER = "tests.hooks.status_service"
    settings.ORDER_MONITOR_TERMINAL_CALLBACK = None


@pytest.mark.parametrize(
    ("answer", "status", "external", "event"),
    [
        (StatusResult(Outcome.COMPLETED, pin="SVC-PIN-1", provider_status="2"), "approved", "done", "approval_date"),
        (StatusResult(Outcome.FAILED, message="iptal", provider_status="3"), "rejected", "failed", "refund"),
    ],
)
def test_the_shops_status_service_sees_the_change_and_acts_once(clock, queue, make_order, status_service, answer, status, external, event):
    order = make_order(referans="SVC-1")
    memory.set_answer("SVC-1", answer)
    queue.run_until(START + dt.timedelta(hours=1))
    order.refresh_from_db()
    assert (order.status, order.external_status, order.pin_code) == (status, external, answer.pin)
    assert events(order) == [(event, "poll")]


def test_the_status_service_refunds_a_timed_out_order(clock, queue, make_order, status_service, settings):
    settings.ORDER_MONITOR_DEADLINE = 600
    settings.ORDER_MONITOR_FINAL_CHECK_GRACE = 60
    order = make_order(referans="SVC-2")
    queue.run_until(START + dt.timedelta(hours=1))
    order.refresh_from_db()
    assert (order.status, order.external_status) == ("rejected", "failed")
    assert MonitoredOrder.objects.get(order=order).state == "timed_out"
    assert events(order) == [("refund", "deadline")]


def test_the_status_service_refunds_an_order_failed_in_the_admin(clock, make_order, status_service, admin_client):
    order = make_order(referans="SVC-3")
    entry = MonitoredOrder.objects.get(order=order)
    response = admin_client.post(
        "/admin/order_monitor/monitoredorder/",
        {"action": "monitor_mark_failed", "_selected_action": [str(entry.pk)], "post": "yes", "reason": "customer asked"},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.external_status) == ("rejected", "failed")
    assert events(order) == [("refund", "admin")]


# -- 1. the shop's decision wins over a later answer --------------------------------------------


def test_a_completion_never_overwrites_an_order_the_shop_rejected_while_it_was_asked(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_PROVIDERS = {"memory": {"ADAPTER": "tests.adapters_for_tests.ShopRejectsWhileAsked"}}
    settings.ORDER_MONITOR_LATE_COMPLETION_HANDLER = "tests.hooks.record_late_completion"
    order = make_order(referans="RACE-1")
    memory.complete("RACE-1", pin="RACE-PIN-1")
    queue.run_until(START + dt.timedelta(hours=1))

    order.refresh_from_db()
    assert (order.status, order.external_status, order.pin_code) == ("rejected", "failed", None)
    # Only the shop's refund: no monitor callback, so no PIN delivered on top of it.
    assert events(order) == [("refund", "shop")]
    entry = MonitoredOrder.objects.get(order=order)
    assert (entry.state, entry.stop_reason) == ("stopped", "the order ended outside the monitor")
    # The provider's answer stays in the history, without its PIN; the shop is told of the PIN.
    assert list(entry.checks.values_list("result", "provider_status")) == [("completed", "2")]
    assert "RACE-PIN-1" not in json.dumps(list(entry.checks.values()), default=str)
    assert [(late.order_pk, late.pin) for late in hooks.late_completions] == [(order.pk, "RACE-PIN-1")]


def test_a_push_never_completes_an_order_the_shop_already_rejected(client, make_order, settings):
    settings.ORDER_MONITOR_LATE_COMPLETION_HANDLER = "tests.hooks.record_late_completion"
    order = make_order(referans="RACE-2")
    ProductOrder.objects.filter(pk=order.pk).update(status="rejected")
    response = push(client, {"referans": "RACE-2", "status": "completed", "pin": "RACE-PIN-2"})
    assert response.status_code == 200
    assert response.json()["applied"] is False
    order.refresh_from_db()
    assert (order.status, order.pin_code) == ("rejected", None)
    assert events(order) == []
    assert [late.pin for late in hooks.late_completions] == ["RACE-PIN-2"]


# -- 2, 3. a completion needs a real PIN, stored exactly as delivered ---------------------------


@pytest.mark.parametrize(
    "pin",
    [
        " - ",
        "",
        "A" * 121,  # longer than the shop's column (120): never cut
        "AB\x00CD",
        "AB\u200bCD",  # a zero-width (format) character
        "AB\ufffdCD",  # bytes a decoder could not read
    ],
)
def test_a_completion_without_a_storable_pin_is_a_failed_query(clock, queue, make_order, pin):
    order = make_order(referans="PIN-1")
    memory.complete("PIN-1", pin=pin)
    queue.run_until(START + dt.timedelta(seconds=61))
    order.refresh_from_db()
    assert (order.status, order.pin_code) == ("pending", None)
    entry = MonitoredOrder.objects.get(order=order)
    assert entry.state == "watching"
    check = entry.checks.get()
    assert check.result == "query_error"
    assert check.message.startswith("query error: completion refused: ")
    assert (entry.consecutive_failed_checks, entry.answered_checks) == (1, 0)


def test_a_pin_of_the_columns_full_length_is_stored_unchanged(clock, queue, make_order):
    order = make_order(referans="PIN-2")
    pin = "Ç" * 60 + "9" * 60
    memory.complete("PIN-2", pin=pin, message=f"your code is {pin}")
    queue.run_until(START + dt.timedelta(seconds=61))
    order.refresh_from_db()
    assert order.pin_code == pin
    entry = MonitoredOrder.objects.get(order=order)
    assert pin not in entry.last_message and pin not in entry.checks.get().message


# -- 5. a completion after the monitor's own timeout ------------------------------------------


def test_a_completion_after_the_timeout_reaches_the_shop_and_is_counted(clock, queue, make_order, settings, client):
    settings.ORDER_MONITOR_DEADLINE = 600
    settings.ORDER_MONITOR_FINAL_CHECK_GRACE = 60
    settings.ORDER_MONITOR_LATE_COMPLETION_HANDLER = "tests.hooks.record_late_completion"
    received = []
    signals.order_late_completion.connect(lambda **kw: received.append(kw["late"]), weak=False)
    try:
        order = make_order(referans="LATE-1")
        queue.run_until(START + dt.timedelta(hours=1))
        assert MonitoredOrder.objects.get(order=order).state == "timed_out"
        clock.move_to(dt.datetime.now(dt.timezone.utc))  # the push is signed with the real time
        response = push(client, {"referans": "LATE-1", "status": "completed", "pin": "LATE-PIN-1"})
    finally:
        signals.order_late_completion.receivers.clear()
    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.status, order.pin_code) == ("rejected", None)  # the refund stands
    assert events(order) == [("timed_out", "deadline")]
    assert [(late.order_pk, late.ended_as, late.pin) for late in hooks.late_completions] == [(order.pk, "timed_out", "LATE-PIN-1")]
    assert [(late.order_pk, late.pin) for late in received] == [(order.pk, None)]
    entry = MonitoredOrder.objects.get(order=order)
    assert entry.late_completed_at is not None
    assert "LATE-PIN-1" not in json.dumps([entry.last_message, *entry.checks.values_list("message", flat=True)])
    # A second copy of the answer tells the shop nothing new.
    response = push(client, {"referans": "LATE-1", "status": "completed", "pin": "LATE-PIN-1", "message": "again"})
    assert len(hooks.late_completions) == 1
    # Operators see it counted: the ledger's filter, the dashboard, the status command.
    listed = client_as_admin().get("/admin/order_monitor/monitoredorder/?late=yes").content.decode()
    assert str(order.pk) in listed and "completed after it ended" in listed
    dashboard = client_as_admin().get("/admin/order_monitor/monitoredorder/dashboard/").content.decode()
    assert 'id="om-late"' in dashboard and '<span class="om-figure">1</span><span class="om-label">completed after' in dashboard
    out = io.StringIO()
    call_command("order_monitor_status", stdout=out)
    assert "Completed at the provider after they had ended, last 24 h: 1 " in out.getvalue()


def test_a_late_completion_without_a_handler_is_logged_loudly(clock, queue, make_order, settings, client, caplog):
    settings.ORDER_MONITOR_DEADLINE = 600
    settings.ORDER_MONITOR_FINAL_CHECK_GRACE = 60
    order = make_order(referans="LATE-2")
    queue.run_until(START + dt.timedelta(hours=1))
    clock.move_to(dt.datetime.now(dt.timezone.utc))
    with caplog.at_level(logging.WARNING):
        push(client, {"referans": "LATE-2", "status": "completed", "pin": "LATE-PIN-2"})
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(str(order.pk) in w and "LATE_COMPLETION_HANDLER" in w for w in warnings)
    assert all("LATE-PIN-2" not in w for w in warnings)


# -- 6. every failure is a failed check, and the deadline still ends the order ----------------


def test_an_unexpected_error_is_a_failed_check_and_the_deadline_still_ends_the_order(clock, queue, make_order, settings, caplog):
    settings.ORDER_MONITOR_PROVIDERS = {"memory": {"ADAPTER": "tests.adapters_for_tests.NestedTooDeep"}}
    order = make_order(referans="BOOM-1")
    with caplog.at_level(logging.ERROR, logger="django_order_monitor"):
        queue.run_until(START + dt.timedelta(days=2))
    entry = MonitoredOrder.objects.get(order=order)
    assert entry.state == "timed_out"
    order.refresh_from_db()
    assert order.status == "rejected"
    results = set(entry.checks.values_list("result", flat=True))
    assert results == {"internal_error"}
    # Backed off like failed queries (at most one check per BACKOFF_MAX, where the defect looped
    # 576 times in two days), ended once the final-check grace ran out, logged once for the streak.
    assert entry.finished_at <= entry.deadline_at + dt.timedelta(hours=1, minutes=10)
    assert entry.checks.count() <= (25 * 3600) // 600 + 10
    logged = [r for r in caplog.records if "RecursionError" in r.getMessage()]
    assert len(logged) == 1


# -- 7, 8, 9. orders that never end, or never start --------------------------------------------


def test_an_order_dispatched_again_with_a_new_reference_is_followed_again(clock, queue, make_order):
    order = make_order(referans="OLD-1")
    memory.fail("OLD-1")
    queue.run_until(START + dt.timedelta(minutes=5))
    order.refresh_from_db()
    assert order.status == "rejected"
    # The shop sends it again, to the provider, with a new reference, through save().
    order.provider_referans, order.external_status, order.status = "NEW-1", "sent", "pending"
    order.save()
    memory.complete("NEW-1", pin="NEW-PIN-1")
    queue.run_until(START + dt.timedelta(minutes=15))
    order.refresh_from_db()
    assert (order.status, order.pin_code) == ("approved", "NEW-PIN-1")
    entry = MonitoredOrder.objects.get(order=order)
    assert (entry.reference, entry.state) == ("NEW-1", "completed")


def test_the_sweep_finds_an_order_dispatched_again_with_update(clock, queue, make_order):
    order = make_order(referans="OLD-2")
    memory.fail("OLD-2")
    queue.run_until(START + dt.timedelta(minutes=5))
    ProductOrder.objects.filter(pk=order.pk).update(provider_referans="NEW-2", external_status="sent", status="pending")
    memory.complete("NEW-2", pin="NEW-PIN-2")
    call_command("order_monitor_sweep", stdout=io.StringIO())
    queue.run_until(START + dt.timedelta(minutes=30))
    order.refresh_from_db()
    assert (order.status, order.pin_code) == ("approved", "NEW-PIN-2")


def test_a_dispatch_time_in_the_future_does_not_put_off_the_checks(clock, queue, make_order):
    order = make_order(referans="FUT-1", sent_at=START + dt.timedelta(days=3))
    memory.complete("FUT-1", pin="FUT-PIN-1")
    queue.run_until(START + dt.timedelta(minutes=5))
    order.refresh_from_db()
    assert order.pin_code == "FUT-PIN-1"
    assert MonitoredOrder.objects.get(order=order).deadline_at == START + dt.timedelta(hours=24)


def test_stopping_during_a_check_frees_the_order_for_a_restart(clock, queue, make_order, admin_client):
    from django_order_monitor.engine import leases

    order = make_order(referans="STOP-1")
    entry = MonitoredOrder.objects.get(order=order)
    assert leases.claim(entry.pk, force=True) is not None  # a check is in flight
    ledger = "/admin/order_monitor/monitoredorder/"
    admin_client.post(ledger, {"action": "monitor_stop", "_selected_action": [entry.pk], "post": "yes", "reason": "x"})
    admin_client.post(ledger, {"action": "monitor_restart", "_selected_action": [entry.pk], "index": 0})
    entry.refresh_from_db()
    assert (entry.state, entry.lease_until) == ("watching", None)
    memory.complete("STOP-1", pin="STOP-PIN-1")
    queue.run_until(START + dt.timedelta(seconds=5))
    order.refresh_from_db()
    assert order.pin_code == "STOP-PIN-1"


# -- 16. the ledger's bookkeeping --------------------------------------------------------------


def test_the_ledger_keeps_the_final_provider_status_and_counts_the_answer(clock, queue, make_order):
    order = make_order(referans="BOOK-1")
    memory.complete("BOOK-1", pin="BOOK-PIN-1")
    queue.run_until(START + dt.timedelta(minutes=5))
    entry = MonitoredOrder.objects.get(order=order)
    assert (entry.state, entry.last_provider_status, entry.answered_checks, entry.last_outcome) == ("completed", "2", 1, "completed")
    assert entry.last_checked_at == START + dt.timedelta(seconds=60)


def test_a_provider_typo_in_start_monitoring_is_refused_at_once(make_order):
    from django_order_monitor import start_monitoring
    from django_order_monitor.exceptions import NotMonitorable

    order = make_order(referans=None)
    ProductOrder.objects.filter(pk=order.pk).update(provider_referans="TYPO-1")
    with pytest.raises(NotMonitorable, match="'memroy' is not in ORDER_MONITOR_PROVIDERS"):
        start_monitoring(order.pk, provider="memroy")
    assert not MonitoredOrder.objects.filter(order=order).exists()
    assert StatusCheck.objects.count() == 0


def test_naming_the_provider_never_lets_an_order_without_a_reference_through(make_order, settings):
    from django_order_monitor import start_monitoring
    from django_order_monitor.exceptions import NotMonitorable

    settings.ORDER_MONITOR_DEFAULT_PROVIDER = None
    order = make_order(referans=None)
    with pytest.raises(NotMonitorable, match="no provider reference"):
        start_monitoring(order.pk, provider="memory")
    assert not MonitoredOrder.objects.filter(order=order).exists()

    # With a reference, the named provider follows it even though nothing else names one.
    ProductOrder.objects.filter(pk=order.pk).update(provider_referans="NAMED-1")
    assert start_monitoring(order.pk, provider="memory").provider == "memory"


@pytest.mark.services
def test_on_postgresql_a_rejection_committing_during_the_terminal_write_wins(clock, queue, make_order, settings):
    from tests.adapters_for_tests import ShopRejectsConcurrently

    settings.ORDER_MONITOR_PROVIDERS = {"memory": {"ADAPTER": "tests.adapters_for_tests.ShopRejectsConcurrently"}}
    order = make_order(referans="RACE-PG-1")
    memory.complete("RACE-PG-1", pin="RACE-PG-PIN")
    queue.run_until(START + dt.timedelta(seconds=61))
    for thread in ShopRejectsConcurrently.threads:
        thread.join(10)
    ShopRejectsConcurrently.threads.clear()

    order.refresh_from_db()
    assert (order.status, order.external_status, order.pin_code) == ("rejected", "failed", None)
    assert events(order) == [("refund", "shop")]
    entry = MonitoredOrder.objects.get(order=order)
    assert (entry.state, entry.stop_reason) == ("stopped", "the order ended outside the monitor")
