"""One declaration makes a steering action: listed, run in the request or in the background, reported.

A test-only admin on its own admin site declares ``monitor_ping`` and nothing else about it.
"""

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.core.exceptions import ImproperlyConfigured
from django.urls import path
from django.utils.translation import ngettext_lazy

from django_order_monitor.admin import services
from django_order_monitor.admin.actions import Confirmation, SteeringAction, SteeringActions
from django_order_monitor.models import MonitoredOrder

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

OPS = "/ops/order_monitor/monitoredorder/"


def ping(entry, reason):
    """The new action's step: note the operator's reason on a followed order."""
    if not entry.is_active:
        raise services.Skip("not followed")
    MonitoredOrder.objects.filter(pk=entry.pk).update(last_message=f"pinged: {reason}")


class PingAdmin(SteeringActions, admin.ModelAdmin):
    monitor_ping = SteeringAction(
        label="Ping the orders",
        step=ping,
        done=ngettext_lazy("Pinged %(count)d order.", "Pinged %(count)d orders.", "count"),
        background=ngettext_lazy("Queued %(count)d ping.", "Queued %(count)d pings.", "count"),
        confirm=Confirmation(title="Ping orders", explanation="Each order is pinged.", default_reason="pinged by %(user)s"),
    )

    def monitored_ids(self, queryset):
        return list(queryset.values_list("pk", flat=True)), []


site = admin.AdminSite(name="ops")
site.register(MonitoredOrder, PingAdmin)
urlpatterns = [path("ops/", site.urls)]


@pytest.fixture
def entries(clock, make_order, queue):
    followed = [MonitoredOrder.objects.get(order=make_order()) for _ in range(2)]
    ended = MonitoredOrder.objects.get(order=make_order())
    MonitoredOrder.objects.filter(pk=ended.pk).update(state="completed")
    queue.flush()
    return followed, ended


def post(client, *pks, **extra):
    data = {"action": "monitor_ping", "_selected_action": [str(pk) for pk in pks], "index": 0, **extra}
    return client.post(OPS, data, follow=True)


def said(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def notes():
    return dict(MonitoredOrder.objects.values_list("pk", "last_message"))


def test_the_declared_action_is_listed_after_the_built_in_ones(admin_client):
    choices = admin_client.get(OPS).context["action_form"].fields["action"].choices
    assert [name for name, _ in choices][-6:] == [
        "monitor_check_now",
        "monitor_restart",
        "monitor_stop",
        "monitor_mark_failed",
        "monitor_extend_deadline",
        "monitor_ping",
    ]
    assert ("monitor_ping", "Ping the orders") in choices


def test_the_declared_action_confirms_runs_and_reports(admin_client, entries):
    (first, second), ended = entries
    page = post(admin_client, first.pk, second.pk, ended.pk)
    assert page.templates[0].name == "order_monitor/admin/confirm_action.html"
    assert "Each order is pinged." in page.content.decode()
    assert 'value="pinged by admin"' in page.content.decode()
    assert set(notes().values()) == {""}

    response = post(admin_client, first.pk, second.pk, ended.pk, post="yes", reason="")
    assert said(response) == ["Pinged 2 orders.", f"Skipped 1 order, not followed: {ended.order_id}."]
    assert notes() == {first.pk: "pinged: pinged by admin", second.pk: "pinged: pinged by admin", ended.pk: ""}


@pytest.mark.django_db(transaction=True)  # a db_task closes the connection when it ends
def test_a_large_selection_of_the_declared_action_runs_in_the_background(admin_client, entries, queue, monkeypatch):
    monkeypatch.setattr(services, "BACKGROUND_ABOVE", 1)
    (first, second), ended = entries
    response = post(admin_client, first.pk, second.pk, ended.pk, post="yes", reason="night shift")
    assert said(response) == ["Queued 3 pings."]
    assert [(task.name, task.args[0], sorted(task.args[1]), task.args[2]) for task in queue.huey.pending()] == [
        ("order_monitor.admin_action_chunk", "monitor_ping", sorted([first.pk, second.pk, ended.pk]), "night shift")
    ]
    assert set(notes().values()) == {""}

    queue.run_pending()
    assert notes() == {first.pk: "pinged: night shift", second.pk: "pinged: night shift", ended.pk: ""}


def test_an_action_name_is_declared_once():
    # Background chunks find an action by its name alone. (Before Python 3.12 an error in
    # ``__set_name__`` arrives wrapped in a RuntimeError.)
    with pytest.raises((ImproperlyConfigured, RuntimeError)) as raised:

        class Twice(SteeringActions, admin.ModelAdmin):
            monitor_ping = SteeringAction(label="Another ping", step=ping, done="Pinged %(count)d.")

    error = raised.value.__cause__ or raised.value
    assert str(error) == "The admin action 'monitor_ping' is declared twice; background tasks find it by name."
