"""Property: whatever reaches the push URL, the answer is 2xx or 4xx, and nothing is written unsigned."""

import json
import time

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_order_monitor.models import CallbackReceipt, MonitoredOrder, StatusCheck
from django_order_monitor.push import sign
from tests.testapp.models import ProductOrder

pytestmark = pytest.mark.django_db

SECRET = "prop-secret-91c2"
URL = "/order-monitor/callback/memory/"
REFERANS = "PROP-1"

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Header text as a client could send it: empty, non-ASCII, control characters, huge.
header_text = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="latin-1"), max_size=80),
    st.sampled_from(["", "nan", "inf", "-inf", "1e999", "0", "-1", " 1 ", "٣", "é" * 64]),
    st.builds(lambda n: "9" * n, st.integers(0, 5000)),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
status_words = st.sampled_from(["done", "Completed", "failed", "processing", "sent", "teleported", ""]) | json_values
#: Bodies shaped like a push, with every field free to be wrong.
push_like = st.fixed_dictionaries(
    {},
    optional={
        "referans": st.sampled_from([REFERANS, f" {REFERANS} ", "NOPE"]) | json_values,
        "status": status_words,
        "pin": st.sampled_from(["PIN-1", "-", "", "P" * 200, "A\x00B"]) | json_values,
        "message": st.sampled_from(["code PIN-1"]) | json_values,
    },
)
any_json_body = st.one_of(push_like, json_values).map(lambda value: json.dumps(value).encode())
any_body = st.one_of(
    st.binary(max_size=300),
    any_json_body,
    st.sampled_from([b"[" * 100_000, b'{"referans": "PROP-1", "status": "done", "pin": "\\ud800"}']),
)


@pytest.fixture
def world(settings, make_order):
    settings.ORDER_MONITOR_PROVIDERS = {
        "memory": {"ADAPTER": "django_order_monitor.testing.memory.InMemoryProvider", "CALLBACK_SECRET": SECRET}
    }
    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.record_terminal"
    return make_order(referans=REFERANS)


def snapshot(order):
    row = ProductOrder.objects.filter(pk=order.pk).values().get()
    entry = MonitoredOrder.objects.values().get(order_id=order.pk)
    return row, entry, StatusCheck.objects.count(), CallbackReceipt.objects.count()


def post(body, headers):
    # A fresh client: a response must never depend on what an earlier example left in a session.
    return Client().post(URL, data=body, content_type="application/json", headers=headers)


@PROPERTY
@given(body=any_body, timestamp=header_text, signature=header_text, extra=st.dictionaries(
    st.sampled_from(["Content-Type", "X-Forwarded-For", "Authorization"]), header_text, max_size=2))
def test_unsigned_pushes_answer_4xx_and_write_nothing(world, body, timestamp, signature, extra):
    before = snapshot(world)
    response = post(body, {**extra, "X-Order-Monitor-Timestamp": timestamp, "X-Order-Monitor-Signature": signature})
    assert 400 <= response.status_code < 500
    assert snapshot(world) == before


@PROPERTY
@given(body=any_body, timestamp=header_text)
def test_a_signature_over_another_secret_or_time_writes_nothing(world, body, timestamp):
    before = snapshot(world)
    now = str(int(time.time()))
    wrong_secret = post(body, {"X-Order-Monitor-Timestamp": now, "X-Order-Monitor-Signature": sign("other", now, body)})
    assert 400 <= wrong_secret.status_code < 500
    if timestamp.isascii():
        stale = str(int(time.time()) - 3600)
        signed_then = {"X-Order-Monitor-Timestamp": stale, "X-Order-Monitor-Signature": sign(SECRET, stale, body)}
        assert 400 <= post(body, signed_then).status_code < 500
    assert snapshot(world) == before


@PROPERTY
@given(body=any_body)
def test_validly_signed_bodies_answer_2xx_or_4xx(world, body):
    now = str(int(time.time()))
    # Only this push's history rows: earlier examples' texts may contain a short PIN by chance.
    seen = set(StatusCheck.objects.values_list("pk", flat=True))
    response = post(body, {"X-Order-Monitor-Timestamp": now, "X-Order-Monitor-Signature": sign(SECRET, now, body)})
    assert response.status_code < 500
    order = ProductOrder.objects.get(pk=world.pk)
    if response.status_code >= 400:
        return
    # Accepted: a completed order holds a real PIN, exactly as a push sent it.
    if order.status == "approved":
        assert isinstance(order.pin_code, str) and order.pin_code.strip() and order.pin_code not in ("-",)
        assert not any(order.pin_code in check.message for check in StatusCheck.objects.exclude(pk__in=seen))
