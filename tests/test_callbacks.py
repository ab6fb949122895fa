"""Provider callbacks: signed pushes feed the same exactly-once path as polling."""

import json
import time

import pytest

from django_order_monitor.callbacks import sign
from django_order_monitor.models import MonitoredOrder, StatusCheck
from tests import hooks

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "cb-secret-0f3a"
URL = "/order-monitor/callback/memory/"


@pytest.fixture(autouse=True)
def _callbacks_on(settings):
    settings.ORDER_MONITOR_PROVIDERS = {
        "memory": {"ADAPTER": "django_order_monitor.adapters.memory.InMemoryProvider", "CALLBACK_SECRET": SECRET}
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
        ({"referans": "CB-4", "status": "done", "pin": " - "}, "a completed order needs its PIN"),
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
