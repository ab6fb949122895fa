"""A shop with no Redis at all: ``PostgresHuey`` keeps the queue in PostgreSQL.

The shop's web process (a ``manage.py shell`` here) saves dispatched orders and so
enqueues their first checks into PostgreSQL; a ``run_huey`` consumer on the same
settings follows them to the end. Redis is pointed at a closed port for both.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.db import connection

from django_order_monitor.models import MonitoredOrder
from django_order_monitor.testing import wait_until
from django_order_monitor.testing.fake_znet import FakeZnetServer
from django_order_monitor.testing.fake_znet.plans import MixEntry, PlanOutcome
from tests.integration.consumers import ROOT, Consumer, consumer_env
from tests.testapp.models import ProductOrder

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
    # The queue lives in the shop's database, which must then be PostgreSQL (not the MariaDB pass's).
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgresHuey needs the shop's database to be PostgreSQL"),
]

ORDERS = 30
DISPATCH = """
from django.utils import timezone
from tests.testapp.models import ProductOrder
for number in range({count}):
    ProductOrder.objects.create(external_status="sent", provider_referans="PG%08d" % number, sent_at=timezone.now())
"""


@pytest.fixture
def fake_znet():
    mix = [MixEntry("quick", 3, PlanOutcome.COMPLETED, 60, 300), MixEntry("failed", 1, PlanOutcome.FAILED, 60, 300)]
    with FakeZnetServer(seed=2029, time_scale=60, mix=mix) as server:
        yield server
    ProductOrder.objects.all().delete()


def test_a_shop_without_redis_follows_its_orders_on_postgres_huey(fake_znet, tmp_path):
    env = consumer_env(fake_znet.url, DJANGO_SETTINGS_MODULE="tests.integration.settings_pghuey", REDIS_URL="redis://127.0.0.1:9/0")
    for number in range(ORDERS):
        fake_znet.add_order(f"PG{number:08d}")
    # The web process dispatches first: it creates Huey's tables in PostgreSQL, which a
    # consumer starting at the same moment would race it to (CREATE TABLE IF NOT EXISTS
    # is not safe against a concurrent one).
    subprocess.run(
        [sys.executable, "-m", "django", "shell", "-c", DISPATCH.format(count=ORDERS)],
        env=env, cwd=ROOT, check=True, timeout=120, capture_output=True,
    )
    consumer = Consumer(env, tmp_path, "pg", workers=4)
    try:
        finished = wait_until(
            lambda: MonitoredOrder.objects.count() == ORDERS and not MonitoredOrder.objects.active().exists(),
            timeout=90,
            interval=1,
        )
    finally:
        code = consumer.stop()
    log = consumer.log()
    assert finished, f"followed {MonitoredOrder.objects.count()}, still watched {MonitoredOrder.objects.active().count()}\n{log[-3000:]}"
    assert code == 0 and "Traceback" not in log, log[-3000:]
    plans = fake_znet.stats()["orders"]
    ended = {
        order.provider_referans: (order.external_status, order.pin_code)
        for order in ProductOrder.objects.filter(provider_referans__startswith="PG")
    }
    expected = {
        reference: ("done", plan["pin"]) if plan["outcome"] == "completed" else ("failed", None)
        for reference, plan in plans.items()
    }
    assert ended == expected
