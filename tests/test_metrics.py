"""Prometheus metrics at the shop's URL: who may scrape, what is counted, what is never there.

The consumer's own port is scraped in tests/integration/test_metrics_consumer.py.
"""

import datetime as dt
import sys
import uuid

import pytest
from django.contrib.auth.models import Permission, User
from django.core.checks import run_checks
from prometheus_client.parser import text_string_to_metric_families

from django_order_monitor import metrics
from django_order_monitor.engine import transitions
from django_order_monitor.engine.pipeline import check_order
from django_order_monitor.exceptions import ProviderTimeout
from django_order_monitor.models import MonitoredOrder, ProviderHealth
from django_order_monitor.providers import ratelimit
from django_order_monitor.providers.adapters.base import Outcome, StatusResult
from django_order_monitor.testing import memory
from tests.conftest import START

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/order-monitor/metrics"
TOKEN = "scrape-token-for-tests"
PIN = "PIN1-2345-6789-ABCD"


@pytest.fixture(autouse=True)
def metrics_on(settings):
    settings.ORDER_MONITOR_METRICS = {"TOKEN": TOKEN}
    settings.ORDER_MONITOR_BACKOFF_JITTER = 0


def scrape(client, token=TOKEN):
    """The scrape as Prometheus reads it: {(sample name, sorted labels): value}."""
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, text


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


def test_no_url_while_metrics_are_off(client, settings):
    settings.ORDER_MONITOR_METRICS = None
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


def test_a_scrape_needs_the_token_or_a_staff_login_with_view_permission(client):
    assert client.get(URL).status_code == 401
    assert client.get(URL, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get(URL, HTTP_AUTHORIZATION=TOKEN).status_code == 401  # a bearer token, not the bare token
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200

    staff = User.objects.create_user("ops", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(URL).status_code == 401
    staff.user_permissions.add(Permission.objects.get(codename="view_monitoredorder"))
    client.force_login(User.objects.get(pk=staff.pk))
    assert client.get(URL).status_code == 200
    client.force_login(User.objects.create_user("shopper", password="pw"))
    assert client.get(URL).status_code == 401


def test_checks_transitions_latency_and_time_to_pin_are_counted(client, clock, queue, make_order):
    before, _ = scrape(client)
    completes, fails = make_order(referans="R-DONE"), make_order(referans="R-FAIL")
    queue.run_until(START + dt.timedelta(seconds=100))  # first checks at 60 s, then 90 s: processing twice each
    memory.complete("R-DONE", pin=PIN)
    memory.fail("R-FAIL", message="iptal")
    queue.run_until(START + dt.timedelta(minutes=10))  # third check at 150 s finds the answers

    after, text = scrape(client)
    assert delta(before, after, "order_monitor_checks_total", provider="memory", result="processing") == 4
    assert delta(before, after, "order_monitor_checks_total", provider="memory", result="completed") == 1
    assert delta(before, after, "order_monitor_checks_total", provider="memory", result="failed") == 1
    assert delta(before, after, "order_monitor_transitions_total", provider="memory", outcome="completed") == 1
    assert delta(before, after, "order_monitor_transitions_total", provider="memory", outcome="failed") == 1
    assert delta(before, after, "order_monitor_provider_latency_seconds_count", provider="memory") == 6
    # Time to PIN: dispatched at START, the PIN written by the check at 150 s.
    assert delta(before, after, "order_monitor_time_to_pin_seconds_count", provider="memory") == 1
    assert delta(before, after, "order_monitor_time_to_pin_seconds_sum", provider="memory") == pytest.approx(150)
    assert delta(before, after, "order_monitor_time_to_pin_seconds_bucket", provider="memory", le="120.0") == 0
    assert delta(before, after, "order_monitor_time_to_pin_seconds_bucket", provider="memory", le="300.0") == 1
    # Bounded labels: no PIN, reference or order id in a scrape.
    for secret_or_id in (PIN, "R-DONE", "R-FAIL", str(completes.pk), str(fails.pk)):
        assert secret_or_id not in text


def test_failed_queries_breaker_pauses_and_rate_limit_deferrals_are_counted(client, clock, make_order, settings):
    settings.ORDER_MONITOR_BREAKER_THRESHOLD = 1
    before, _ = scrape(client)
    entry = MonitoredOrder.objects.get(order=make_order(referans="R-DOWN"))
    memory.set_answer("R-DOWN", ProviderTimeout("read timeout"))
    check_order(entry.pk, force=True)

    paused, _ = scrape(client)
    assert delta(before, paused, "order_monitor_checks_total", provider="memory", result="transport_error") == 1
    assert delta(before, paused, "order_monitor_breaker_pauses_total", provider="memory") == 1
    assert value(paused, "order_monitor_breaker_open", provider="memory") == 1

    ProviderHealth.objects.all().delete()
    from django_order_monitor.providers import breaker

    breaker.forget_all()
    settings.ORDER_MONITOR_RATE_LIMIT = {"max_concurrent": 1, "max_wait": 0}
    ratelimit.reset_backend()
    try:
        with ratelimit.call_slot("memory"):  # another worker holds the only call slot
            report = check_order(entry.pk, force=True)
    finally:
        ratelimit.reset_backend()
    assert report.skipped_reason.startswith("deferred: memory: no free call slot")
    after, _ = scrape(client)
    assert delta(paused, after, "order_monitor_rate_limit_deferrals_total", provider="memory") == 1
    assert value(after, "order_monitor_breaker_open", provider="memory") == 0


def test_checks_the_call_budget_puts_off_are_counted(client, clock, queue, make_order, settings):
    from django_order_monitor.engine import budget

    # 20 calls a second, none saved up: with the clock frozen, one call per moment.
    settings.ORDER_MONITOR_RATE_LIMIT = {"min_interval": 0.05}
    settings.ORDER_MONITOR_BUDGET = {"BURST": 0.01}
    budget.reset()
    before, _ = scrape(client)
    for n in range(3):
        make_order(referans=f"R-BUDGET-{n}")
    try:
        queue.run_until(START + dt.timedelta(seconds=60))  # three first checks due together, one call afforded
    finally:
        budget.reset()
    after, _ = scrape(client)
    assert delta(before, after, "order_monitor_budget_deferrals_total", provider="memory") == 2
    assert delta(before, after, "order_monitor_provider_latency_seconds_count", provider="memory") == 1


def test_late_completions_are_counted_once(client, make_order):
    entry = MonitoredOrder.objects.get(order=make_order(referans="R-LATE"))
    before, _ = scrape(client)
    transitions.finish(entry, "timed_out", source="deadline")
    for _push in range(2):  # a replayed push tells the shop once
        transitions.apply_result(entry, StatusResult(Outcome.COMPLETED, pin=PIN, provider_status="2"), source="callback")
    after, text = scrape(client)
    assert delta(before, after, "order_monitor_late_completions_total", provider="memory") == 1
    assert delta(before, after, "order_monitor_transitions_total", provider="memory", outcome="timed_out") == 1
    assert PIN not in text


def ledger(n, **fields):
    fields.setdefault("dispatched_at", START - dt.timedelta(minutes=30))
    fields.setdefault("deadline_at", START + dt.timedelta(hours=23))
    return MonitoredOrder.objects.create(order_id=uuid.UUID(int=n), provider="memory", reference=f"G-{n}", **fields)


def test_gauges_are_read_from_the_database_at_each_scrape(client, clock):
    ledger(1, next_check_at=START + dt.timedelta(minutes=1))
    ledger(2, next_check_at=START - dt.timedelta(minutes=20))  # overdue: later than grace + sweep interval
    ledger(3, next_check_at=START + dt.timedelta(minutes=1), consecutive_failed_checks=3)  # stuck: failing queries
    ledger(4, state="completed", finished_at=START)
    samples, _ = scrape(client)
    assert value(samples, "order_monitor_followed_orders") == 3
    assert value(samples, "order_monitor_overdue_orders") == 1
    assert value(samples, "order_monitor_stuck_orders") == 1
    assert value(samples, "order_monitor_breaker_open", provider="memory") == 0
    # The call budget: one check due (20 minutes late), no call made, no rate limit in these settings.
    assert value(samples, "order_monitor_due_checks", provider="memory") == 1
    assert value(samples, "order_monitor_oldest_due_check_seconds", provider="memory") == 1200
    assert value(samples, "order_monitor_provider_calls_per_second", provider="memory") == 0
    assert ("order_monitor_provider_call_limit_per_second", (("provider", "memory"),)) not in samples
    # No rate limit, so no budget: no dispatch counted, every due check calls.
    assert value(samples, "order_monitor_provider_dispatch_calls_per_second", provider="memory") == 0
    assert value(samples, "order_monitor_budget_chance_needed", provider="memory") == 0

    MonitoredOrder.objects.filter(state="watching").update(state="stopped")
    samples, _ = scrape(client)
    assert value(samples, "order_monitor_followed_orders") == 0
    assert value(samples, "order_monitor_overdue_orders") == 0


def test_without_prometheus_client_checks_run_and_the_check_names_the_extra(client, make_order, monkeypatch):
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # "not installed": importing it fails
    monkeypatch.setattr(metrics, "_instruments", None)
    assert [(m.id, m.msg) for m in run_checks() if m.id.startswith("order_monitor.")] == [
        ("order_monitor.E020", "ORDER_MONITOR_METRICS is set but prometheus-client is not installed.")
    ]
    entry = MonitoredOrder.objects.get(order=make_order(referans="R-NOLIB"))
    memory.complete("R-NOLIB", pin=PIN)
    assert check_order(entry.pk, force=True).state == "completed"
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert (response.status_code, response.content) == (503, b"prometheus-client is not installed\n")
