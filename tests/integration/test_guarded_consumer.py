"""The guarded path through real ``run_huey`` consumers, with the shop's own status service.

The consumers hand every transition to the shop's status service
(``ORDER_MONITOR_TRANSITION_HANDLER``, no terminal callback), which refunds or
stamps the approval date only when the status *changes*. Meanwhile the shop's
staff try to reject a fifth of the dispatched orders themselves, with the same
service's rule (only an order still open): some before the provider has
answered, some while a consumer is asking the provider about them, some just
after the monitor ended them. Whoever ends an order, it is ended once: one
refund or one approval, never both, and a completion never overwrites the
shop's rejection.
"""

from __future__ import annotations

import collections
import random
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.testing import wait_until
from django_order_monitor.testing.fake_znet import FakeZnetServer
from tests.integration.consumers import Consumer, consumer_env
from tests.settings_consumer import COMPRESSED_POLICY, znet_providers
from tests.testapp.models import ProductOrder, TerminalEvent

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ORDERS = 120
SEED = 2027
#: The external statuses under which the shop still waits for the provider
#: (the default DISPATCHED_STATUSES and the monitor's "processing").
OPEN_WORDS = ["pending", "sent", "processing", "queued"]
#: The ledger's stop reason an operator sees for an order the shop ended itself.
ENDED_OUTSIDE = "the order ended outside the monitor"


@pytest.fixture
def fake_znet(settings):
    # Provider latency keeps each check in flight for a moment, so the staff can race it.
    with FakeZnetServer(seed=SEED, time_scale=60, latency=(150, 350)) as server:
        # The test process dispatches, so it plans first checks with the consumers' settings.
        settings.ORDER_MONITOR_PROVIDERS = znet_providers(server.url)
        settings.ORDER_MONITOR_DEFAULT_PROVIDER = "znet"
        settings.ORDER_MONITOR_TRANSITION_HANDLER = "tests.hooks.status_service"
        settings.ORDER_MONITOR_TERMINAL_CALLBACK = None
        for name, value in COMPRESSED_POLICY.items():
            setattr(settings, "ORDER_MONITOR_" + name, value)
        yield server


@pytest.fixture
def legacy_orders():
    yield
    ProductOrder.objects.all().delete()
    TerminalEvent.objects.all().delete()


def dispatch(fake, count):
    """Dispatch like the reference shop: the provider accepted, the row says 'sent'."""
    orders = []
    for number in range(count):
        referans = f"27608859{number:08d}"
        fake.add_order(referans)
        orders.append(ProductOrder.objects.create(external_status="sent", provider_referans=referans, sent_at=timezone.now()))
    return orders


def shop_rejects(order_pk) -> bool:
    """The shop's status service rejecting an order: only one still open, and refunded only if it changed."""
    with transaction.atomic():
        changed = ProductOrder.objects.filter(pk=order_pk, status="pending", external_status__in=OPEN_WORDS).update(
            status="rejected", external_status="failed"
        )
        if changed:
            TerminalEvent.objects.create(order_id=order_pk, outcome="refund", internal_status="rejected", source="shop")
    return bool(changed)


class Staff(threading.Thread):
    """The shop's staff rejecting orders while the consumers run.

    ``early``: order pk -> epoch second to reject at (before the provider decides).
    ``racing``: order pk -> epoch second after which the order is rejected the
    moment a consumer holds its lease (a check in flight), or once the monitor
    has ended it. ``after``: orders rejected the moment the monitor has
    ended it (too late: the rejection must change nothing).
    """

    def __init__(self, early: dict, racing: dict, after: set):
        super().__init__(daemon=True)
        self.early = dict(early)
        self.racing = dict(racing)
        self.after = set(after)
        self.rejected: set = set()  # the shop's compare-and-set changed the order
        self.too_late: set = set()  # the order had already ended
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def attempt(self, order_pk) -> None:
        (self.rejected if shop_rejects(order_pk) else self.too_late).add(order_pk)

    def run(self):
        try:
            while (self.early or self.racing or self.after) and not self.stopping.wait(0.01):
                now = time.time()
                for order_pk in [pk for pk, at in self.early.items() if now >= at]:
                    del self.early[order_pk]
                    self.attempt(order_pk)
                due = [pk for pk, after in self.racing.items() if now >= after]
                ledgers = MonitoredOrder.objects.filter(order_id__in=due).values_list("order_id", "state", "lease_until")
                for order_pk, state, lease_until in ledgers:
                    if lease_until is not None or state not in MonitoredOrder.ACTIVE_STATES:
                        del self.racing[order_pk]
                        self.attempt(order_pk)
                ended = MonitoredOrder.objects.filter(order_id__in=self.after).exclude(state__in=MonitoredOrder.ACTIVE_STATES)
                for order_pk in ended.values_list("order_id", flat=True):
                    self.after.discard(order_pk)
                    self.attempt(order_pk)
        except BaseException as err:  # reported by the test, not lost in the thread
            self.error = err
        finally:
            connection.close()


def plan_staff(orders, plans) -> Staff:
    """Pick a fifth of the orders (seeded): a third each rejected early, racing the check, just too late."""
    rng = random.Random(SEED)
    chosen = rng.sample(orders, ORDERS // 5)
    early, racing, after = {}, {}, set()
    for index, order in enumerate(chosen):
        plan = plans[order.provider_referans]
        dispatched, decided = plan["dispatched_at"], plan["terminal_at"]
        if index % 3 == 2:
            after.add(order.pk)
        elif index % 3 == 0:
            # Before the provider decides (an order that never ends: any time before the deadline).
            early[order.pk] = dispatched + rng.uniform(0, (decided or dispatched + 30) - dispatched)
        else:
            # Once the provider has decided: the next check brings the answer, and the staff race it.
            racing[order.pk] = decided or dispatched + rng.uniform(2, 30)
    return Staff(early, racing, after)


def test_the_shops_status_service_and_its_staff_end_each_order_once(fake_znet, legacy_orders, tmp_path):
    env = consumer_env(fake_znet.url, DJANGO_SETTINGS_MODULE="tests.integration.settings_guarded")
    consumers = [Consumer(env, tmp_path, "main", workers=4), Consumer(env, tmp_path, "second", workers=4, periodic=False)]
    staff = None
    try:
        orders = dispatch(fake_znet, ORDERS)
        staff = plan_staff(orders, fake_znet.stats()["orders"])
        staff.start()
        finished = wait_until(lambda: not MonitoredOrder.objects.active().exists(), timeout=80, interval=1)
    finally:
        codes = [consumer.stop() for consumer in consumers]
        if staff is not None:
            staff.stopping.set()
            staff.join(10)
    logs = "\n".join(consumer.log() for consumer in consumers)
    assert finished, f"orders still watched: {MonitoredOrder.objects.active().count()}\n{logs[-3000:]}"
    assert codes == [0, 0], logs[-3000:]
    assert "Traceback" not in logs, logs[-3000:]
    assert staff.error is None, repr(staff.error)
    assert not staff.early and not staff.racing and not staff.after  # every rejection planned was tried
    assert len(staff.rejected) >= ORDERS // 10 and len(staff.too_late) >= ORDERS // 20

    plans = fake_znet.stats()["orders"]
    events = collections.defaultdict(list)
    for order_pk, outcome, source in TerminalEvent.objects.values_list("order_id", "outcome", "source"):
        events[order_pk].append((outcome, source))
    ledgers = {entry.order_id: entry for entry in MonitoredOrder.objects.all()}

    # Every order ended as its expected end says: (status, external status, PIN,
    # the shop's refund/approval, ledger state, stop reason, the monitor's completion time written).
    actual, expected = {}, {}
    for order in ProductOrder.objects.filter(pk__in=[o.pk for o in orders]):
        plan, entry = plans[order.provider_referans], ledgers[order.pk]
        pin = "the provider's PIN" if order.pin_code and order.pin_code == plan["pin"] else order.pin_code
        actual[order.pk] = (
            order.status, order.external_status, pin, events[order.pk], entry.state, entry.stop_reason,
            order.completed_at is not None,
        )
        if order.pk in staff.rejected:
            # The shop ended it while it was open: its rejection and its one refund stand;
            # the monitor wrote nothing of the shop's and stopped following it.
            expected[order.pk] = ("rejected", "failed", None, [("refund", "shop")], "stopped", ENDED_OUTSIDE, False)
        elif plan["outcome"] == "completed":
            # Everything else (the rejections that came too late included) ended as the
            # provider decided, through the shop's status service.
            expected[order.pk] = ("approved", "done", "the provider's PIN", [("approval_date", "poll")], "completed", "", True)
        elif plan["outcome"] == "failed":
            expected[order.pk] = ("rejected", "failed", None, [("refund", "poll")], "failed", "", True)
        else:
            expected[order.pk] = ("rejected", "failed", None, [("refund", "deadline")], "timed_out", "", True)
    wrong = collections.Counter()
    for order in orders:
        if actual[order.pk] != expected[order.pk]:
            kind = "rejected by the shop" if order.pk in staff.rejected else plans[order.provider_referans]["outcome"]
            wrong[f"{kind}: expected {expected[order.pk]!r}, got {actual[order.pk]!r}"] += 1
    assert not wrong, "\n".join(f"{count} x {case}" for case, count in wrong.items())
    # Exactly one refund or one approval per order, never both, never two.
    counts = collections.Counter(len(events[order.pk]) for order in orders)
    assert counts == {1: ORDERS}, f"orders by number of refunds/approvals: {dict(counts)}"

    # A completion the provider delivered while the shop was rejecting is counted as late, on
    # exactly those orders (a provider's "completed" answer that the monitor could not apply).
    completed_answers = set(
        StatusCheck.objects.filter(result="completed").values_list("monitored_order__order_id", flat=True)
    )
    late = {entry.order_id for entry in ledgers.values() if entry.late_completed_at is not None}
    assert late == completed_answers & staff.rejected
    assert set(ProductOrder.objects.filter(pk__in=late).values_list("status", flat=True)) <= {"rejected"}
    assert len(late) >= 1  # the staff did catch checks in flight: the race was run, and the shop won it
    states = collections.Counter(entry.state for entry in ledgers.values())
    assert states["completed"] > ORDERS * 0.6 and states["failed"] >= 1 and states["timed_out"] >= 1

    # No PIN in the monitor's tables (the checks that brought a completion included) or the logs.
    pins = [plan["pin"] for plan in plans.values() if plan.get("pin")]
    our_tables = "\n".join(
        str(row) for row in StatusCheck.objects.values_list("message", "provider_status")
    ) + "\n".join(str(row) for row in MonitoredOrder.objects.values_list("last_message", "last_error", "stop_reason"))
    for pin in pins:
        assert pin not in our_tables
        assert pin not in logs
    print(
        f"rejected by the shop {len(staff.rejected)}, too late {len(staff.too_late)}, late completions {len(late)}, "
        f"ledger states {dict(states)}"
    )
