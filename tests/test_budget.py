"""The provider's call budget: which due checks get the calls when more are due than it allows."""

import datetime as dt

import pytest

from django_order_monitor import providers
from django_order_monitor.engine import budget
from django_order_monitor.engine.budget import Budget
from django_order_monitor.engine.following import start_monitoring
from django_order_monitor.engine.pipeline import check_order
from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.providers import get_provider, ratelimit
from django_order_monitor.testing import memory
from django_order_monitor.testing.fake_znet import FakeZnetServer
from tests.conftest import START


def steady(chance):
    """A chance that does not grow with the wait (the tests pick the figures)."""
    return lambda moment: chance


def ask_for(limiter, seconds, per_second):
    """Drive ``limiter`` for ``seconds`` with ``per_second`` = [(kind, chance, idle)] asks each second.

    Returns {kind: (admitted, asked)} and the shortest put-off seen."""
    counts, shortest = {}, float("inf")
    for second in range(seconds):
        for number, (kind, chance, idle) in enumerate(per_second):
            now = second + number / len(per_second)
            wait = limiter.admit(steady(chance), now - idle, now)
            admitted, asked = counts.get(kind, (0, 0))
            counts[kind] = (admitted + (wait is None), asked + 1)
            if wait is not None:
                shortest = min(shortest, wait)
    return counts, shortest


def test_without_over_demand_every_due_check_calls_at_once():
    counts, _ = ask_for(Budget(10), 120, [("any", 0.01, 30)] * 5)
    assert counts["any"] == (600, 600)


def test_under_over_demand_the_calls_go_to_the_checks_likely_to_find_their_order_ended():
    limiter = Budget(2)
    asks = [("unlikely", 0.01, 60)] * 10 + [("likely", 0.8, 20)]
    counts, shortest = ask_for(limiter, 600, asks)
    likely_admitted, likely_asked = counts["likely"]
    unlikely_admitted, unlikely_asked = counts["unlikely"]
    # First come, first served would give each ask the same share (about 1 in 6 here).
    assert likely_admitted >= 0.9 * likely_asked
    assert unlikely_admitted <= 0.1 * unlikely_asked
    # The budget is never overspent: calls accrue at TARGET x rate, plus what was saved up.
    assert likely_admitted + unlikely_admitted <= 600 * 2 * budget.DEFAULT_OPTIONS["TARGET"] + limiter.depth
    # A put-off check is not retried in a tight loop.
    assert shortest >= budget.DEFAULT_OPTIONS["MIN_DEFER"]


def test_dispatch_calls_go_first():
    limiter = Budget(2)
    admitted = 0
    for second in range(300):  # two dispatch calls a second: all of the rate
        limiter.note_dispatch()
        limiter.note_dispatch()
        admitted += limiter.admit(steady(1.0), second - 60, second) is None
    # The checks got only the calls saved up before dispatch took the rest.
    assert admitted <= limiter.depth


def test_an_order_not_asked_for_long_outranks_fresh_checks_so_none_starves():
    limiter = Budget(1)
    fresh = [("fresh", 0.5, 10)] * 5
    ask_for(limiter, 300, fresh)  # sustained over-demand sets the price
    assert limiter.state(300)["price"] > 0
    waited = budget.DEFAULT_OPTIONS["AGING"]
    # Seconds later, with a call saved up: the order that never ends but waited AGING seconds gets it.
    assert limiter.admit(steady(0.0), 302 - waited, 302) is None


def test_a_put_off_check_comes_back_when_its_chance_reaches_the_price():
    limiter = Budget(1)
    ask_for(limiter, 300, [("fresh", 0.5, 10)] * 5)
    price = limiter.state(300)["price"]
    assert 0.05 < price < 1

    def growing(moment):  # the chance of an order last asked at 300: 1 % a second
        return min(1.0, (moment - 300) / 100)

    wait = limiter.admit(growing, 300, 301)
    # Put off, not to a fixed step: to the moment its chance is worth the price (MIN_DEFER at least).
    assert wait is not None
    expected = max(budget.DEFAULT_OPTIONS["MIN_DEFER"], 300 + 100 * price - 301)
    assert expected - 1.5 <= wait <= expected + 1.5  # (aging brings it a little sooner)


@pytest.mark.django_db(transaction=True)
def test_checks_the_budget_cannot_afford_are_put_off_without_asking_or_using_an_attempt(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_BACKOFF_JITTER = 0
    # 20 calls a second, none saved up: with the clock frozen, one call per moment.
    settings.ORDER_MONITOR_RATE_LIMIT = {"min_interval": 0.05}
    settings.ORDER_MONITOR_BUDGET = {"BURST": 0.01}
    budget.reset()
    orders = [make_order(referans=f"B-{n}") for n in range(3)]
    queue.run_until(START + dt.timedelta(seconds=60))  # the three first checks are due together

    assert sum(memory.calls[f"B-{n}"] for n in range(3)) == 1
    put_off = MonitoredOrder.objects.filter(answered_checks=0)
    assert put_off.count() == 2
    shortest = dt.timedelta(seconds=budget.DEFAULT_OPTIONS["MIN_DEFER"])
    assert all(entry.next_check_at >= START + dt.timedelta(seconds=60) + shortest for entry in put_off)
    assert not StatusCheck.objects.filter(monitored_order__in=put_off).exists()

    # They come back later, by their task (not lost), and are asked.
    queue.run_until(START + dt.timedelta(seconds=80))
    assert all(memory.calls[f"B-{n}"] >= 1 for n in range(3))
    assert MonitoredOrder.objects.filter(order__in=orders, state="watching").count() == 3
    budget.reset()


@pytest.mark.django_db(transaction=True)
def test_an_operators_check_is_asked_whatever_the_budget(clock, make_order, settings):
    settings.ORDER_MONITOR_RATE_LIMIT = {"min_interval": 0.05}
    settings.ORDER_MONITOR_BUDGET = {"BURST": 0.01}
    budget.reset()
    entries = [start_monitoring(make_order(referans=f"OP-{n}")) for n in range(3)]
    reports = [check_order(entry.pk, force=True, source="admin") for entry in entries]
    assert [report.ran for report in reports] == [True, True, True]
    assert [memory.calls[f"OP-{n}"] for n in range(3)] == [1, 1, 1]
    budget.reset()


@pytest.mark.django_db(transaction=True)
def test_dispatch_through_the_adapter_takes_its_calls_before_the_checks(clock, queue, make_order, settings):
    """The shop's pin_ekle calls through get_provider() spend the budget the consumers' checks share."""
    with FakeZnetServer(kod="k", sifre="s", time_scale=60) as fake:
        # A name of its own: no other test's (or consumer's) budget state under it.
        settings.ORDER_MONITOR_PROVIDERS = {
            "znet-dispatch": {
                "ADAPTER": "django_order_monitor.providers.adapters.znet.ZnetProvider",
                "OPTIONS": {"base_url": fake.url, "kod": "k", "sifre": "s"},
            },
        }
        settings.ORDER_MONITOR_DEFAULT_PROVIDER = "znet-dispatch"
        settings.ORDER_MONITOR_BACKOFF_JITTER = 0
        # 20 calls a second, one second of them saved up at most.
        settings.ORDER_MONITOR_RATE_LIMIT = {"min_interval": 0.05, "max_wait": 10}
        settings.ORDER_MONITOR_BUDGET = {"BURST": 1}
        ratelimit.reset_backend()
        budget.reset()
        providers.forget()
        try:
            for n in range(11):
                fake.add_order(f"D-{n}", outcome="never")
            make_order(referans="D-0")
            queue.run_until(START + dt.timedelta(seconds=60))  # one check: 19 calls left
            assert fake.stats()["calls_per_referans"] == {"D-0": 1}
            waiting = [make_order(referans=f"D-{n}") for n in range(1, 11)]  # first checks due at +120 s
            clock.move_to(START + dt.timedelta(seconds=120))
            for n in range(25):  # customers buy: 25 orders sent at this moment
                get_provider("znet-dispatch").place_order(f"X-{n}", oyun="1", kupur="10")
            queue.run_until(START + dt.timedelta(seconds=120))

            asked = fake.stats()["calls_per_referans"]
            # Dispatch took the 19 calls and more: none of the 10 due checks called.
            assert not any(asked.get(f"D-{n}") for n in range(1, 11)), asked
            put_off = MonitoredOrder.objects.filter(order__in=waiting, answered_checks=0, failed_checks=0)
            assert put_off.count() == 10
        finally:
            budget.reset()
            ratelimit.reset_backend()
            providers.forget()
