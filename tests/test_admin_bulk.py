"""Admin actions on "select all" over thousands of orders: no 500, a short request, every order handled once."""

import collections
import datetime as dt
import time

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.utils import timezone

from django_order_monitor.engine import following
from django_order_monitor.models import MonitoredOrder
from tests import hooks
from tests.testapp.models import ProductOrder

pytestmark = pytest.mark.django_db(transaction=True)

LEDGER = "/admin/order_monitor/monitoredorder/"
ORDERS = "/admin/testapp/productorder/"


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.record_terminal"
    hooks.terminal_calls.clear()
    yield
    hooks.terminal_calls.clear()


@pytest.fixture
def operator(client):
    user = User.objects.create_user("operator", is_staff=True)
    for codename in ("view_monitoredorder", "change_monitoredorder", "view_productorder", "change_productorder"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    return client


@pytest.fixture
def followed(make_order, queue):
    """``followed(n)``: n dispatched orders the monitor follows (the sweep's bulk start), queue emptied."""

    def create(count):
        orders = ProductOrder.objects.bulk_create(
            ProductOrder(external_status="sent", provider_referans=f"BULK{n:05d}", sent_at=timezone.now())
            for n in range(count)
        )
        started, refused = following.start_monitoring_many(orders)
        assert len(started) == count and not refused
        queue.flush()
        return orders

    return create


def select_all(client, url, action, *, post="yes", reason=""):
    """What the admin's "select all N" posts: the ids of the first page and select_across=1."""
    page = client.get(url)
    first_page = [str(row.pk) for row in page.context["cl"].result_list]
    data = {"action": action, "_selected_action": first_page, "select_across": "1", "index": 0}
    if post:
        data.update(post=post, reason=reason)
    return client.post(url, data, follow=True)


def said(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def states():
    return collections.Counter(MonitoredOrder.objects.values_list("state", flat=True))


def test_select_all_mark_failed_over_1200_ledger_rows_is_queued_and_fails_each_order_once(operator, followed, queue):
    followed(1200)
    confirm_page = select_all(operator, LEDGER, "monitor_mark_failed", post="")
    assert confirm_page.status_code == 200
    assert "1200 selected orders" in confirm_page.content.decode()

    started = time.monotonic()
    response = select_all(operator, LEDGER, "monitor_mark_failed", reason="supplier closed")
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    assert said(response) == [
        "Queued 1200 orders to be marked failed in the background; orders no longer followed are skipped. "
        "Refresh the list to follow the progress."
    ]
    assert states() == {"watching": 1200}  # nothing done in the request
    assert {(task.name, task.args[0]) for task in queue.huey.pending()} == {
        ("order_monitor.admin_action_chunk", "monitor_mark_failed")
    }
    assert all(task.args[2] == "supplier closed" and len(task.args[1]) <= 200 for task in queue.huey.pending())

    queue.run_pending()
    assert states() == {"failed": 1200}
    assert set(ProductOrder.objects.values_list("status", flat=True)) == {"rejected"}
    per_order = collections.Counter(call.order_pk for call in hooks.terminal_calls)
    assert len(per_order) == 1200 and set(per_order.values()) == {1}
    assert {call.message for call in hooks.terminal_calls} == {"supplier closed"}


def test_select_all_on_the_shop_orders_queues_the_followed_and_names_the_others(operator, followed, make_order, queue):
    followed(1200)
    draft = make_order(external_status="not_sent", referans=None)
    response = select_all(operator, ORDERS, "monitor_mark_failed")
    assert response.status_code == 200
    assert said(response) == [
        "Queued 1200 orders to be marked failed in the background; orders no longer followed are skipped. "
        "Refresh the list to follow the progress.",
        f"Skipped 1 order, not being followed: {draft.pk}.",
    ]
    queue.run_pending()
    assert states() == {"failed": 1200}
    assert len(hooks.terminal_calls) == 1200


def test_select_all_check_now_queues_chunks_that_queue_one_check_per_followed_order(operator, followed, queue):
    followed(1200)
    first_ten = list(MonitoredOrder.objects.order_by("pk").values_list("pk", flat=True)[:10])
    MonitoredOrder.objects.filter(pk__in=first_ten).update(state="completed")
    response = select_all(operator, LEDGER, "monitor_check_now", post="")
    assert said(response) == [
        "Queued status checks of 1200 orders in the background; orders no longer followed are skipped."
    ]
    chunks = queue.huey.pending()
    assert {(task.name, task.args[0]) for task in chunks} == {("order_monitor.admin_action_chunk", "monitor_check_now")}
    assert sorted(pk for task in chunks for pk in task.args[1]) == sorted(MonitoredOrder.objects.values_list("pk", flat=True))

    queue.run_pending(max_tasks=len(chunks))
    checks = queue.huey.pending()
    assert {task.name for task in checks} == {"order_monitor.check_order_now"}
    assert len(checks) == 1190  # the ended ones are skipped


def test_select_all_restart_is_queued(operator, followed, queue):
    followed(1200)
    MonitoredOrder.objects.update(state="stopped", stop_reason="paused by hand", answered_checks=7)
    response = select_all(operator, LEDGER, "monitor_restart", post="")
    assert said(response) == [
        "Queued a restart of monitoring of 1200 orders in the background; ended orders are skipped."
    ]
    chunks = queue.huey.pending()
    assert {(task.name, task.args[0]) for task in chunks} == {("order_monitor.admin_action_chunk", "monitor_restart")}
    queue.run_pending(max_tasks=len(chunks))  # the restarts only, not the checks they queue
    assert states() == {"watching": 1200}
    assert set(MonitoredOrder.objects.values_list("answered_checks", "stop_reason")) == {(0, "")}


def test_chunks_queued_under_the_0_1_task_names_still_run(followed, queue, clock):
    from django_order_monitor import tasks

    followed(6)
    pks = list(MonitoredOrder.objects.order_by("pk").values_list("pk", flat=True))
    MonitoredOrder.objects.filter(pk__in=pks[:2]).update(state="stopped", stop_reason="paused by hand")
    # A millisecond between enqueues: a priority queue (PriorityRedisHuey, the services pass)
    # orders equal priorities by enqueue time, which a frozen clock would make all equal.
    tasks.restart_chunk(pks[:2])
    clock.shift(dt.timedelta(milliseconds=1))
    tasks.mark_failed_chunk(pks[2:4], "supplier closed")
    clock.shift(dt.timedelta(milliseconds=1))
    tasks.check_now_chunk(pks[4:])
    clock.shift(dt.timedelta(milliseconds=1))
    assert [task.name for task in queue.huey.pending()] == [
        "order_monitor.restart_chunk",
        "order_monitor.mark_failed_chunk",
        "order_monitor.check_now_chunk",
    ]
    queue.run_pending(max_tasks=3)
    assert list(MonitoredOrder.objects.order_by("pk").values_list("state", flat=True)) == ["watching"] * 2 + ["failed"] * 2 + ["watching"] * 2
    assert [call.message for call in hooks.terminal_calls] == ["supplier closed"] * 2
    assert sorted(task.args for task in queue.huey.pending() if task.name == "order_monitor.check_order_now") == [
        (pks[4],),
        (pks[5],),
    ]


@pytest.mark.parametrize(
    "action, done",
    [("monitor_stop", "Stopped monitoring 1200 orders."), ("monitor_extend_deadline", "Extended the deadline of 1200 orders by 24 hours.")],
)
def test_select_all_stop_and_extend_over_1200_rows_answer_in_the_request(operator, followed, action, done):
    followed(1200)
    response = select_all(operator, LEDGER, action)
    assert response.status_code == 200
    assert said(response) == [done]


def test_a_selection_at_the_threshold_is_still_handled_in_the_request(operator, followed, queue):
    followed(200)
    response = select_all(operator, LEDGER, "monitor_mark_failed")
    assert said(response) == ["Marked 200 orders failed."]
    assert states() == {"failed": 200}
    assert not queue.huey.pending()


@pytest.mark.services
def test_mark_failed_of_2000_orders_on_postgresql_keeps_the_request_short(operator, followed, queue):
    followed(2000)
    started = time.monotonic()
    response = select_all(operator, LEDGER, "monitor_mark_failed")
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert elapsed < 2.0, f"the request took {elapsed:.1f} s"
    assert said(response)[0].startswith("Queued 2000 orders to be marked failed in the background")

    queue.run_pending()
    assert states() == {"failed": 2000}
    per_order = collections.Counter(call.order_pk for call in hooks.terminal_calls)
    assert len(hooks.terminal_calls) == 2000 and len(per_order) == 2000
