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
    # No check history (pruned, or never kept): each ended somewhere between its dispatch and the
    # terminal answer 300 s later, learned at the middle.
    assert sorted(policy.load_history("slow"), key=lambda s: s is None) == [150.0] * 200 + [None]
    assert policy.load_history("other") == []
    policy.overrides = {"PRIOR_WEIGHT": 0}
    first = policy.first_check(now, now, "slow")
    assert seconds_after(first, now) == pytest.approx(150)  # every slow order ended by about 150 s


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
    """``count`` orders without check history, learned as ending ``seconds`` after dispatch
    (the middle of dispatch and a terminal answer twice as late)."""
    MonitoredOrder.objects.bulk_create(
        MonitoredOrder(
            order_id=uuid.uuid4(), provider=provider, product=product, reference=f"{product}{n}", state="completed",
            dispatched_at=now - dt.timedelta(seconds=2 * seconds + 60), deadline_at=now, finished_at=now - dt.timedelta(seconds=60),
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


@pytest.mark.django_db(transaction=True)
def test_learns_when_orders_ended_at_the_provider_not_when_the_monitor_saw_it(
    clock, queue, make_order, django_assert_num_queries
):
    """The seed policy checks at 60, 90, 150, 270, 510 s: an order that ends between two checks is
    seen at the later one. What is learned is the middle of the gap it ended in (the last
    "still processing" answer, or the dispatch, up to the terminal answer), not the moment it was seen."""
    from django_order_monitor.exceptions import ProviderTimeout
    from django_order_monitor.testing import memory
    from tests.conftest import START

    def done(reference):
        return lambda: memory.complete(reference, pin="AB12-CD34-EF56-GH78")

    # (reference, true end in seconds, seen at, learned: middle of the gap it ended in)
    expected = [
        ("A", 20, 60, 30.0),  # before the first check: between the dispatch and 60 s
        ("B", 75, 90, 75.0),
        ("C", 110, 150, 120.0),  # a failure is learned the same way
        ("D", 200, 270, 210.0),
        ("E", 400, 510, 390.0),
        # Ended at 85 s, but the 90 s query failed (no answer: the order may have ended before it),
        # so the gap runs from the last "processing" answer (60 s) to the answer at 120 s.
        ("ERR", 85, 120, 90.0),
    ]
    events = sorted([
        (20, done("A")),
        (75, done("B")),
        (110, lambda: memory.fail("C")),
        (200, done("D")),
        (400, done("E")),
        (85, lambda: memory.set_answer("ERR", ProviderTimeout("memory: timed out", provider="memory"))),
        (100, done("ERR")),
    ], key=lambda event: event[0])
    for reference, *_ in expected:
        make_order(referans=reference)
    for at, happen in events:
        queue.run_until(START + dt.timedelta(seconds=at))
        happen()
    queue.run_until(START + dt.timedelta(minutes=20))

    seen = {e.reference: (e.state, seconds_after(e.finished_at, START)) for e in MonitoredOrder.objects.all()}
    assert seen == {ref: ("failed" if ref == "C" else "completed", float(at)) for ref, _, at, _ in expected}
    with django_assert_num_queries(1):  # the gaps are read with the samples
        learned = AdaptivePolicy().load_history("memory")
    assert sorted(learned) == sorted(middle for *_, middle in expected)
    # Every learned time is within half its gap of the true end; the detection times were not.
    by_order = dict(zip(MonitoredOrder.objects.order_by("-finished_at").values_list("reference", flat=True), learned, strict=True))
    for reference, true_end, _, _ in expected:
        assert abs(by_order[reference] - true_end) <= 30, reference
    assert sum(learned) / len(learned) == pytest.approx(152.5)  # true ends average 148 s; seen at 200 s on average


@pytest.mark.django_db(transaction=True)
def test_an_end_told_by_a_push_is_learned_as_it_is(clock, queue, make_order):
    """A terminal push arrives when the order ends: nothing to impute. An answer the gate
    refused never counts as "still open" (the order had in fact ended)."""
    from django_order_monitor.engine import transitions
    from django_order_monitor.providers.adapters.base import Outcome, StatusResult
    from django_order_monitor.testing import memory
    from tests.conftest import START

    make_order(referans="P")
    make_order(referans="Q")
    queue.run_until(START + dt.timedelta(seconds=100))  # "processing" at 60 and 90 s
    transitions.apply_result(
        MonitoredOrder.objects.get(reference="P"), StatusResult(Outcome.COMPLETED, pin="AB12-CD34-EF56-GH78"),
        source="callback",
    )
    memory.complete("P", pin="AB12-CD34-EF56-GH78")
    queue.run_until(START + dt.timedelta(seconds=140))
    # Q completes at 140 s, but its push carries no PIN: refused, recorded as a query error.
    transitions.apply_result(MonitoredOrder.objects.get(reference="Q"), StatusResult(Outcome.COMPLETED, pin=""), source="callback")
    assert MonitoredOrder.objects.get(reference="Q").state == "watching"
    memory.complete("Q", pin="AB12-CD34-EF56-GH78")
    queue.run_until(START + dt.timedelta(minutes=5))  # the poll at 150 s sees it
    seen = dict(MonitoredOrder.objects.values_list("reference", "finished_at"))
    assert {ref: seconds_after(at, START) for ref, at in seen.items()} == {"P": 100.0, "Q": 150.0}
    # P: the push's moment. Q: between the last "processing" (90 s) and 150 s, not from the refused answer.
    assert sorted(AdaptivePolicy().load_history("memory")) == [100.0, 120.0]
