"""Shadow mode: the monitor follows and decides, writes nothing of the shop's, and reports how it compares.

Driven through the Huey tasks (run by the queue on a frozen clock) and the
``order_monitor_shadow_report`` command, as a shop adopting the monitor beside
its own polling would use them.
"""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command

from django_order_monitor import signals
from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.testing import memory
from tests import hooks
from tests.conftest import START
from tests.testapp.models import ProductOrder, TerminalEvent

pytestmark = pytest.mark.django_db(transaction=True)

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _shadow(settings):
    settings.ORDER_MONITOR_SHADOW = True
    settings.ORDER_MONITOR_BACKOFF_JITTER = 0
    settings.ORDER_MONITOR_PROVIDERS = {"memory": {"ADAPTER": "django_order_monitor.testing.memory.InMemoryProvider"}}
    settings.ORDER_MONITOR_TRANSITION_HANDLER = "tests.hooks.status_service"
    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.store_terminal"
    settings.ORDER_MONITOR_LATE_COMPLETION_HANDLER = "tests.hooks.record_late_completion"
    hooks.late_completions.clear()
    yield
    TerminalEvent.objects.all().delete()


@pytest.fixture
def sent_signals():
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs["signal"])

    for signal in (signals.order_completed, signals.order_failed, signals.order_timed_out, signals.order_status_changed):
        signal.connect(receiver, weak=False)
    yield received
    for signal in (signals.order_completed, signals.order_failed, signals.order_timed_out, signals.order_status_changed):
        signal.disconnect(receiver)


def shop_row(order):
    return ProductOrder.objects.values().get(pk=order.pk)


def shop_ends(order, status, external, at):
    """The shop's own code ends the order, as its poller would."""
    ProductOrder.objects.filter(pk=order.pk).update(status=status, external_status=external, completed_at=at, last_sync_at=at)


def test_a_completion_in_shadow_mode_is_recorded_and_changes_nothing_of_the_shops(clock, queue, make_order, sent_signals):
    order = make_order(referans="SH-1")
    before = shop_row(order)
    queue.run_until(START + 3 * MINUTE)  # processing answers first
    memory.complete("SH-1", pin="SH-PIN-1")
    queue.run_until(START + 30 * MINUTE)

    assert shop_row(order) == before  # no status, no PIN, not even last_sync_at
    assert list(TerminalEvent.objects.values_list("outcome", flat=True)) == []  # no handler, no callback
    assert sent_signals == []
    entry = MonitoredOrder.objects.get(order=order)
    assert entry.state == "completed" and entry.finished_at is not None
    results = list(entry.checks.order_by("checked_at").values_list("result", flat=True))
    assert results[-1] == "completed" and set(results[:-1]) == {"processing"}
    stored = json.dumps([list(MonitoredOrder.objects.values()), list(StatusCheck.objects.values())], default=str)
    assert "SH-PIN-1" not in stored


def test_in_shadow_mode_the_monitor_follows_an_order_the_shop_ended_to_its_own_decision(clock, queue, make_order):
    order = make_order(referans="SH-2")
    shop_ends(order, "rejected", "failed", START + dt.timedelta(seconds=30))
    memory.complete("SH-2", pin="SH-PIN-2")
    queue.run_until(START + 30 * MINUTE)

    entry = MonitoredOrder.objects.get(order=order)
    assert (entry.state, entry.stop_reason) == ("completed", "")
    assert hooks.late_completions == []  # the shop's late-completion handler is shop code: not run
    assert (shop_row(order)["status"], shop_row(order)["pin_code"]) == ("rejected", None)


def test_the_shadow_report_shows_disagreements_and_who_noticed_first(clock, queue, make_order):
    agree = make_order(referans="AGREE")
    disagree = make_order(referans="DISAGREE")
    monitor_only = make_order(referans="MON-ONLY")
    shop_only = make_order(referans="SHOP-ONLY")
    both_open = make_order(referans="OPEN")
    memory.complete("AGREE", pin="P-1")
    memory.fail("DISAGREE", message="iptal")
    memory.complete("MON-ONLY", pin="P-3")
    queue.run_until(START + 5 * MINUTE)  # the monitor decides the first three at its first check
    shop_ends(agree, "approved", "done", START + 10 * MINUTE)  # the shop's poller, 9 minutes later
    shop_ends(disagree, "approved", "done", START + 4 * MINUTE)
    shop_ends(shop_only, "rejected", "failed", START + 4 * MINUTE)
    queue.run_until(START + 12 * MINUTE)

    out = io.StringIO()
    call_command("order_monitor_shadow_report", stdout=out)
    text = out.getvalue()
    assert text.splitlines()[:3] == [
        "Orders compared: 5",
        "agree: 1; disagree: 1; monitor only: 1; shop only: 1; both open: 1; other: 0",
        "Where both decided alike (1 with times), the monitor noticed 9 min sooner at the median and 9 min sooner at p90.",
    ]
    assert f"  order {disagree.pk} via memory (reference DISAGREE): monitor failed, shop completed" in text
    assert f"  order {monitor_only.pk} via memory (reference MON-ONLY): monitor completed, shop open" in text
    assert str(shop_only.pk) not in text and str(both_open.pk) not in text

    out = io.StringIO()
    call_command("order_monitor_shadow_report", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["counts"]["disagree"] == 1 and data["monitor_lead_seconds"] == {"p50": 540.0, "p90": 540.0}
    assert [(row["reference"], row["monitor"], row["shop"]) for row in data["disagreements"]] == [("DISAGREE", "failed", "completed")]
    assert "P-1" not in out.getvalue() and "P-3" not in out.getvalue()


def test_shadow_mode_needs_a_real_boolean(settings):
    from django.core.management import call_command as run
    from django.core.management.base import SystemCheckError

    settings.ORDER_MONITOR_SHADOW = "False"
    with pytest.raises(SystemCheckError, match=r"ORDER_MONITOR_SHADOW is 'False'; it must be True or False"):
        run("check")
