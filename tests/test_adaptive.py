"""AdaptivePolicy: checks at quantiles of the learned completion-time distribution."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from django_order_monitor.engine import adaptive
from django_order_monitor.engine.adaptive import AdaptivePolicy, CompletionModel
from django_order_monitor.engine.policy import Policy
from django_order_monitor.models import MonitoredOrder

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def _deterministic(settings):
    settings.ORDER_MONITOR_BACKOFF_JITTER = 0
    adaptive.clear_cache()
    yield
    adaptive.clear_cache()


class Fixed(AdaptivePolicy):
    """Learns from a given list instead of the database; counts the loads."""

    def __init__(self, history=(), **overrides):
        self.history = list(history)
        self.overrides = overrides
        self.loads = 0
        self.cache = {}
        self.now = 0.0
        self.clock = lambda: self.now

    def load_history(self, provider, product=""):
        self.loads += 1
        return self.history


def seconds_after(moment, start=T0):
    return (moment - start).total_seconds()


def test_model_cdf_and_quantiles():
    model = CompletionModel([(10, 1), (20, 1), (30, 1)], never=1)
    assert model.cdf(5) == 0 and model.cdf(10) == 0.25 and model.cdf(30) == 0.75
    assert model.time_of(0.25) == 10 and model.time_of(0.5) == 20
    assert model.time_of(0.9) is None  # only the never-ending orders are left
    assert model.next_check(10, 1 / 3) == 20  # a third of the 3 still open have ended by 20 s
    assert model.next_check(30, 0.5) is None


def test_prior_alone_gives_dense_checks_in_the_quick_window():
    policy = Fixed()
    first = policy.first_check(T0, T0, "p")
    assert 5 < seconds_after(first) < 15
    waits = []
    elapsed = seconds_after(first)
    while elapsed < 30:
        nxt = policy.after_answer(len(waits) + 1, T0 + dt.timedelta(days=1), T0 + dt.timedelta(seconds=elapsed), dispatched_at=T0, provider="p")
        waits.append(seconds_after(nxt.at) - elapsed)
        elapsed = seconds_after(nxt.at)
        assert nxt.by == "task"
    assert len(waits) <= 8 and max(waits) <= 8  # dense where 70 % of the orders end


def test_waits_grow_in_the_tail_and_stop_at_backoff_max(settings):
    policy = Fixed()
    deadline = T0 + dt.timedelta(days=1)

    def wait_at(elapsed):
        nxt = policy.after_answer(3, deadline, T0 + dt.timedelta(seconds=elapsed), dispatched_at=T0, provider="p")
        return seconds_after(nxt.at) - elapsed

    assert wait_at(15) < wait_at(60) < wait_at(300) <= 600  # sparse after the quick window
    assert wait_at(1500) < wait_at(300)  # the manual orders' hazard rises towards 30 min
    assert wait_at(5000) == 600  # BACKOFF_MAX: past every completion seen


def test_min_interval_deadline_and_sweep_hand_off(settings):
    policy = Fixed([29.0] * 1000, PRIOR_WEIGHT=0, MIN_INTERVAL=4)
    deadline = T0 + dt.timedelta(seconds=31)
    nxt = policy.after_answer(1, deadline, T0 + dt.timedelta(seconds=28), dispatched_at=T0, provider="p")
    assert seconds_after(nxt.at) == 31  # 28 + MIN_INTERVAL (4), cut to the deadline
    settings.ORDER_MONITOR_QUICK_ATTEMPTS = 5
    late = policy.after_answer(5, T0 + dt.timedelta(days=1), T0 + dt.timedelta(seconds=40), dispatched_at=T0, provider="p")
    assert (seconds_after(late.at), late.by) == (640, "sweep")  # tail wait >= SWEEP_INTERVAL: the sweep brings it
    early = policy.after_answer(4, T0 + dt.timedelta(days=1), T0 + dt.timedelta(seconds=40), dispatched_at=T0, provider="p")
    assert early.by == "task"


def test_learns_each_providers_history_from_the_ledger(db):
    now = timezone.now()
    for number in range(200):
        MonitoredOrder.objects.create(
            order_id=uuid.uuid4(), provider="slow", reference=f"R{number}", state="completed",
            dispatched_at=now - dt.timedelta(seconds=400), deadline_at=now, finished_at=now - dt.timedelta(seconds=100),
        )
    MonitoredOrder.objects.create(
        order_id=uuid.uuid4(), provider="slow", reference="T", state="timed_out",
        dispatched_at=now - dt.timedelta(days=1), deadline_at=now, finished_at=now,
    )
    MonitoredOrder.objects.create(  # too old for the window
        order_id=uuid.uuid4(), provider="slow", reference="OLD", state="completed",
        dispatched_at=now - dt.timedelta(days=30), deadline_at=now, finished_at=now - dt.timedelta(days=30),
    )
    policy = AdaptivePolicy()
    assert sorted(policy.load_history("slow"), key=lambda s: s is None) == [300.0] * 200 + [None]
    assert policy.load_history("other") == []
    policy.overrides = {"PRIOR_WEIGHT": 0}
    first = policy.first_check(now, now, "slow")
    assert seconds_after(first, now) == pytest.approx(300)  # every slow order ended after 300 s


def test_distribution_is_cached_per_provider_for_the_ttl():
    policy = Fixed([20.0] * 10, CACHE_TTL=300)
    policy.delay("p", 0)
    policy.delay("p", 5)
    assert policy.loads == 1
    policy.delay("q", 0)
    assert policy.loads == 2
    policy.now = 301
    policy.delay("p", 0)
    assert policy.loads == 3


def test_time_scale_compresses_the_prior():
    normal, fast = Fixed(), Fixed(TIME_SCALE=10)
    assert fast.delay("p", 0) == pytest.approx(normal.delay("p", 0) / 10, rel=0.05)


def test_without_dispatch_time_it_is_the_seed_schedule():
    deadline = T0 + dt.timedelta(days=1)
    assert Fixed().after_answer(2, deadline, T0) == Policy().after_answer(2, deadline, T0)


def finished(provider, product, seconds, count, now):
    MonitoredOrder.objects.bulk_create(
        MonitoredOrder(
            order_id=uuid.uuid4(), provider=provider, product=product, reference=f"{product}{n}", state="completed",
            dispatched_at=now - dt.timedelta(seconds=seconds + 60), deadline_at=now, finished_at=now - dt.timedelta(seconds=60),
        )
        for n in range(count)
    )


@pytest.mark.django_db
def test_each_product_is_learned_and_a_new_one_starts_from_its_provider():
    now = timezone.now()
    finished("znet", "pubg-60", 10, 300, now)  # a fast product...
    finished("znet", "gift-card-50", 600, 300, now)  # ...and a slow one of the same provider
    policy = AdaptivePolicy()
    policy.overrides = {"PRIOR_WEIGHT": 20}
    fast = seconds_after(policy.first_check(now, now, "znet", "pubg-60"), now)
    slow = seconds_after(policy.first_check(now, now, "znet", "gift-card-50"), now)
    provider_wide = seconds_after(policy.first_check(now, now, "znet"), now)
    new_product = seconds_after(policy.first_check(now, now, "znet", "never-sold-before"), now)
    assert fast == pytest.approx(10)  # its own history: every order ended at 10 s
    assert slow == pytest.approx(600)
    assert new_product == provider_wide  # no history of its own: the provider's model
    assert 10 <= provider_wide < 600


def test_a_product_with_little_history_leans_on_its_provider():
    base = CompletionModel([(10.0, 1.0)] * 100)
    few = CompletionModel.shrunk_toward([600.0] * 2, base, weight=50)
    many = CompletionModel.shrunk_toward([600.0] * 5000, base, weight=50)
    assert few.cdf(10) == pytest.approx(50 / 52) and few.samples == 2
    assert many.cdf(10) == pytest.approx(50 / 5050)
    assert CompletionModel.shrunk_toward([None], base, weight=50).never == 1


@pytest.mark.django_db(transaction=True)
def test_the_ledger_keeps_the_product_of_the_mapped_role(settings, make_order):
    settings.ORDER_MONITOR_FIELDS = {"product": "last_message"}  # any attribute of the shop's order
    order = make_order(last_message="pubg-60")
    assert MonitoredOrder.objects.get(order=order).product == "pubg-60"
    settings.ORDER_MONITOR_FIELDS = {}
    assert MonitoredOrder.objects.get(order=make_order()).product == ""
