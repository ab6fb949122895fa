"""Providers kept in the shop's own rows: one znet account per tenant, loaded, cached and forgotten.

Two tenants, each with its own integration row and credentials, each against its own
(fake) znet that accepts only its own credentials. Driven through the Huey tasks on a
frozen clock, as ``run_huey`` would run them.
"""

import datetime as dt
import uuid

import pytest
from django.db.models.signals import post_save

from django_order_monitor import providers
from django_order_monitor.models import MonitoredOrder, ProviderHealth
from django_order_monitor.testing.fake_znet import FakeZnetServer
from django_order_monitor.testing.fake_znet.plans import MixEntry, PlanOutcome
from tests import integrations
from tests.conftest import START
from tests.testapp.models import Integration

pytestmark = pytest.mark.django_db(transaction=True)

TENANT_A, TENANT_B = uuid.UUID(int=0xA), uuid.UUID(int=0xB)
QUICK = [MixEntry("quick", 1, PlanOutcome.COMPLETED, 5, 30)]


@pytest.fixture
def znets():
    with FakeZnetServer(kod="tenant-a", sifre="secret-a", seed=1, mix=QUICK) as a, FakeZnetServer(
        kod="tenant-b", sifre="secret-b", seed=2, mix=QUICK
    ) as b:
        yield a, b


@pytest.fixture
def shop(settings, znets):
    a, b = znets
    settings.ORDER_MONITOR_PROVIDERS = {}
    settings.ORDER_MONITOR_PROVIDER_RESOLVER = "tests.integrations.provider_for_order"
    settings.ORDER_MONITOR_PROVIDER_LOADER = "tests.integrations.load_provider"
    settings.ORDER_MONITOR_PROVIDER_LOADER_TTL = 3600
    settings.ORDER_MONITOR_BACKOFF_JITTER = 0
    integrations.loads.clear()
    rows = (
        Integration.objects.create(tenant_id=TENANT_A, base_url=a.url, kod="tenant-a", sifre="secret-a"),
        Integration.objects.create(tenant_id=TENANT_B, base_url=b.url, kod="tenant-b", sifre="secret-b"),
    )
    yield rows
    providers.forget()


def dispatch(make_order, znet, tenant, count, prefix):
    orders = []
    for number in range(count):
        reference = f"{prefix}{number:04d}"
        znet.add_order(reference)
        orders.append(make_order(referans=reference, tenant_id=tenant))
    return orders


def test_each_tenants_orders_are_checked_with_its_own_integration(clock, queue, make_order, znets, shop):
    a, b = znets
    a_orders = dispatch(make_order, a, TENANT_A, 5, "A")
    b_orders = dispatch(make_order, b, TENANT_B, 5, "B")
    queue.run_until(START + dt.timedelta(hours=1))

    for znet, orders, row in ((a, a_orders, shop[0]), (b, b_orders, shop[1])):
        plans = znet.stats()["orders"]
        for order in orders:
            order.refresh_from_db()
            assert (order.external_status, order.pin_code) == ("done", plans[order.provider_referans]["pin"])
            assert MonitoredOrder.objects.get(order=order).provider == f"integration-{row.pk}"
    # Each integration's row was read once, however many checks its orders took.
    assert sorted(integrations.loads) == [f"integration-{shop[0].pk}", f"integration-{shop[1].pk}"]


def test_a_changed_integration_is_used_once_the_shop_forgets_it(clock, queue, make_order, znets, shop):
    _, b = znets
    row = shop[1]
    Integration.objects.filter(pk=row.pk).update(sifre="a-typo")
    (order,) = dispatch(make_order, b, TENANT_B, 1, "B")
    queue.run_until(START + dt.timedelta(minutes=5))
    entry = MonitoredOrder.objects.get(order=order)
    assert (entry.state, entry.answered_checks) == ("watching", 0) and entry.failed_checks >= 1

    # The shop corrects its row; its post_save receiver tells the monitor (as the docs show).
    def forget_integration(sender, instance, **kwargs):
        providers.forget(f"integration-{instance.pk}")

    post_save.connect(forget_integration, sender=Integration, weak=False)
    try:
        row.sifre = "secret-b"
        row.save()
    finally:
        post_save.disconnect(forget_integration, sender=Integration)
    queue.run_until(START + dt.timedelta(hours=1))
    order.refresh_from_db()
    assert (order.external_status, order.pin_code) == ("done", b.stats()["orders"][order.provider_referans]["pin"])


def test_one_tenants_provider_down_pauses_only_its_own_integration(clock, queue, make_order, znets, shop, settings):
    a, b = znets
    settings.ORDER_MONITOR_BREAKER_THRESHOLD = 3
    a_orders = dispatch(make_order, a, TENANT_A, 4, "A")
    b_orders = dispatch(make_order, b, TENANT_B, 4, "B")
    a.stop()  # tenant A's provider is unreachable from now on
    queue.run_until(START + dt.timedelta(hours=1))

    health = {row.provider: row for row in ProviderHealth.objects.all()}
    assert health[f"integration-{shop[0].pk}"].times_paused >= 1
    assert f"integration-{shop[1].pk}" not in health or health[f"integration-{shop[1].pk}"].times_paused == 0
    assert {MonitoredOrder.objects.get(order=o).state for o in b_orders} == {"completed"}
    assert {MonitoredOrder.objects.get(order=o).state for o in a_orders} == {"watching"}


def test_a_loader_answer_without_an_adapter_is_refused_without_showing_it(settings, shop):
    from django_order_monitor.exceptions import UnknownProviderError

    settings.ORDER_MONITOR_PROVIDER_LOADER = "tests.integrations.load_broken"
    with pytest.raises(UnknownProviderError) as caught:
        providers.get_provider("integration-1")
    assert "must return None or a dict with 'ADAPTER'" in str(caught.value)
    assert "secret" not in str(caught.value)


def test_the_ledger_filters_by_the_loaded_providers_of_followed_orders(clock, make_order, znets, shop, admin_client):
    a, b = znets
    dispatch(make_order, a, TENANT_A, 1, "A")
    dispatch(make_order, b, TENANT_B, 2, "B")
    response = admin_client.get("/admin/order_monitor/monitoredorder/", {"provider": f"integration-{shop[1].pk}"})
    assert response.status_code == 200
    assert sorted(entry.reference for entry in response.context["cl"].result_list) == ["B0000", "B0001"]
    assert f"?provider=integration-{shop[0].pk}" in response.content.decode()
