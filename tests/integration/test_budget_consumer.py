"""A real consumer over its provider's call budget (PostgreSQL, Redis, ``run_huey``, a local znet).

More checks are due than 5 calls a second allow: the budget puts checks off
(no call, no history row), none in a tight loop, the provider never gets more
than its calls per second, and every order still ends as the provider decided.
"""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.testing import wait_until
from django_order_monitor.testing.fake_znet import FakeZnetServer
from tests.integration.consumers import Consumer, consumer_env
from tests.settings_consumer import COMPRESSED_POLICY, znet_providers
from tests.testapp.models import ProductOrder

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ORDERS = 120
PER_SECOND = 5
SHORTEST_PUT_OFF = 1.0
EXTRA = {
    "RATE_LIMIT": {"min_interval": 1 / PER_SECOND, "max_wait": 2},
    "BUDGET": {"MIN_DEFER": SHORTEST_PUT_OFF, "MAX_DEFER": 5},
}


@pytest.fixture
def fake(settings):
    with FakeZnetServer(seed=12, time_scale=60) as server:
        settings.ORDER_MONITOR_PROVIDERS = znet_providers(server.url)
        settings.ORDER_MONITOR_DEFAULT_PROVIDER = "znet"
        for name, value in COMPRESSED_POLICY.items():
            setattr(settings, "ORDER_MONITOR_" + name, value)
        yield server
    ProductOrder.objects.all().delete()


def most_in_one_second(times):
    peak = start = 0
    for end, at in enumerate(times):
        while (at - times[start]).total_seconds() >= 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def test_a_consumer_over_its_call_budget_puts_checks_off_and_still_ends_every_order(fake, tmp_path):
    env = consumer_env(fake.url, ORDER_MONITOR_TEST_EXTRA=json.dumps(EXTRA), ORDER_MONITOR_TEST_LOG_LEVEL="INFO")
    consumer = Consumer(env, tmp_path, "budget", workers=4)
    started = timezone.now()
    try:
        for number in range(ORDERS):
            referans = f"B{number:08d}"
            fake.add_order(referans)
            ProductOrder.objects.create(external_status="sent", provider_referans=referans, sent_at=timezone.now())
        finished = wait_until(lambda: not MonitoredOrder.objects.active().exists(), timeout=180, interval=1)
    finally:
        code = consumer.stop()
    took = (timezone.now() - started).total_seconds()
    log = consumer.log()
    assert finished, f"orders still watched: {MonitoredOrder.objects.active().count()}\n{log[-3000:]}"
    assert code == 0 and "Traceback" not in log, log[-3000:]

    plans = fake.stats()["orders"]
    expected = {"completed": "completed", "failed": "failed", "never": "timed_out"}
    for entry in MonitoredOrder.objects.all():
        assert entry.state == expected[plans[entry.reference]["outcome"]]

    # The provider never got more than its calls per second (a call starting exactly on a
    # window's edge may count in two windows).
    calls = sorted(StatusCheck.objects.values_list("checked_at", flat=True))
    assert most_in_one_second(calls) <= PER_SECOND + 1
    # Every call is in the history: a check put off asked nothing.
    assert len(calls) == sum(fake.stats()["calls_per_referans"].values())
    # The budget did put checks off, and none more often than once per shortest put-off.
    put_off = log.count("call budget is spent")
    assert put_off > 0, log[-3000:]
    assert put_off <= ORDERS * took / SHORTEST_PUT_OFF
