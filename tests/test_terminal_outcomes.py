"""The table of terminal outcomes: each row ends an order with its state, its values on the shop's row and its signal."""

import pytest

from django_order_monitor import signals
from django_order_monitor.engine import transitions
from django_order_monitor.models import MonitoredOrder
from django_order_monitor.providers.adapters.base import Outcome, StatusResult
from tests import hooks
from tests.testapp.models import ProductOrder

pytestmark = pytest.mark.django_db(transaction=True)

SIGNALS = (signals.order_completed, signals.order_failed, signals.order_timed_out, signals.order_status_changed)


@pytest.fixture
def received():
    """The names of the monitor's signals sent, in order (after commit)."""
    names = {signal: name for name in dir(signals) for signal in SIGNALS if getattr(signals, name) is signal}
    sent = []

    def receiver(signal, **kwargs):
        sent.append(names[signal])

    for signal in SIGNALS:
        signal.connect(receiver, weak=False)
    yield sent
    for signal in SIGNALS:
        signal.disconnect(receiver)


@pytest.fixture(autouse=True)
def _callback(settings):
    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.record_terminal"
    hooks.terminal_calls.clear()
    yield
    hooks.terminal_calls.clear()


@pytest.mark.parametrize(
    "outcome, timeout_action, state, stop_reason, shop_row, sent",
    [
        ("completed", "failed", "completed", "", ("approved", "done", "P-1"), ["order_completed", "order_status_changed"]),
        ("failed", "failed", "failed", "", ("rejected", "failed", ""), ["order_failed", "order_status_changed"]),
        ("timed_out", "failed", "timed_out", "", ("rejected", "failed", ""), ["order_timed_out", "order_status_changed"]),
        ("timed_out", "stop", "stopped", "deadline passed", ("pending", "sent", ""), ["order_timed_out"]),
    ],
)
def test_each_terminal_outcome_ends_an_order_as_its_row_says(
    make_order, settings, received, outcome, timeout_action, state, stop_reason, shop_row, sent
):
    settings.ORDER_MONITOR_TIMEOUT_ACTION = timeout_action
    entry = MonitoredOrder.objects.get(order=make_order())
    result = StatusResult(Outcome.COMPLETED, pin="P-1", provider_status="2") if outcome == "completed" else None

    transition = transitions.finish(entry, outcome, result=result, source="poll")

    entry.refresh_from_db()
    assert (transition.outcome, entry.state, entry.stop_reason) == (outcome, state, stop_reason)
    order = ProductOrder.objects.get(pk=entry.order_id)
    assert (order.status, order.external_status, order.pin_code or "") == shop_row
    assert received == sent
    assert len(hooks.terminal_calls) == (0 if state == "stopped" else 1)


def test_the_table_covers_every_outcome_finish_accepts_and_nothing_else(settings):
    for timeout_action in ("failed", "stop"):
        settings.ORDER_MONITOR_TIMEOUT_ACTION = timeout_action
        assert {transitions.terminal_outcome(o).outcome for o in ("completed", "failed", "timed_out")} == {
            "completed",
            "failed",
            "timed_out",
        }
    states = {row.state for row in transitions.TERMINAL_OUTCOMES}
    assert states == set(MonitoredOrder.State.values) - {"watching"}
    with pytest.raises(ValueError, match="Not a terminal outcome: 'processing'"):
        transitions.terminal_outcome("processing")
