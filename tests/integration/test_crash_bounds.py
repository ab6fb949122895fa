"""What a SIGKILLed consumer costs the rest of the fleet, measured on the real stack.

Each test starts real ``run_huey`` consumers (PostgreSQL + Redis), kills one with
SIGKILL at the worst moment and shows the survivors back to normal within the
documented bound. The figures they print are in docs/reliability.rst.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.utils import timezone

from django_order_monitor.models import StatusCheck
from django_order_monitor.providers import ratelimit
from django_order_monitor.testing import wait_until
from django_order_monitor.testing.fake_znet import FakeZnetServer
from django_order_monitor.testing.fake_znet.plans import MixEntry, PlanOutcome
from tests.integration.consumers import Consumer, consumer_env
from tests.integration.test_chaos import use_policy
from tests.testapp.models import ProductOrder

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

#: Every order stays "waiting" at the provider, so the fleet keeps asking at its full rate.
NEVER_ENDING = [MixEntry("never", 1.0, PlanOutcome.NEVER)]


@pytest.fixture
def legacy_orders():
    yield
    ProductOrder.objects.all().delete()


def calls_per_second(start: dt.datetime, end: dt.datetime) -> float:
    """Provider calls started in [start, end), per second (each call is one history row)."""
    calls = StatusCheck.objects.filter(checked_at__gte=start, checked_at__lt=end).count()
    return calls / (end - start).total_seconds()


def test_a_killed_consumers_call_slots_come_back_within_the_call_deadline_plus_grace(settings, legacy_orders, tmp_path):
    """Slow answers (1.5 s), 4 calls in flight across the fleet; the consumer holding the most slots is killed.

    Its slots expire at most ``call deadline + CALL_SLOT_GRACE`` after its calls
    started (here 2 + 3 + 2 = 7 s), and the two survivors are back at the
    fleet's call rate from then on.
    """
    limit = {"min_interval": 0.05, "max_concurrent": 4, "max_wait": 10}
    settings.ORDER_MONITOR_RATE_LIMIT = limit
    ratelimit.reset_backend()
    with FakeZnetServer(seed=21, mix=NEVER_ENDING, latency=1500) as server:
        overrides = use_policy(settings, server, DEADLINE=600, CALL_SLOT_GRACE=2)
        env = consumer_env(server.url, ORDER_MONITOR_TEST_RATE_LIMIT=json.dumps(limit), **overrides)
        bound = ratelimit.slot_seconds("znet")
        assert bound == 7
        consumers = [Consumer(env, tmp_path, f"slots{n}", workers=4, periodic=False) for n in range(3)]
        try:
            for number in range(60):
                reference = f"S{number:08d}"
                server.add_order(reference)
                ProductOrder.objects.create(external_status="sent", provider_referans=reference, sent_at=timezone.now())
            # Warm up: 20 s of calls at the fleet's full rate.
            assert wait_until(lambda: StatusCheck.objects.count() >= 10, timeout=60, interval=0.5)
            time.sleep(20)

            def victim_holding_two_slots():
                held = ratelimit.backend().holders("znet")
                for consumer in consumers:
                    mine = [token for token in held if f":{consumer.pid}:" in token]
                    if len(mine) >= 2:
                        return consumer, mine
                return None

            found = wait_until(victim_holding_two_slots, timeout=30, interval=0.05)
            assert found, "no consumer ever held two call slots"
            victim, dead_tokens = found
            victim.kill()
            killed_at = timezone.now()
            killed_clock = time.monotonic()

            def dead_slots_gone():
                return not set(dead_tokens) & set(ratelimit.backend().holders("znet"))

            assert wait_until(dead_slots_gone, timeout=bound + 10, interval=0.05)
            freed_after = time.monotonic() - killed_clock
            recovered_at = killed_at + dt.timedelta(seconds=bound)
            time.sleep(max(0.0, (recovered_at - timezone.now()).total_seconds()) + 20)
        finally:
            for consumer in consumers:
                consumer.stop()
    window = dt.timedelta(seconds=20)
    before = calls_per_second(killed_at - window, killed_at)
    during = calls_per_second(killed_at, recovered_at)
    after = calls_per_second(recovered_at, recovered_at + window)
    print(
        f"crash-bounded slots: {len(dead_tokens)} slots of the killed consumer freed {freed_after:.1f} s after the kill "
        f"(bound {bound:g} s); calls/s before {before:.2f}, during {during:.2f}, after {after:.2f}"
    )
    assert freed_after <= bound + 1.5  # the bound, plus the poll and a loaded machine
    assert before > 1.5  # 4 slots of 1.5 s calls: about 2.6 a second
    assert after >= 0.8 * before


def test_the_next_sweep_is_on_time_after_the_consumer_that_ran_the_last_one_is_killed(settings, legacy_orders, tmp_path):
    """Three consumers, none started with ``-n``, under a backlog of slow checks; the last sweeper is killed.

    Every consumer enqueues the sweep each minute (SWEEP_INTERVAL = 60 s), one
    claims it, and it goes ahead of the queued checks: the next sweep starts one
    interval after the last, on a survivor, with a backlog of checks still queued.
    """
    from django_order_monitor.engine import periodic
    from django_order_monitor.tasks import HUEY

    HUEY.flush()  # the backlog measured is this test's own
    with FakeZnetServer(seed=22, mix=NEVER_ENDING, latency=800) as server:
        overrides = use_policy(settings, server, DEADLINE=600, SWEEP_INTERVAL=60)
        env = consumer_env(server.url, **overrides)
        consumers = [Consumer(env, tmp_path, f"sweeper{n}", workers=2, periodic=True) for n in range(3)]
        try:
            for number in range(300):  # 6 threads at 0.8 s a call: far more checks due than run
                reference = f"W{number:08d}"
                server.add_order(reference)
                ProductOrder.objects.create(external_status="sent", provider_referans=reference, sent_at=timezone.now())
            last = wait_until(periodic.last_sweep, timeout=90, interval=0.5)
            assert last, "no sweep within 90 s:\n" + consumers[0].log()[-3000:]
            pid = last.worker.split(":")[1]
            victims = [consumer for consumer in consumers if str(consumer.pid) == pid]
            assert len(victims) == 1, (last.worker, [c.pid for c in consumers])
            backlog = HUEY.pending_count()
            victims[0].kill()
            killed_at = timezone.now()
            after = wait_until(lambda: (run := periodic.last_sweep()) and run.started_at > last.started_at and run, timeout=90, interval=0.5)
            assert after, "no sweep after the kill within 90 s"
            backlog_then = HUEY.pending_count()
        finally:
            for consumer in consumers:
                consumer.stop()
    # Each consumer's scheduler enqueues periodic tasks once a minute, at its own second of the
    # minute: "on time" is one interval after the last sweep, whoever runs it.
    gap = (after.started_at - last.started_at).total_seconds()
    print(
        f"sweep failover: last sweep {last.started_at:%H:%M:%S.%f} by pid {pid}, killed at {killed_at:%H:%M:%S.%f}; "
        f"next sweep {after.started_at:%H:%M:%S.%f} by pid {after.worker.split(':')[1]}, {gap:.1f} s after the last "
        f"({gap - 60:+.1f} s against the 60 s interval); checks queued: {backlog} at the kill, {backlog_then} at the next sweep"
    )
    assert after.worker.split(":")[1] != pid
    assert backlog_then > 50  # the sweep ran although a backlog of checks was queued before it
    assert gap <= 60 + 10  # on time: one interval, with a margin for a loaded machine


def test_on_plain_redis_huey_the_sweep_is_still_enqueued(tmp_path):
    """RedisHuey has no priorities and refuses one: there the sweep goes without, never fails to enqueue."""
    import os
    import subprocess
    import sys

    from tests.integration.consumers import ROOT

    (tmp_path / "plain_settings.py").write_text(
        "from tests.settings_services import *\n"
        "from huey import RedisHuey\n"
        "HUEY = RedisHuey(HUEY.name + '-plain', url=REDIS_URL, immediate=False, results=False)\n"
    )
    script = (
        "import django; django.setup()\n"
        "from django_order_monitor import tasks\n"
        "tasks.HUEY.flush(); tasks.sweep_orders(); print(tasks.HUEY.pending_count()); tasks.HUEY.flush()\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}", "DJANGO_SETTINGS_MODULE": "plain_settings"}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
