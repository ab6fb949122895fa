"""ModelPolicy: every check placed by the completion-time model, over the whole life of the order."""

import datetime as dt

import pytest

from django_order_monitor.conf import app_settings
from django_order_monitor.engine import adaptive
from django_order_monitor.engine.placement import ModelPolicy

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(hours=24)


@pytest.fixture(autouse=True)
def _deterministic(settings):
    settings.ORDER_MONITOR_BACKOFF_JITTER = 0
    adaptive.clear_cache()
    yield
    adaptive.clear_cache()


def Learned(history=(), **overrides):  # noqa: N802 (reads as the policy it builds)
    """A ModelPolicy learning from ``history`` instead of the database, with its own cache."""
    policy = ModelPolicy()
    policy.overrides, policy.cache = overrides, {}
    policy.load_history = lambda provider, product="": list(history)
    return policy


def schedule(policy, until=DAY):
    """Seconds after dispatch of every check of an order that never ends, and who drives each."""
    at = policy.first_check(T0, T0)
    checks = []
    attempts = 0
    while at < T0 + until:
        attempts += 1
        nxt = policy.after_answer(attempts, T0 + DAY, at, dispatched_at=T0)
        checks.append(((at - T0).total_seconds(), nxt.by))
        at = nxt.at
    return checks


def test_with_the_prior_alone_checks_are_dense_where_orders_end_and_capped_in_the_tail():
    checks = schedule(Learned())
    seconds = [s for s, _ in checks]
    gaps = [b - a for a, b in zip(seconds, seconds[1:], strict=False)]
    assert seconds[0] <= 60  # the prior's quick orders end within 30 s
    assert all(gap <= app_settings.BACKOFF_MAX + 1e-6 for gap in gaps)
    # Past the last completion the prior knows (30 min), only the cap is left.
    assert all(gap == pytest.approx(app_settings.BACKOFF_MAX) for a, gap in zip(seconds, gaps, strict=False) if a > 1800)
    # The chained task drives every check, however many: no hand-off to the sweep.
    assert len(checks) > app_settings.QUICK_ATTEMPTS
    assert {by for _, by in checks} == {"task"}


def test_what_the_model_learned_decides_the_shape():
    slow = Learned([1000.0 + n for n in range(0, 400, 2)], PRIOR_WEIGHT=1)
    quick = Learned([5.0 + n / 10 for n in range(200)], PRIOR_WEIGHT=1, CALL_WORTH=2)
    slow_checks = [s for s, _ in schedule(slow, dt.timedelta(seconds=1400))]
    quick_checks = [s for s, _ in schedule(quick, dt.timedelta(seconds=60))]
    # Orders that take about 1000-1400 s are not asked about early, and are asked often then.
    assert slow_checks[0] >= 600
    assert sum(1 for s in slow_checks if 1000 <= s <= 1400) >= 3
    # Orders that take 5-25 s are asked about within them (when a call is worth little).
    assert quick_checks[0] <= 25


def test_a_call_worth_more_seconds_buys_fewer_checks():
    cheap = schedule(Learned(CALL_WORTH=5), dt.timedelta(hours=1))
    dear = schedule(Learned(CALL_WORTH=60), dt.timedelta(hours=1))
    assert len(dear) < len(cheap)


def test_the_chance_of_finding_an_order_ended_follows_the_model():
    policy = Learned([10.0] * 50 + [None] * 50, PRIOR_WEIGHT=1)
    # Half the orders end at 10 s, half never: after 10 s an open order is almost surely one of those.
    assert policy.find_chance(T0, T0, T0 + dt.timedelta(seconds=20)) == pytest.approx(0.5, abs=0.02)
    assert policy.find_chance(T0, T0 + dt.timedelta(seconds=20), T0 + dt.timedelta(hours=1)) == pytest.approx(0.0, abs=0.02)
