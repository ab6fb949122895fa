"""Concurrency and crashes on the real stack: several consumers, SIGKILLs, a flushed Redis.

The database is the memory and Huey only the clock: whatever happens to the
consumers and to Redis, every order must end as the provider decided, once.
"""

from __future__ import annotations

import collections
import datetime
import random
import time

import pytest
import redis
from django.conf import settings as django_settings
from django.db.models import Count
from django.utils import timezone

from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.testing import wait_until
from django_order_monitor.testing.fake_znet import FakeZnetServer
from tests.integration.consumers import Consumer, consumer_env
from tests.settings_consumer import COMPRESSED_POLICY, znet_providers
from tests.testapp.models import ProductOrder, TerminalEvent

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def legacy_orders():
    yield
    ProductOrder.objects.all().delete()


def use_policy(settings, server, **overrides):
    settings.ORDER_MONITOR_PROVIDERS = znet_providers(server.url)
    settings.ORDER_MONITOR_DEFAULT_PROVIDER = "znet"
    policy = {**COMPRESSED_POLICY, **overrides}
    for name, value in policy.items():
        setattr(settings, "ORDER_MONITOR_" + name, value)
    return {f"ORDER_MONITOR_TEST_{name}": str(value) for name, value in overrides.items()}


def dispatch(server, count, prefix):
    orders = []
    for number in range(count):
        referans = f"{prefix}{number:08d}"
        server.add_order(referans)
        orders.append(ProductOrder(external_status="sent", provider_referans=referans, sent_at=timezone.now()))
    # bulk_create sends no post_save: these orders are found by the sweep, as the
    # reference shop's update()-dispatched orders would be...
    return orders


def flush_huey_keys():
    """What a Redis restart without persistence does to our queue: every Huey key is gone.

    (Only this run's keys: other test runs may share the Redis database.)
    """
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    storage = django_settings.HUEY.storage
    keys = [key for key in (storage.queue_key, storage.schedule_key, storage.result_key) if client.exists(key)]
    assert keys, "expected queued or scheduled checks in Redis"
    client.delete(*keys)


def check_outcomes(server, orders):
    """Every order as the provider decided, finished exactly once, never checked twice at once."""
    plans = server.stats()["orders"]
    wrong = []
    for order in ProductOrder.objects.filter(pk__in=[o.pk for o in orders]):
        plan = plans[order.provider_referans]
        entry = MonitoredOrder.objects.get(order=order)
        expected = {"completed": ("completed", "approved"), "failed": ("failed", "rejected"), "never": ("timed_out", "rejected")}
        if (entry.state, order.status) != expected[plan["outcome"]] or (plan["outcome"] == "completed" and order.pin_code != plan["pin"]):
            wrong.append((order.provider_referans, plan["outcome"], entry.state, order.status))
    assert wrong == []
    per_order = TerminalEvent.objects.values("order_id").annotate(n=Count("id"))
    assert len(per_order) == len(orders)
    assert {row["n"] for row in per_order} == {1}
    by_order = collections.defaultdict(list)
    for check in StatusCheck.objects.order_by("checked_at").values("monitored_order_id", "checked_at", "latency_ms"):
        by_order[check["monitored_order_id"]].append(check)
    for checks in by_order.values():
        for earlier, later in zip(checks, checks[1:], strict=False):
            assert earlier["checked_at"] + datetime.timedelta(milliseconds=earlier["latency_ms"]) <= later["checked_at"]


def test_three_consumers_thousands_of_orders(settings, legacy_orders, tmp_path):
    with FakeZnetServer(seed=5, time_scale=600) as server:
        overrides = use_policy(settings, server, DEADLINE=15, FINAL_CHECK_GRACE=5)
        env = consumer_env(server.url, **overrides)
        consumers = [Consumer(env, tmp_path, f"c{n}", workers=4, periodic=(n == 0)) for n in range(3)]
        try:
            orders = []
            started = time.monotonic()
            for number in range(2000):
                referans = f"C{number:08d}"
                server.add_order(referans)
                orders.append(ProductOrder.objects.create(external_status="sent", provider_referans=referans, sent_at=timezone.now()))
            finished = wait_until(lambda: not MonitoredOrder.objects.active().exists(), timeout=180, interval=1)
            elapsed = time.monotonic() - started
        finally:
            codes = [consumer.stop() for consumer in consumers]
        logs = "\n".join(c.log() for c in consumers)
        assert finished and codes == [0, 0, 0], logs[-3000:]
        check_outcomes(server, orders)
    processes = {w.rsplit(":", 1)[0] for w in StatusCheck.objects.values_list("worker", flat=True).distinct()}
    assert len(processes) == 3  # the work really was shared
    checks = StatusCheck.objects.count()
    print(f"concurrency: 2000 orders, 3 consumers x 4 threads, {checks} checks, all ended after {elapsed:.0f} s")


def test_chaos_sigkills_and_a_flushed_redis(settings, legacy_orders, tmp_path):
    """Consumers are SIGKILLed at random and Redis is flushed once; the sweep recovers everything.

    Recovery of a lost check takes at most LOST_TASK_GRACE + one sweep interval
    (here 5 s + 60 s): a task lost with Redis or a killed worker is re-enqueued
    by the next sweep that finds its order overdue.
    """
    rng = random.Random(11)
    with FakeZnetServer(seed=9, time_scale=60) as server:
        overrides = use_policy(settings, server, DEADLINE=60, FINAL_CHECK_GRACE=10, LEASE_SECONDS=30)
        env = consumer_env(server.url, **overrides)
        consumers = [Consumer(env, tmp_path, f"k{n}-0", workers=4, periodic=True) for n in range(3)]
        orders = []
        try:
            for number in range(400):
                referans = f"K{number:08d}"
                server.add_order(referans)
                orders.append(ProductOrder.objects.create(external_status="sent", provider_referans=referans, sent_at=timezone.now()))
            started = time.monotonic()
            kills = 0
            for round_number in range(1, 7):
                time.sleep(rng.uniform(2, 5))
                victim = rng.randrange(len(consumers))
                consumers[victim].kill()
                kills += 1
                consumers[victim] = Consumer(env, tmp_path, f"k{victim}-{round_number}", workers=4, periodic=True)
                if round_number == 3:
                    flush_huey_keys()
            finished = wait_until(lambda: not MonitoredOrder.objects.active().exists(), timeout=240, interval=1)
            elapsed = time.monotonic() - started
        finally:
            for consumer in consumers:
                consumer.stop()
        assert finished, f"{MonitoredOrder.objects.active().count()} orders still watched"
        assert kills == 6
        check_outcomes(server, orders)
        print(f"chaos: 400 orders, 6 SIGKILLs, 1 Redis flush; all ended after {elapsed:.0f} s")
