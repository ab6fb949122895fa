"""Retention: ORDER_MONITOR_RETENTION, the periodic prune and ``order_monitor_prune``."""

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from django_order_monitor import tasks
from django_order_monitor.engine import retention
from django_order_monitor.engine.following import stop_monitoring
from django_order_monitor.engine.sweep import run_sweep
from django_order_monitor.models import MonitoredOrder, StatusCheck
from tests.conftest import START

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
THIRTY_DAYS = 30 * 24 * 3600


@pytest.fixture
def history(clock, make_order, settings):
    """An order ended 40 days ago, one ended yesterday, one followed now: each with checks 40 days and 1 day old."""
    settings.ORDER_MONITOR_RETENTION = THIRTY_DAYS
    rows = {}
    for name, state, finished in (("old", "stopped", START - 40 * DAY), ("recent", "completed", START - DAY), ("open", "watching", None)):
        sent_at = (finished or START) - DAY
        entry = MonitoredOrder.objects.get(order=make_order(referans=f"R-{name}", sent_at=sent_at))
        MonitoredOrder.objects.filter(pk=entry.pk).update(state=state, finished_at=finished, dispatched_at=sent_at)
        for age in (40 * DAY, DAY):
            StatusCheck.objects.create(monitored_order=entry, checked_at=START - age, result="processing")
        rows[name] = entry
    return rows


def prune(*args):
    out = io.StringIO()
    call_command("order_monitor_prune", *args, stdout=out)
    return out.getvalue()


def left(rows):
    return {
        name: (MonitoredOrder.objects.filter(pk=entry.pk).exists(), StatusCheck.objects.filter(monitored_order=entry.pk).count())
        for name, entry in rows.items()
    }


def test_the_command_deletes_old_history_and_old_ended_orders_only(history):
    assert prune() == (
        "Deleted 4 check history rows and 1 ended order older than 2026-10-02 12:00:00 UTC.\n"
    )
    # The old ended order goes with its history; the others keep their recent checks.
    assert left(history) == {"old": (False, 0), "recent": (True, 1), "open": (True, 1)}
    assert prune() == "Deleted 0 check history rows and 0 ended orders older than 2026-10-02 12:00:00 UTC.\n"


def test_a_dry_run_counts_and_deletes_nothing(history):
    assert prune("--dry-run") == (
        "Dry run: would delete 4 check history rows and 1 ended order older than 2026-10-02 12:00:00 UTC.\n"
    )
    data = json.loads(prune("--dry-run", "--json"))
    assert (data["history_rows"], data["ended_orders"], data["dry_run"]) == (4, 1, True)
    assert left(history) == {"old": (True, 2), "recent": (True, 2), "open": (True, 2)}


def test_verbosity_zero_is_silent_and_two_shows_each_batch(history, monkeypatch):
    monkeypatch.setattr(retention, "BATCH_SIZE", 1)
    assert prune("-v", "2").splitlines() == [
        "  deleted a batch of 1 ended order",
        "  deleted a batch of 1 check history row",
        "  deleted a batch of 1 check history row",
        "Deleted 4 check history rows and 1 ended order older than 2026-10-02 12:00:00 UTC.",
    ]
    assert prune("-v", "0") == ""


def test_without_retention_the_command_says_what_to_set(db, settings):
    settings.ORDER_MONITOR_RETENTION = None
    with pytest.raises(CommandError, match=r"ORDER_MONITOR_RETENTION is None: everything is kept"):
        prune()


def test_the_periodic_sweep_prunes_within_its_time_budget(history, monkeypatch, clock):
    monkeypatch.setattr(retention, "TIME_BUDGET", 0)  # no time left: nothing deleted, the next run goes on
    tasks.sweep_orders.call_local()
    assert left(history) == {"old": (True, 2), "recent": (True, 2), "open": (True, 2)}
    monkeypatch.setattr(retention, "TIME_BUDGET", 10)
    clock.shift(dt.timedelta(minutes=5))  # the next interval (SWEEP_INTERVAL): one sweep runs per interval
    tasks.sweep_orders.call_local()
    assert left(history) == {"old": (False, 0), "recent": (True, 1), "open": (True, 1)}


def test_a_pruned_order_still_open_in_the_shop_is_not_followed_again(history, settings):
    """The stopped order's shop row still says 'sent'; it was dispatched before the sweep's window."""
    settings.ORDER_MONITOR_DEADLINE = 24 * 3600
    prune()
    report = run_sweep()
    assert report.discovered == []
    assert not MonitoredOrder.objects.filter(reference="R-old").exists()


def test_without_a_dispatched_at_role_only_the_history_is_pruned(history, settings):
    settings.ORDER_MONITOR_FIELDS = {"dispatched_at": None}
    assert prune().splitlines() == [
        "Deleted 3 check history rows and 0 ended orders older than 2026-10-02 12:00:00 UTC.",
        "Ended orders' ledger rows are kept: the order model has no dispatched_at role (only the history is pruned).",
    ]
    assert left(history) == {"old": (True, 1), "recent": (True, 1), "open": (True, 1)}


def test_a_followed_order_is_never_pruned_however_old(clock, make_order, settings):
    settings.ORDER_MONITOR_RETENTION = THIRTY_DAYS
    entry = MonitoredOrder.objects.get(order=make_order(referans="R-slow"))
    MonitoredOrder.objects.filter(pk=entry.pk).update(dispatched_at=START - 60 * DAY, deadline_at=START + DAY)
    stop_monitoring(MonitoredOrder.objects.get(pk=entry.pk), "checking")  # ended just now: kept
    assert prune() == "Deleted 0 check history rows and 0 ended orders older than 2026-10-02 12:00:00 UTC.\n"
    assert MonitoredOrder.objects.filter(pk=entry.pk).exists()


def test_the_command_speaks_the_active_language(history):
    from django.utils import translation

    with translation.override("tr"):
        assert prune("--dry-run") == (
            "Deneme: 2026-10-02 12:00:00 UTC öncesinden 4 kontrol geçmişi kaydı ve 1 bitmiş sipariş silinecekti.\n"
        )
    with translation.override("ar"):
        assert prune() == "حُذف 4 سجلات فحص وطلب منتهٍ واحد أقدم من 2026-10-02 12:00:00 UTC.\n"
