"""The real stack: PostgreSQL, Redis, ``run_huey`` consumers and a local znet server.

A few hundred orders with the reference mix of outcomes (time compressed 60x)
are dispatched into the legacy camelCase table; every one must end in the state
the provider decided, with the provider's PIN, finished exactly once.
"""

from __future__ import annotations

import collections
import datetime
import logging
import threading

import pytest
import redis
from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.testing import wait_until
from django_order_monitor.testing.fake_znet import FakeZnetServer
from tests.integration.consumers import Consumer, consumer_env
from tests.settings_consumer import COMPRESSED_POLICY, znet_providers
from tests.testapp.models import ProductOrder, TerminalEvent

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ORDERS = 300


@pytest.fixture
def fake_znet(settings):
    with FakeZnetServer(seed=2026, time_scale=60) as server:
        # The test process dispatches, so it plans first checks with the consumers' settings.
        settings.ORDER_MONITOR_PROVIDERS = znet_providers(server.url)
        settings.ORDER_MONITOR_DEFAULT_PROVIDER = "znet"
        for name, value in COMPRESSED_POLICY.items():
            setattr(settings, "ORDER_MONITOR_" + name, value)
        yield server


@pytest.fixture
def legacy_orders():
    yield
    ProductOrder.objects.all().delete()


def dispatch(fake, count):
    """Dispatch like the reference shop: the provider accepted, the row says 'sent'."""
    orders = []
    for number in range(count):
        referans = f"17608859{number:08d}"
        fake.add_order(referans)
        orders.append(ProductOrder.objects.create(external_status="sent", provider_referans=referans, sent_at=timezone.now()))
    return orders


def assert_no_overlapping_checks():
    """From the history: no order was ever asked about by two workers at once."""
    by_order = collections.defaultdict(list)
    for check in StatusCheck.objects.order_by("checked_at").values("monitored_order_id", "checked_at", "latency_ms"):
        by_order[check["monitored_order_id"]].append(check)
    for checks in by_order.values():
        for earlier, later in zip(checks, checks[1:], strict=False):
            ended = earlier["checked_at"] + datetime.timedelta(milliseconds=earlier["latency_ms"])
            assert ended <= later["checked_at"]


class RedisSampler(threading.Thread):
    """Copies every value in the test Redis database every 0.2 s (queue, schedule, results)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(settings.REDIS_URL)
        self.seen = []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(0.2):
            for key in self.client.keys("*"):
                kind = self.client.type(key)
                if kind == b"list":
                    self.seen.extend(self.client.lrange(key, 0, -1))
                elif kind == b"zset":
                    self.seen.extend(self.client.zrange(key, 0, -1))
                elif kind == b"hash":
                    self.seen.extend(self.client.hgetall(key).values())
                elif kind == b"string":
                    self.seen.append(self.client.get(key) or b"")


def test_hundreds_of_orders_end_as_the_provider_decided(fake_znet, legacy_orders, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    # DEBUG everywhere, to show that no PIN and no credential is ever logged.
    env = consumer_env(fake_znet.url, ORDER_MONITOR_TEST_LOG_LEVEL="DEBUG")
    consumers = [Consumer(env, tmp_path, "main", workers=4), Consumer(env, tmp_path, "second", workers=4, periodic=False)]
    sampler = RedisSampler()
    sampler.start()
    try:
        orders = dispatch(fake_znet, ORDERS)
        finished = wait_until(lambda: not MonitoredOrder.objects.active().exists(), timeout=120, interval=1)
    finally:
        codes = [consumer.stop() for consumer in consumers]
        sampler.stopping.set()
        sampler.join()
    logs = "\n".join(consumer.log() for consumer in consumers)
    assert finished, f"orders still watched: {MonitoredOrder.objects.active().count()}\n{logs[-3000:]}"
    assert codes == [0, 0], logs[-3000:]
    assert "Traceback" not in logs, logs[-3000:]

    plans = fake_znet.stats()["orders"]
    states = collections.Counter()
    for order in ProductOrder.objects.filter(pk__in=[o.pk for o in orders]):
        plan = plans[order.provider_referans]
        entry = MonitoredOrder.objects.get(order=order)
        states[entry.state] += 1
        if plan["outcome"] == "completed":
            assert (entry.state, order.status, order.external_status) == ("completed", "approved", "done")
            assert order.pin_code == plan["pin"]
        elif plan["outcome"] == "failed":
            assert (entry.state, order.status, order.external_status, order.pin_code) == ("failed", "rejected", "failed", None)
        else:
            assert (entry.state, order.status, order.pin_code) == ("timed_out", "rejected", None)
        assert order.completed_at is not None and order.duration_ms is not None

    # The shop's terminal callback ran exactly once per order.
    per_order = TerminalEvent.objects.values("order_id").annotate(n=Count("id"))
    assert len(per_order) == ORDERS
    assert {row["n"] for row in per_order} == {1}
    assert_no_overlapping_checks()
    assert states["completed"] > ORDERS * 0.8 and states["failed"] > 5 and states["timed_out"] > 2
    # Every provider call about an order is in our history (nothing unrecorded).
    assert StatusCheck.objects.count() == sum(fake_znet.stats()["calls_per_referans"].values())

    # Secrets: no PIN and no credential in the consumers' DEBUG logs, this process's logs,
    # the Huey messages that crossed Redis, or our own tables.
    pins = [plan["pin"] for plan in plans.values() if plan.get("pin")]
    assert len(pins) > ORDERS * 0.8 and len(sampler.seen) > 0
    redis_dump = b"\n".join(sampler.seen)
    our_tables = "\n".join(
        str(row) for row in StatusCheck.objects.values_list("message", "provider_status")
    ) + "\n".join(str(row) for row in MonitoredOrder.objects.values_list("last_message", "last_error", "stop_reason"))
    process_logs = "\n".join(record.getMessage() for record in caplog.records)
    assert "DEBUG" in logs and "pin_kontrol" in logs  # the logs are really at DEBUG
    for secret in pins + [fake_znet.sifre]:
        assert secret not in logs
        assert secret not in process_logs
        assert secret.encode() not in redis_dump
        assert secret not in our_tables
