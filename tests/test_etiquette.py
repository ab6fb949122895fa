"""Provider etiquette: concurrency and minimum gaps per provider, shared through Redis."""

import threading
import time

import pytest
from django.conf import settings as django_settings

from django_order_monitor.providers import ratelimit


@pytest.fixture
def limits(settings):
    def apply(**limit):
        settings.ORDER_MONITOR_RATE_LIMIT = {"max_wait": 5, **limit}
        ratelimit.reset_backend()

    yield apply
    ratelimit.reset_backend()


def run_calls(count, threads, hold=0.0, provider="memory"):
    """Run ``count`` calls from ``threads`` threads; returns (start, end) monotonic pairs."""
    spans, lock = [], threading.Lock()
    todo = iter(range(count))

    def worker():
        for _ in todo:
            with ratelimit.call_slot(provider):
                started = time.monotonic()
                time.sleep(hold)
                with lock:
                    spans.append((started, time.monotonic()))

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sorted(spans)


def max_overlap(spans):
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    current = peak = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def test_calls_keep_the_minimum_gap(limits):
    limits(min_interval=0.05)
    spans = run_calls(8, threads=4)
    # Slots are 50 ms apart, so 8 calls span at least 7 gaps. (Single gaps are not
    # compared: a thread that wakes late shortens the gap to the next one.)
    assert spans[-1][0] - spans[0][0] >= 0.30


def test_no_more_than_max_concurrent_calls_in_flight(limits):
    limits(max_concurrent=2)
    spans = run_calls(12, threads=6, hold=0.02)
    assert max_overlap(spans) == 2


def test_no_slot_within_max_wait_raises_rate_limited(limits, settings):
    settings.ORDER_MONITOR_RATE_LIMIT = {"max_concurrent": 1, "max_wait": 0.05}
    ratelimit.reset_backend()
    with ratelimit.call_slot("memory"):
        with pytest.raises(ratelimit.RateLimited, match="no free call slot within 0.05s"):
            with ratelimit.call_slot("memory"):
                pass


def test_a_call_waiting_for_its_turn_holds_no_slot(limits):
    """Slots are taken when the call starts: waiting callers hold none (a killed waiter loses none)."""
    limits(min_interval=0.15, max_concurrent=4)
    seen, done = [], threading.Event()

    def watch():
        while not done.is_set():
            seen.append(len(ratelimit.backend().holders("memory")))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        spans = run_calls(6, threads=6, hold=0.01)
    finally:
        done.set()
        watcher.join()
    assert len(spans) == 6 and max_overlap(spans) == 1
    # Six callers queue for their turns; never more than the one calling holds a slot.
    assert max(seen) == 1


def test_a_waiting_dispatch_call_goes_before_the_status_checks(limits):
    """A customer is waiting: the checks already queued for their turn let a dispatch call go first."""
    limits(min_interval=0.2)
    started = {}

    def call(name, dispatch, after):
        time.sleep(after)
        with ratelimit.call_slot("memory", dispatch=dispatch):
            started[name] = time.monotonic()

    with ratelimit.call_slot("memory"):
        pass  # the turn now in use: the next one is 0.2 s away
    callers = [threading.Thread(target=call, args=(f"check-{n}", False, 0.0)) for n in range(3)]
    callers.append(threading.Thread(target=call, args=("dispatch", True, 0.05)))
    for thread in callers:
        thread.start()
    for thread in callers:
        thread.join()
    # It asked last, 50 ms after the checks started waiting, and went first.
    assert min(started, key=started.get) == "dispatch"


def slow_provider(settings, deadline):
    settings.ORDER_MONITOR_PROVIDERS = {
        "memory": {"ADAPTER": "tests.test_checks.SlowCallProvider", "OPTIONS": {"deadline": deadline}},
    }


def test_a_dead_callers_slot_frees_itself_after_the_call_deadline_plus_grace(limits, settings):
    """A SIGKILLed worker never releases its slot; it expires at the call's deadline + CALL_SLOT_GRACE."""
    slow_provider(settings, deadline=0.3)
    settings.ORDER_MONITOR_CALL_SLOT_GRACE = 0.2
    limits(max_concurrent=1, max_wait=5)
    assert ratelimit.slot_seconds("memory") == pytest.approx(0.5)
    killed = ratelimit.call_slot("memory")
    killed.__enter__()  # the call started; its worker dies without leaving the block
    started = time.monotonic()
    with ratelimit.call_slot("memory") as waited:
        freed_after = time.monotonic() - started
    assert 0.4 <= freed_after <= 0.5 + 2.0  # margin for a loaded machine
    assert waited == pytest.approx(freed_after, abs=0.05)


def test_an_adapter_without_a_call_deadline_gets_slots_as_long_as_the_lease(settings):
    slow_provider(settings, deadline=None)
    settings.ORDER_MONITOR_LEASE_SECONDS = 45
    assert ratelimit.slot_seconds("memory") == 45


def test_a_provider_can_switch_limits_off(limits, settings):
    limits(min_interval=10)
    settings.ORDER_MONITOR_PROVIDERS = {
        "memory": {"ADAPTER": "django_order_monitor.testing.memory.InMemoryProvider", "RATE_LIMIT": None}
    }
    assert ratelimit.Limits.for_provider("memory") is None


@pytest.mark.services
def test_limits_are_shared_by_consumers_through_redis(limits):
    """Two separate Redis clients (as two consumers would have) share one budget."""
    import redis

    limits(max_concurrent=1)
    assert isinstance(ratelimit.backend(), ratelimit._RedisBackend)
    url = django_settings.REDIS_URL
    backends = [ratelimit._RedisBackend(redis.Redis.from_url(url), "shop") for _ in range(2)]
    spans, lock = [], threading.Lock()

    def consumer(backend, token_prefix):
        for n in range(5):
            token = f"{token_prefix}{n}"
            while backend.try_take("shared", ratelimit.Limits(max_concurrent=1), token, ttl=10):
                time.sleep(0.002)
            started = time.monotonic()
            time.sleep(0.01)
            with lock:
                spans.append((started, time.monotonic()))
            backend.release("shared", token)

    threads = [threading.Thread(target=consumer, args=(b, f"c{i}-")) for i, b in enumerate(backends)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(spans) == 10
    assert max_overlap(spans) == 1


@pytest.mark.services
def test_two_shops_on_one_redis_keep_separate_budgets(limits):
    """Keys are scoped by the shop's Huey name: another shop's calls take none of our slots."""
    import redis

    url = django_settings.REDIS_URL
    ours, theirs = (ratelimit._RedisBackend(redis.Redis.from_url(url), name) for name in ("shop-a", "shop-b"))
    one = ratelimit.Limits(max_concurrent=1)
    assert theirs.try_take("znet", one, "their-call", ttl=10) == 0
    assert ours.try_take("znet", one, "our-call", ttl=10) == 0  # their slot is not ours
    assert ours.try_take("znet", one, "our-second-call", ttl=10) > 0
    ours.release("znet", "our-call")
    theirs.release("znet", "their-call")
