"""The ledger admin and the shop-order mixin: columns, filters, search, actions, permissions, PIN masking."""

import datetime as dt
import uuid

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.test import Client

from django_order_monitor.engine import transitions
from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.providers.adapters.base import Outcome, StatusResult
from tests import hooks
from tests.conftest import START
from tests.testapp.models import ProductOrder

pytestmark = pytest.mark.django_db

LEDGER = "/admin/order_monitor/monitoredorder/"
ORDERS = "/admin/testapp/productorder/"
PIN = "AB12-CD34-EF56-GH78"
MASK = "••••••••"


@pytest.fixture(autouse=True)
def _setup(settings, queue):
    settings.ORDER_MONITOR_BACKOFF_JITTER = 0
    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.record_terminal"
    hooks.terminal_calls.clear()


def staff(username, *codenames):
    user = User.objects.create_user(username, is_staff=True)  # force_login: no password to hash
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def operator(client):
    """Staff who may view and steer the ledger and orders, but not see PINs."""
    client.force_login(
        staff("operator", "view_monitoredorder", "change_monitoredorder", "view_productorder", "change_productorder")
    )
    return client


@pytest.fixture
def pin_viewer(db):
    client = Client()
    client.force_login(staff("support", "view_monitoredorder", "view_pin", "view_productorder", "change_productorder"))
    return client


@pytest.fixture
def viewer(db):
    client = Client()
    client.force_login(staff("viewer", "view_monitoredorder", "view_productorder"))
    return client


@pytest.fixture
def completed(clock, make_order):
    """An order the provider completed with a PIN, through the real terminal path."""
    order = make_order(id=uuid.UUID(int=1), referans="REF-DONE")
    entry = MonitoredOrder.objects.get(order=order)
    transitions.finish(entry, "completed", result=StatusResult(Outcome.COMPLETED, pin=PIN, provider_status="2"), source="poll")
    hooks.terminal_calls.clear()
    return MonitoredOrder.objects.get(pk=entry.pk)


@pytest.fixture
def watching(clock, make_order):
    return MonitoredOrder.objects.get(order=make_order(id=uuid.UUID(int=2), referans="REF-WAIT"))


def act(client, url, action, *pks, **extra):
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], "index": 0, **extra}
    return client.post(url, data, follow=True)


def confirm(client, url, action, *pks, reason=""):
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], "post": "yes", "reason": reason}
    return client.post(url, data, follow=True)


def said(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def listed(response):
    return sorted(entry.reference for entry in response.context["cl"].result_list)


# -- the ledger list and detail page ------------------------------------------------------------


def test_list_shows_monitoring_columns_and_masks_the_pin(operator, completed, watching):
    page = operator.get(LEDGER).content.decode()
    assert PIN not in page
    assert page.count(MASK) == 1  # the completed order; the waiting one shows no PIN at all
    for heading in ("Order", "Provider", "Provider reference", "State", "Answered checks", "Next check", "Age",
                    "Last provider status", "Last error", "PIN"):
        assert f">{heading}<" in page or f">{heading}</a>" in page
    assert '<span class="om-state om-state-watching">watching</span>' in page
    assert "12:01:00 (in 1 min)" in page  # the waiting order's first check


def test_list_of_a_superuser_masks_the_pin_too(admin_client, completed):
    assert PIN not in admin_client.get(LEDGER).content.decode()


def test_detail_shows_the_pin_only_with_the_permission(operator, pin_viewer, completed):
    url = f"{LEDGER}{completed.pk}/change/"
    page = operator.get(url).content.decode()
    assert PIN not in page and MASK in page
    page = pin_viewer.get(url).content.decode()
    assert PIN in page


def test_detail_has_the_check_history_and_no_editable_field(operator, watching):
    StatusCheck.objects.create(monitored_order=watching, result="query_error", provider_status="3", message="3|Sistem meşgul")
    response = operator.get(f"{LEDGER}{watching.pk}/change/")
    page = response.content.decode()
    assert "Status checks" in page and "3|Sistem meşgul" in page
    assert list(response.context["adminform"].form.fields) == []


def test_no_one_adds_ledger_rows_by_hand(admin_client):
    assert admin_client.get(f"{LEDGER}add/").status_code == 403


def test_filters_by_state_provider_overdue_and_stuck(operator, completed, watching, make_order, clock):
    late = MonitoredOrder.objects.get(order=make_order(referans="REF-LATE"))
    MonitoredOrder.objects.filter(pk=late.pk).update(next_check_at=START - dt.timedelta(minutes=30), consecutive_failed_checks=5)
    assert listed(operator.get(LEDGER, {"state__exact": "watching"})) == ["REF-LATE", "REF-WAIT"]
    assert listed(operator.get(LEDGER, {"state__exact": "completed"})) == ["REF-DONE"]
    assert listed(operator.get(LEDGER, {"provider": "memory"})) == ["REF-DONE", "REF-LATE", "REF-WAIT"]
    assert listed(operator.get(LEDGER, {"provider": "other"})) == []
    assert listed(operator.get(LEDGER, {"overdue": "yes"})) == ["REF-LATE"]
    assert listed(operator.get(LEDGER, {"stuck": "failing"})) == ["REF-LATE"]
    assert listed(operator.get(LEDGER, {"stuck": "past_deadline"})) == []
    clock.shift(dt.timedelta(hours=25))
    assert listed(operator.get(LEDGER, {"stuck": "past_deadline"})) == ["REF-LATE", "REF-WAIT"]


def test_search_by_order_id_or_reference(operator, completed, watching):
    assert listed(operator.get(LEDGER, {"q": str(uuid.UUID(int=1))})) == ["REF-DONE"]
    assert listed(operator.get(LEDGER, {"q": "wait"})) == ["REF-WAIT"]
    assert listed(operator.get(LEDGER, {"q": "REF-"})) == ["REF-DONE", "REF-WAIT"]
    assert listed(operator.get(LEDGER, {"q": "nothing"})) == []


# -- actions on the ledger ----------------------------------------------------------------------


def test_check_now_enqueues_a_forced_check_and_does_no_http(operator, completed, watching, queue):
    response = act(operator, LEDGER, "monitor_check_now", watching.pk, completed.pk)
    assert said(response) == [
        "Enqueued a status check of 1 order.",
        "Skipped 1 order, not followed any more (completed): 00000000-0000-0000-0000-000000000001.",
    ]
    assert [(t.name, t.args) for t in queue.huey.pending()] == [("order_monitor.check_order_now", (watching.pk,))]
    assert not StatusCheck.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_check_now_task_checks_an_order_that_is_not_due(operator, watching, queue):
    act(operator, LEDGER, "monitor_check_now", watching.pk)
    queue.run_pending()
    check = StatusCheck.objects.get()
    assert (check.source, check.result, check.checked_at) == ("admin", "processing", START)


def test_restart_gives_new_attempts_and_a_new_deadline(operator, watching, completed, clock):
    clock.shift(dt.timedelta(hours=2))
    MonitoredOrder.objects.filter(pk=watching.pk).update(state="stopped", stop_reason="x", answered_checks=20)
    response = act(operator, LEDGER, "monitor_restart", watching.pk, completed.pk)
    assert said(response) == [
        "Restarted monitoring of 1 order (new attempts and deadline).",
        "Skipped 1 order, already ended (completed); it is never finished twice: 00000000-0000-0000-0000-000000000001.",
    ]
    watching.refresh_from_db()
    assert (watching.state, watching.answered_checks, watching.stop_reason) == ("watching", 0, "")
    assert watching.deadline_at == START + dt.timedelta(hours=26)


def test_stop_asks_for_confirmation_then_stops_with_the_reason(operator, watching):
    page = act(operator, LEDGER, "monitor_stop", watching.pk)
    assert page.templates[0].name == "order_monitor/admin/confirm_action.html"
    assert "stopped by operator in the admin" in page.content.decode()
    assert MonitoredOrder.objects.get(pk=watching.pk).state == "watching"

    response = confirm(operator, LEDGER, "monitor_stop", watching.pk, reason="customer  cancelled by phone")
    assert said(response) == ["Stopped monitoring 1 order."]
    watching.refresh_from_db()
    assert (watching.state, watching.stop_reason) == ("stopped", "customer cancelled by phone")
    assert ProductOrder.objects.get(pk=watching.order_id).status == "pending"  # the shop's row is untouched
    assert hooks.terminal_calls == []


def test_mark_failed_runs_the_failure_path_once(operator, watching):
    page = act(operator, LEDGER, "monitor_mark_failed", watching.pk)
    assert "the shop&#x27;s failure handling (refund) runs once" in page.content.decode()
    assert hooks.terminal_calls == []

    response = confirm(operator, LEDGER, "monitor_mark_failed", watching.pk)
    assert said(response) == ["Marked 1 order failed."]
    order = ProductOrder.objects.get(pk=watching.order_id)
    assert (order.status, order.external_status) == ("rejected", "failed")
    assert [(t.outcome, t.source, t.message) for t in hooks.terminal_calls] == [
        ("failed", "admin", "marked failed by operator in the admin")
    ]

    response = confirm(operator, LEDGER, "monitor_mark_failed", watching.pk)
    assert said(response) == [
        "Skipped 1 order, not being followed (restart it first to mark it failed): "
        "00000000-0000-0000-0000-000000000002."
    ]
    assert len(hooks.terminal_calls) == 1


def test_extend_deadline_by_a_day(operator, watching, completed):
    response = act(operator, LEDGER, "monitor_extend_deadline", watching.pk, completed.pk)
    assert said(response) == [
        "Extended the deadline of 1 order by 24 hours.",
        "Skipped 1 order, not being followed: 00000000-0000-0000-0000-000000000001.",
    ]
    assert MonitoredOrder.objects.get(pk=watching.pk).deadline_at == START + dt.timedelta(hours=48)


def test_counts_are_pluralised(operator, make_order, clock):
    entries = [MonitoredOrder.objects.get(order=make_order()) for _ in range(3)]
    response = act(operator, LEDGER, "monitor_extend_deadline", *(e.pk for e in entries))
    assert said(response) == ["Extended the deadline of 3 orders by 24 hours."]


def test_a_viewer_gets_no_steering_actions(viewer, watching):
    page = viewer.get(LEDGER)
    assert page.status_code == 200
    assert "monitor_check_now" not in page.content.decode()
    act(viewer, LEDGER, "monitor_mark_failed", watching.pk)
    confirm(viewer, LEDGER, "monitor_mark_failed", watching.pk)
    assert MonitoredOrder.objects.get(pk=watching.pk).state == "watching"
    assert hooks.terminal_calls == []


def test_a_disabled_monitor_is_mentioned(operator, watching, settings):
    settings.ORDER_MONITOR_ENABLED = False
    assert said(act(operator, LEDGER, "monitor_check_now", watching.pk))[0] == (
        "Monitoring is disabled (ORDER_MONITOR_ENABLED = False): queued checks do nothing until it is enabled."
    )


# -- the mixin on the shop's order admin --------------------------------------------------------


def test_order_list_has_a_monitoring_column_and_a_masked_pin(operator, completed, watching, make_order):
    make_order(external_status="not_sent", referans=None)
    page = operator.get(ORDERS).content.decode()
    assert PIN not in page
    assert MASK in page
    assert ">Monitoring<" in page
    assert '<span class="om-state om-state-completed">completed</span>' in page
    assert (
        '<span class="om-state om-state-watching">watching</span> · <span class="om-when">12:01:00 (in 1 min)'
    ) in page


def test_order_detail_hides_the_pin_field_without_the_permission(operator, pin_viewer, completed):
    url = f"{ORDERS}{completed.order_id}/change/"
    response = operator.get(url)
    assert "pin_code" not in response.context["adminform"].form.fields
    assert PIN not in response.content.decode() and MASK in response.content.decode()
    response = pin_viewer.get(url)
    assert response.context["adminform"].form["pin_code"].value() == PIN


def test_order_actions_name_why_an_order_cannot_be_monitored(operator, watching, make_order):
    draft = make_order(id=uuid.UUID(int=7), external_status="not_sent", referans="R7")
    no_ref = make_order(id=uuid.UUID(int=8), referans=None)
    response = act(operator, ORDERS, "monitor_check_now", watching.order_id, draft.pk, no_ref.pk)
    assert said(response) == [
        "Enqueued a status check of 1 order.",
        "Skipped 1 order, cannot be monitored: no provider reference: 00000000-0000-0000-0000-000000000008.",
        "Skipped 1 order, cannot be monitored: not dispatched (external status 'not_sent'): "
        "00000000-0000-0000-0000-000000000007.",
    ]


def test_order_check_now_starts_following_a_missed_order(operator, make_order, queue):
    order = make_order(id=uuid.UUID(int=9), external_status="not_sent", referans="R9")
    ProductOrder.objects.filter(pk=order.pk).update(external_status="sent")  # no hook ran
    with_callbacks = act(operator, ORDERS, "monitor_check_now", order.pk)
    assert said(with_callbacks) == ["Enqueued a status check of 1 order."]
    assert MonitoredOrder.objects.get(order_id=order.pk).state == "watching"


def test_order_mark_failed_goes_through_the_ledger(operator, watching, make_order):
    unfollowed = make_order(id=uuid.UUID(int=10), external_status="not_sent")
    response = confirm(operator, ORDERS, "monitor_mark_failed", watching.order_id, unfollowed.pk, reason="no stock")
    assert said(response) == [
        "Marked 1 order failed.",
        "Skipped 1 order, not being followed: 00000000-0000-0000-0000-00000000000a.",
    ]
    assert [(t.order_pk, t.message) for t in hooks.terminal_calls] == [(watching.order_id, "no stock")]


def test_order_actions_need_the_change_permission(client, watching):
    client.force_login(staff("orders-viewer", "view_productorder"))
    assert "monitor_check_now" not in client.get(ORDERS).content.decode()
