"""Provider callbacks: signed pushes feed the same exactly-once path as polling."""

import json
import time

import pytest

from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.push import sign
from tests import hooks

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "cb-secret-0f3a"
URL = "/order-monitor/callback/memory/"


@pytest.fixture(autouse=True)
def _callbacks_on(settings):
    settings.ORDER_MONITOR_PROVIDERS = {
        "memory": {"ADAPTER": "django_order_monitor.testing.memory.InMemoryProvider", "CALLBACK_SECRET": SECRET}
    }
    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.record_terminal"
    hooks.terminal_calls.clear()


def push(client, payload, *, secret=SECRET, timestamp=None, url=URL):
    body = json.dumps(payload).encode()
    timestamp = str(int(timestamp if timestamp is not None else time.time()))
    return client.post(
        url,
        data=body,
        content_type="application/json",
        headers={"X-Order-Monitor-Timestamp": timestamp, "X-Order-Monitor-Signature": sign(secret, timestamp, body)},
    )


def test_a_signed_completion_finishes_the_order_once(client, make_order):
    order = make_order(referans="CB-1")
    payload = {"referans": "CB-1", "status": "Completed", "pin": "CB-PIN-1", "message": "ok"}
    response = push(client, payload)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "applied": True, "state": "completed"}
    assert "CB-PIN-1" not in response.content.decode()
    order.refresh_from_db()
    assert (order.pin_code, order.status, order.external_status) == ("CB-PIN-1", "approved", "done")
    assert StatusCheck.objects.get().source == "callback"

    # The provider sends it again a second later (a new signature): applied once only.
    time.sleep(1.01)
    again = push(client, payload)
    assert again.json() == {"ok": True, "applied": False, "state": "completed"}
    assert [t.source for t in hooks.terminal_calls] == ["callback"]


def test_a_replayed_push_is_rejected(client, make_order):
    make_order(referans="CB-2")
    body = json.dumps({"referans": "CB-2", "status": "processing"}).encode()
    timestamp = str(int(time.time()))
    headers = {"X-Order-Monitor-Timestamp": timestamp, "X-Order-Monitor-Signature": sign(SECRET, timestamp, body)}
    first = client.post(URL, data=body, content_type="application/json", headers=headers)
    second = client.post(URL, data=body, content_type="application/json", headers=headers)
    assert first.status_code == 200
    assert (second.status_code, second.json()["error"]) == (409, "replayed callback")


@pytest.mark.parametrize(
    "kwargs, status, error",
    [
        ({"secret": "wrong"}, 403, "bad signature"),
        ({"timestamp": time.time() - 3600}, 403, "timestamp outside the accepted window"),
        ({"url": "/order-monitor/callback/other/"}, 404, "callbacks are not enabled for this provider"),
    ],
    ids=["bad-signature", "stale", "unknown-provider"],
)
def test_unauthenticated_pushes_change_nothing(client, make_order, kwargs, status, error):
    order = make_order(referans="CB-3")
    response = push(client, {"referans": "CB-3", "status": "failed"}, **kwargs)
    assert (response.status_code, response.json()["error"]) == (status, error)
    order.refresh_from_db()
    assert order.status == "pending"
    assert MonitoredOrder.objects.get().state == "watching"


@pytest.mark.parametrize(
    "payload, error",
    [
        ({"referans": "CB-4", "status": "teleported"}, "unknown status word"),
        ({"referans": "CB-4", "status": "done", "pin": " - "}, "a completed order needs a storable PIN: completed without a PIN"),
        ({"status": "done"}, "body needs a 'referans'"),
        ({"referans": "NOPE", "status": "failed"}, "no followed order has this reference"),
    ],
)
def test_bad_pushes_are_refused_with_a_reason(client, make_order, payload, error):
    make_order(referans="CB-4")
    response = push(client, payload)
    assert response.json()["error"] == error
    assert MonitoredOrder.objects.get().state == "watching"


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


# -- issue 10, defect 11: one transaction per push, and headers that cannot break the endpoint -----------


def test_a_push_whose_terminal_callback_failed_is_accepted_on_the_identical_retry(client, make_order, settings):
    order = make_order(referans="CB-5")
    body = json.dumps({"referans": "CB-5", "status": "done", "pin": "CB-PIN-5"}).encode()
    timestamp = str(int(time.time()))
    headers = {"X-Order-Monitor-Timestamp": timestamp, "X-Order-Monitor-Signature": sign(SECRET, timestamp, body)}

    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.failing_terminal"
    failed = client.post(URL, data=body, content_type="application/json", headers=headers)
    assert failed.status_code == 503  # retryable: nothing of this push was kept
    order.refresh_from_db()
    assert (order.status, order.pin_code) == ("pending", None)
    assert MonitoredOrder.objects.get().state == "watching"
    assert not StatusCheck.objects.exists()

    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.record_terminal"
    retried = client.post(URL, data=body, content_type="application/json", headers=headers)
    assert retried.json() == {"ok": True, "applied": True, "state": "completed"}
    order.refresh_from_db()
    assert (order.status, order.pin_code) == ("approved", "CB-PIN-5")
    assert StatusCheck.objects.count() == 1
    assert len(hooks.terminal_calls) == 1


@pytest.mark.parametrize("signature", ["é" * 64, "ab\u200bcd", "\u0661\u0662"], ids=["latin", "zero-width", "arabic-digits"])
def test_a_non_ascii_signature_is_refused_not_a_crash(client, make_order, signature):
    make_order(referans="CB-6")
    response = client.post(
        URL,
        data=json.dumps({"referans": "CB-6", "status": "failed"}).encode(),
        content_type="application/json",
        headers={"X-Order-Monitor-Timestamp": str(int(time.time())), "X-Order-Monitor-Signature": signature},
    )
    assert (response.status_code, response.json()["error"]) == (403, "bad signature")
    assert MonitoredOrder.objects.get().state == "watching"


@pytest.mark.parametrize("timestamp", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "\u0661\u0667\u0660\u0660"])
def test_a_timestamp_that_is_not_a_finite_number_is_refused(client, make_order, timestamp):
    make_order(referans="CB-7")
    body = json.dumps({"referans": "CB-7", "status": "failed"}).encode()
    response = client.post(
        URL,
        data=body,
        content_type="application/json",
        headers={"X-Order-Monitor-Timestamp": timestamp, "X-Order-Monitor-Signature": sign(SECRET, timestamp, body)},
    )
    assert (response.status_code, response.json()["error"]) == (400, "missing or malformed X-Order-Monitor-Timestamp")
    assert MonitoredOrder.objects.get().state == "watching"
    assert not StatusCheck.objects.exists()


def test_a_pin_echoed_in_the_message_is_stored_masked(client, make_order, django_user_model):
    from io import StringIO

    from django.contrib.auth.models import Permission
    from django.core.management import call_command

    pin = "ECHO-7731-PIN"
    order = make_order(referans="CB-8")
    response = push(client, {"referans": "CB-8", "status": "done", "pin": pin, "message": f"delivered, code {pin}"})
    assert response.json()["state"] == "completed"
    order.refresh_from_db()
    assert order.pin_code == pin  # the shop gets it; the monitor's tables do not

    assert StatusCheck.objects.get().message == "delivered, code ***"
    entry = MonitoredOrder.objects.get()
    assert entry.last_message == "delivered, code ***"
    out = StringIO()
    call_command("order_monitor_explain", str(order.pk), stdout=out)
    assert pin not in out.getvalue()
    operator = django_user_model.objects.create_user("cb-operator", is_staff=True)
    operator.user_permissions.add(Permission.objects.get(codename="view_monitoredorder"))
    client.force_login(operator)
    page = client.get(f"/admin/order_monitor/monitoredorder/{entry.pk}/change/").content.decode()
    assert "delivered, code ***" in page and pin not in page


@pytest.mark.parametrize("pin", [False, True, [], ["P"], 0, 1234, {}, {"pin": "P"}, 1.5, "", "   ", "-"])
def test_a_completion_whose_pin_is_not_text_never_completes(client, make_order, pin):
    order = make_order(referans="CB-9")
    response = push(client, {"referans": "CB-9", "status": "done", "pin": pin})
    assert response.status_code == 400
    order.refresh_from_db()
    assert (order.status, order.external_status, order.pin_code) == ("pending", "sent", None)
    assert MonitoredOrder.objects.get().state == "watching"
    assert not StatusCheck.objects.exists()
    assert hooks.terminal_calls == []


@pytest.mark.parametrize(
    "pin, error",
    [("AB\x00CD", "'status', 'pin' and 'message' must be text"), ("AB\x07CD", "a completed order needs a storable PIN: PIN has characters that are not printable"),
     ("P" * 121, "a completed order needs a storable PIN: PIN is longer than the shop's column (121 > 120 characters)")],
    ids=["nul", "bell", "too-long"],
)
def test_a_completion_whose_pin_cannot_be_stored_unchanged_is_refused(client, make_order, pin, error):
    order = make_order(referans="CB-10")
    response = push(client, {"referans": "CB-10", "status": "done", "pin": pin})
    assert (response.status_code, response.json()["error"]) == (400, error)
    order.refresh_from_db()
    assert (order.status, order.pin_code) == ("pending", None)
    assert not StatusCheck.objects.exists()
