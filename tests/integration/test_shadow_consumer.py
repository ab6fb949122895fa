"""Adopting the monitor beside a shop that already polls: real consumers in shadow mode.

The shop's own poller (a thread here, as its Celery task would be) asks znet about
its open orders and ends them itself. Two ``run_huey`` consumers follow the same
orders with ``ORDER_MONITOR_SHADOW = True``: they decide every order in their
ledger but write nothing to the shop's rows and run no shop code. The comparison
report then says where the two agree and which noticed first.
"""

from __future__ import annotations

import io
import json
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from django_order_monitor.models import MonitoredOrder
from django_order_monitor.providers.adapters.base import Outcome
from django_order_monitor.providers.adapters.znet import ZnetProvider
from django_order_monitor.testing import wait_until
from django_order_monitor.testing.fake_znet import FakeZnetServer
from django_order_monitor.testing.fake_znet.plans import MixEntry, PlanOutcome
from tests.integration.consumers import Consumer, consumer_env
from tests.settings_consumer import COMPRESSED_POLICY, znet_providers
from tests.testapp.models import ProductOrder, TerminalEvent

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ORDERS = 40
#: The shop's poller asks about each open order this often (seconds), slower than the monitor.
SHOP_POLL_INTERVAL = 3.0


class ShopPoller(threading.Thread):
    """The shop's existing monitor: poll every open order, write the end it finds (with the PIN)."""

    def __init__(self, base_url: str):
        super().__init__(daemon=True)
        self.adapter = ZnetProvider(base_url=base_url, kod="demo", sifre="demo-secret")
        self.written: dict = {}  # order pk -> the shop row's status values as this poller wrote them
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self):
        try:
            while not self.stopping.wait(SHOP_POLL_INTERVAL):
                for order in ProductOrder.objects.filter(external_status="sent"):
                    result = self.adapter.fetch_status(order.provider_referans)
                    if result.outcome is Outcome.PROCESSING:
                        continue
                    if result.outcome is Outcome.COMPLETED:
                        values = {"status": "approved", "external_status": "done", "pin_code": result.pin}
                    elif result.outcome is Outcome.FAILED:
                        values = {"status": "rejected", "external_status": "failed", "pin_code": None}
                    else:
                        continue
                    now = timezone.now()
                    ProductOrder.objects.filter(pk=order.pk).update(**values, completed_at=now, last_sync_at=now)
                    self.written[order.pk] = values
        except BaseException as err:  # reported by the test, not lost in the thread
            self.error = err
        finally:
            self.adapter.close()
            connection.close()


@pytest.fixture
def fake_znet(settings):
    # Every order ends at znet within the compressed deadline, so both sides can decide each one.
    # (provider seconds, compressed 60x: 2 to 10 real seconds after dispatch)
    mix = [MixEntry("quick", 3, PlanOutcome.COMPLETED, 120, 600), MixEntry("failed", 1, PlanOutcome.FAILED, 120, 600)]
    with FakeZnetServer(seed=2028, time_scale=60, mix=mix) as server:
        settings.ORDER_MONITOR_PROVIDERS = znet_providers(server.url)
        settings.ORDER_MONITOR_DEFAULT_PROVIDER = "znet"
        settings.ORDER_MONITOR_SHADOW = True
        for name, value in COMPRESSED_POLICY.items():
            setattr(settings, "ORDER_MONITOR_" + name, value)
        yield server
    ProductOrder.objects.all().delete()
    TerminalEvent.objects.all().delete()


def test_in_shadow_mode_consumers_decide_every_order_and_write_nothing_of_the_shops(fake_znet, tmp_path):
    env = consumer_env(fake_znet.url, DJANGO_SETTINGS_MODULE="tests.integration.settings_shadow")
    consumers = [Consumer(env, tmp_path, "main", workers=4), Consumer(env, tmp_path, "second", workers=4, periodic=False)]
    shop = ShopPoller(fake_znet.url)
    try:
        orders = []
        for number in range(ORDERS):
            referans = f"27608870{number:08d}"
            fake_znet.add_order(referans)
            orders.append(ProductOrder.objects.create(external_status="sent", provider_referans=referans, sent_at=timezone.now()))
        shop.start()
        both_done = wait_until(
            lambda: not MonitoredOrder.objects.active().exists() and not ProductOrder.objects.filter(external_status="sent").exists(),
            timeout=90,
            interval=1,
        )
    finally:
        codes = [consumer.stop() for consumer in consumers]
        shop.stopping.set()
        shop.join(15)
    logs = "\n".join(consumer.log() for consumer in consumers)
    assert both_done, f"still open: monitor {MonitoredOrder.objects.active().count()}, shop {ProductOrder.objects.filter(external_status='sent').count()}\n{logs[-3000:]}"
    assert codes == [0, 0] and "Traceback" not in logs, logs[-3000:]
    assert shop.error is None, repr(shop.error)

    # The shop's rows hold exactly what the shop's poller wrote: nothing of the monitor's.
    plans = fake_znet.stats()["orders"]
    rows = {row["id"]: row for row in ProductOrder.objects.values("id", "status", "external_status", "pin_code", "provider_referans")}
    assert {pk: {k: rows[pk][k] for k in ("status", "external_status", "pin_code")} for pk in rows} == shop.written
    assert all(rows[pk]["pin_code"] == plans[rows[pk]["provider_referans"]]["pin"] for pk in rows if rows[pk]["status"] == "approved")
    assert TerminalEvent.objects.count() == 0  # the monitor's TERMINAL_CALLBACK never ran

    # The monitor decided every order itself, as znet did.
    ledger = dict(MonitoredOrder.objects.values_list("order_id", "state"))
    assert {pk: ledger[pk] for pk in rows} == {pk: plans[rows[pk]["provider_referans"]]["outcome"] for pk in rows}

    out = io.StringIO()
    call_command("order_monitor_shadow_report", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["shadow"] is True and report["compared"] == ORDERS
    assert report["counts"]["agree"] == ORDERS and report["disagreements"] == []
    # Both noticed every end within a few seconds of each other (both poll every few seconds);
    # who was first is a race, not something to assert.
    lead = report["monitor_lead_seconds"]
    assert lead["p50"] is not None and abs(lead["p50"]) < 30 and abs(lead["p90"]) < 30
