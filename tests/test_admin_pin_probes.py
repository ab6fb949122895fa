"""Staff without ``order_monitor.view_pin`` cannot recover a PIN through filters, ordering or search.

The shop's changelist masks the PIN column; these tests probe it the way a
curious operator would: ``?pin_code__startswith=`` one character at a time,
sorting by the PIN, searching for it, reading the filter sidebar.
"""

import uuid

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import path

from django_order_monitor.admin import MonitoredOrderAdmin, OrderMonitorAdminMixin
from django_order_monitor.models import MonitoredOrder
from tests.testapp.models import ProductOrder

pytestmark = pytest.mark.django_db

ORDERS = "/admin/testapp/productorder/"
LEDGER = "/admin/order_monitor/monitoredorder/"
PROBE = "/probe/testapp/productorder/"
PIN = "AB12-CD34-EF56-GH78"


class ProbedOrderAdmin(OrderMonitorAdminMixin, admin.ModelAdmin):
    """A shop admin that lists the PIN everywhere a shop might: search, filters, a column sorted by it."""

    list_display = ("id", "status", "pin_code", "pin_hint")
    search_fields = ("provider_referans", "pin_code", "=monitoring__order__pin_code")
    list_filter = ("status", "pin_code")

    @admin.display(description="PIN hint", ordering="pin_code")
    def pin_hint(self, order):
        return "set" if order.pin_code else "-"


probe_site = admin.AdminSite(name="probe")
probe_site.register(ProductOrder, ProbedOrderAdmin)
probe_site.register(MonitoredOrder, MonitoredOrderAdmin)
urlpatterns = [path("probe/", probe_site.urls), path("admin/", admin.site.urls)]


def staff_client(username, *codenames):
    user = User.objects.create_user(username, is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def operator(db):
    return staff_client("operator", "view_monitoredorder", "view_productorder", "change_productorder")


@pytest.fixture
def pin_viewer(db):
    return staff_client("support", "view_monitoredorder", "view_productorder", "change_productorder", "view_pin")


@pytest.fixture
def orders(make_order):
    """Three orders whose PIN order (C, A, B) differs from the list's default order (newest id first)."""
    pins = {1: "C-PIN-3", 2: PIN, 3: "B-PIN-2"}
    return [make_order(id=uuid.UUID(int=n), referans=f"P{n}", pin_code=pin, status="approved") for n, pin in pins.items()]


def pins_listed(response):
    return [order.pin_code for order in response.context["cl"].result_list]


@pytest.mark.parametrize(
    "lookup",
    ["pin_code__startswith", "pin_code", "pin_code__istartswith", "pin_code__gt", "pin_code__in", "pin_code__regex",
     "monitoring__order__pin_code__startswith"],
)
def test_a_startswith_probe_on_the_pin_is_refused(operator, orders, lookup):
    response = operator.get(ORDERS, {lookup: "AB"})
    assert response.status_code == 400  # Django's DisallowedModelAdminLookup, not a shorter list


def test_the_ledger_refuses_a_probe_through_the_order_too(operator, orders):
    assert operator.get(LEDGER, {"order__pin_code__startswith": "AB"}).status_code == 400


def test_staff_with_view_pin_can_still_filter_by_the_pin(pin_viewer, orders):
    response = pin_viewer.get(ORDERS, {"pin_code__startswith": "AB"})
    assert response.status_code == 200
    assert pins_listed(response) == [PIN]


def test_other_filters_still_work_without_view_pin(operator, orders):
    response = operator.get(ORDERS, {"provider_referans__startswith": "P2"})
    assert response.status_code == 200
    assert [o.provider_referans for o in response.context["cl"].result_list] == ["P2"]


@pytest.mark.urls(__name__)
def test_search_ignores_the_pin_without_view_pin(operator, pin_viewer, orders):
    assert pins_listed(operator.get(PROBE, {"q": "AB12"})) == []
    assert pins_listed(operator.get(PROBE, {"q": "P2"})) == [PIN]  # the reference is still searched
    assert pins_listed(pin_viewer.get(PROBE, {"q": "AB12"})) == [PIN]


@pytest.mark.urls(__name__)
def test_ordering_by_the_pin_is_ignored_without_view_pin(operator, pin_viewer, orders):
    by_default = pins_listed(operator.get(PROBE))
    assert by_default == ["B-PIN-2", PIN, "C-PIN-3"]  # newest id first
    column = operator.get(PROBE).context["cl"].list_display.index("pin_hint")
    for order in (str(column), f"-{column}"):
        response = operator.get(PROBE, {"o": order})
        assert response.status_code == 200
        assert pins_listed(response) == by_default
    page = operator.get(PROBE).content.decode()
    assert f"?o={column}" not in page  # the header offers no sorting either

    assert pins_listed(pin_viewer.get(PROBE, {"o": str(column)})) == [PIN, "B-PIN-2", "C-PIN-3"]


@pytest.mark.urls(__name__)
def test_the_filter_sidebar_never_lists_pins_without_view_pin(operator, pin_viewer, orders):
    page = operator.get(PROBE).content.decode()
    assert PIN not in page and "C-PIN-3" not in page
    assert operator.get(PROBE, {"pin_code": PIN}).status_code == 400
    assert PIN in pin_viewer.get(PROBE).content.decode()
