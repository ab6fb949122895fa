"""A Prometheus scrape of a running consumer: PostgreSQL, Redis, ``run_huey`` and a local znet.

The consumer serves its metrics on its own port (ORDER_MONITOR_METRICS' PORT);
the scrape is parsed with prometheus-client's own parser, and its counts must
agree with the check history and the ledger the consumer wrote.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.testing import wait_until
from tests.integration.consumers import Consumer, consumer_env
from tests.integration.test_consumer import fake_znet, legacy_orders  # noqa: F401  (fixtures)
from tests.testapp.models import ProductOrder

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ORDERS = 40
TOKEN = "consumer-scrape-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scrape(port: int, token: str | None = TOKEN) -> tuple[dict, str]:
    """{(sample name, sorted labels): value} and the text, as Prometheus would read the port."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, text


def total(samples: dict, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (sample, sample_labels), value in samples.items() if sample == name and wanted <= set(sample_labels))


def test_a_running_consumer_serves_its_checks_and_the_databases_gauges(fake_znet, legacy_orders, tmp_path):  # noqa: F811
    port = free_port()
    env = consumer_env(fake_znet.url, ORDER_MONITOR_TEST_METRICS_PORT=str(port), ORDER_MONITOR_TEST_METRICS_TOKEN=TOKEN,
                       ORDER_MONITOR_TEST_LOG_LEVEL="INFO")
    consumer = Consumer(env, tmp_path, "metrics", workers=4)
    try:
        consumer.wait_for_line(f"Metrics served on http://127.0.0.1:{port}/metrics", timeout=60)
        with pytest.raises(urllib.error.HTTPError) as refused:
            scrape(port, token=None)
        refused.value.close()  # an HTTPError holds the response open
        assert refused.value.code == 401

        references = [f"5500{number:08d}" for number in range(ORDERS)]
        for referans in references:
            fake_znet.add_order(referans)
            ProductOrder.objects.create(external_status="sent", provider_referans=referans, sent_at=timezone.now())
        while_running, _ = scrape(port)
        assert total(while_running, "order_monitor_followed_orders") == ORDERS

        finished = wait_until(lambda: not MonitoredOrder.objects.active().exists(), timeout=120, interval=1)
        assert finished, consumer.log()[-3000:]
        samples, text = scrape(port)
    finally:
        code = consumer.stop()
    assert code == 0, consumer.log()[-3000:]

    ended = {state: MonitoredOrder.objects.filter(state=state).count() for state in ("completed", "failed", "timed_out")}
    assert sum(ended.values()) == ORDERS and ended["completed"] > ORDERS / 2
    for outcome, count in ended.items():
        assert total(samples, "order_monitor_transitions_total", provider="znet", outcome=outcome) == count
    # Every history row the consumer wrote is counted, under its result.
    for result in StatusCheck.Result.values:
        rows = StatusCheck.objects.filter(result=result).count()
        assert total(samples, "order_monitor_checks_total", provider="znet", result=result) == rows, result
    provider_calls = sum(fake_znet.stats()["calls_per_referans"].values())
    assert total(samples, "order_monitor_provider_latency_seconds_count", provider="znet") == provider_calls
    assert total(samples, "order_monitor_time_to_pin_seconds_count", provider="znet") == ended["completed"]
    assert 0 < total(samples, "order_monitor_time_to_pin_seconds_sum", provider="znet") < ended["completed"] * 60
    assert total(samples, "order_monitor_followed_orders") == 0
    assert total(samples, "order_monitor_overdue_orders") == 0
    assert total(samples, "order_monitor_breaker_open", provider="znet") == 0
    # Bounded labels: no reference and no PIN in the scrape.
    pins = [plan["pin"] for plan in fake_znet.stats()["orders"].values() if plan.get("pin")]
    assert pins
    for secret_or_reference in pins + references:
        assert secret_or_reference not in text
