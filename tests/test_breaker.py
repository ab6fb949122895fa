"""Provider outage: the circuit breaker pauses a failing provider, and no order fails."""

import datetime as dt

import pytest

from django_order_monitor.engine.pipeline import check_order
from django_order_monitor.exceptions import ProviderConnectionError
from django_order_monitor.models import MonitoredOrder, ProviderHealth, StatusCheck
from django_order_monitor.testing import memory
from tests.conftest import START

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _breaker(settings):
    settings.ORDER_MONITOR_BREAKER_THRESHOLD = 3
    settings.ORDER_MONITOR_BREAKER_COOLDOWN = 60


def down(referanslar):
    for ref in referanslar:
        memory.set_answer(ref, ProviderConnectionError("memory: connection refused", provider="memory"))


def test_repeated_transport_failures_pause_the_provider(clock, queue, make_order):
    orders = [make_order(referans=f"B{n}") for n in range(6)]
    down(o.provider_referans for o in orders)
    clock.move_to(START + dt.timedelta(seconds=70))
    reports = [check_order(MonitoredOrder.objects.get(order=o).pk) for o in orders]

    health = ProviderHealth.objects.get(provider="memory")
    assert health.consecutive_failures == 3
    assert health.paused_until == START + dt.timedelta(seconds=130)
    assert health.times_paused == 1
    # Three calls failed; the other three orders were deferred without a call.
    assert StatusCheck.objects.count() == 3
    assert [r.ran for r in reports] == [True, True, True, False, False, False]
    assert all(r.skipped_reason.startswith("deferred: provider memory paused until") for r in reports[3:])
    deferred = MonitoredOrder.objects.filter(order__in=orders[3:])
    assert all(e.answered_checks == 0 and e.consecutive_failed_checks == 0 and e.failed_checks == 0 for e in deferred)
    assert all(START + dt.timedelta(seconds=130) <= e.next_check_at <= START + dt.timedelta(seconds=190) for e in deferred)


def test_one_failure_after_the_cool_down_pauses_again_one_success_closes(clock, queue, make_order):
    first, second = make_order(referans="H1"), make_order(referans="H2")
    down(["H1", "H2"])
    clock.move_to(START + dt.timedelta(seconds=70))
    for _ in range(3):
        MonitoredOrder.objects.filter(order=first).update(next_check_at=START)
        check_order(MonitoredOrder.objects.get(order=first).pk)
    assert ProviderHealth.objects.get().times_paused == 1

    clock.move_to(START + dt.timedelta(seconds=131))  # half-open
    MonitoredOrder.objects.filter(order=first).update(next_check_at=START)
    check_order(MonitoredOrder.objects.get(order=first).pk)
    health = ProviderHealth.objects.get()
    assert health.times_paused == 2 and health.paused_until == START + dt.timedelta(seconds=191)

    clock.move_to(START + dt.timedelta(seconds=192))
    memory.complete("H2", pin="P-H2")
    MonitoredOrder.objects.filter(order=second).update(next_check_at=START)
    assert check_order(MonitoredOrder.objects.get(order=second).pk).state == "completed"
    health.refresh_from_db()
    assert health.consecutive_failures == 0 and health.last_success_at is not None


def test_query_errors_do_not_trip_the_breaker(clock, queue, make_order):
    from django_order_monitor.providers.adapters.base import StatusResult

    orders = [make_order(referans=f"Q{n}") for n in range(5)]
    for order in orders:
        memory.set_answer(order.provider_referans, StatusResult.query_error("3|Sistem meşgul"))
    clock.move_to(START + dt.timedelta(seconds=70))
    for order in orders:
        check_order(MonitoredOrder.objects.get(order=order).pk)
    assert not ProviderHealth.objects.filter(paused_until__isnull=False).exists()
    assert StatusCheck.objects.filter(result="query_error").count() == 5


def test_a_ten_minute_outage_fails_no_order(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_BACKOFF_JITTER = 0
    orders = [make_order(referans=f"O{n}") for n in range(20)]
    down(o.provider_referans for o in orders)
    queue.run_until(START + dt.timedelta(minutes=10))
    calls_during_outage = sum(memory.calls.values())
    for order in orders:
        memory.complete(order.provider_referans, pin=f"PIN-{order.provider_referans}")
    queue.run_until(START + dt.timedelta(minutes=40))

    states = set(MonitoredOrder.objects.values_list("state", flat=True))
    assert states == {"completed"}
    for order in orders:
        order.refresh_from_db()
        assert order.pin_code == f"PIN-{order.provider_referans}"
    # Without the breaker each order would have been asked ~5 times in the outage (100 calls).
    assert calls_during_outage <= 25
    assert ProviderHealth.objects.get().times_paused >= 2
