"""The 0.1 module and attribute names keep working for one release, each with a DeprecationWarning."""

import importlib
import re
import subprocess
import sys
import warnings

import pytest
from django.utils import timezone
from django.utils.module_loading import import_string

from django_order_monitor._moved import MOVED

OLD_NAMES = sorted(name for name in MOVED if not name.endswith("__main__"))
PACKAGES = {"django_order_monitor.adapters", "django_order_monitor.fake_znet"}


@pytest.fixture
def fresh(monkeypatch):
    """Forget the old names, so each test imports them for the first time."""
    for name in OLD_NAMES:
        monkeypatch.delitem(sys.modules, name, raising=False)


def import_recording(name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(name)
    return module, [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]


@pytest.mark.parametrize("old", OLD_NAMES)
def test_an_old_module_name_still_works_and_says_where_it_went(fresh, old):
    module, said = import_recording(old)
    assert f"{old} moved to {MOVED[old]}; the old name will be removed in django-order-monitor 0.3." in said
    new = importlib.import_module(MOVED[old])
    if old in PACKAGES:
        public = [name for name in dir(new) if not name.startswith("_")]
        assert all(getattr(module, name) is getattr(new, name) for name in public)
    else:
        assert module is new


def test_an_adapter_path_in_old_settings_still_builds_the_same_class(fresh):
    from django_order_monitor.providers.adapters.znet import ZnetProvider

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert import_string("django_order_monitor.adapters.znet.ZnetProvider") is ZnetProvider


def test_the_old_fake_znet_command_still_runs():
    result = subprocess.run(
        [sys.executable, "-W", "default", "-m", "django_order_monitor.fake_znet", "--help"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout.lower()
    assert "moved to django_order_monitor.testing.fake_znet" in result.stderr


def test_the_0_1_attribute_names_still_read_with_a_warning(db, make_order):
    """The ledger's reference and counters, and the objects handed to shop code, keep their 0.1 names for one release."""
    from django_order_monitor.engine.late import LateCompletion
    from django_order_monitor.engine.transitions import Transition
    from django_order_monitor.models import MonitoredOrder
    from django_order_monitor.providers.adapters.znet import PlacedOrder

    entry = MonitoredOrder.objects.get(order=make_order(referans="OLD-NAMES"))
    MonitoredOrder.objects.filter(pk=entry.pk).update(answered_checks=3, failed_checks=2, consecutive_failed_checks=1)
    entry.refresh_from_db()
    now = timezone.now()
    transition = Transition(
        order_pk=entry.order_id, monitored_order_id=entry.pk, provider="memory", reference="T-1", outcome="completed",
        external_status="completed", internal_status=None, message="", source="poll", has_pin=True, at=now,
    )
    late = LateCompletion(
        order_pk=entry.order_id, monitored_order_id=entry.pk, provider="memory", reference="L-1",
        ended_as="timed_out", source="poll", at=now,
    )
    placed = PlacedOrder(reference="P-1", cost=None, balance=None, raw="")
    old_to_new = [
        (lambda: entry.referans, "MonitoredOrder.referans is now .reference", "OLD-NAMES"),
        (lambda: entry.attempts, "MonitoredOrder.attempts is now .answered_checks", 3),
        (lambda: entry.errors, "MonitoredOrder.errors is now .failed_checks", 2),
        (lambda: entry.error_streak, "MonitoredOrder.error_streak is now .consecutive_failed_checks", 1),
        (lambda: transition.referans, "Transition.referans is now .reference", "T-1"),
        (lambda: late.referans, "LateCompletion.referans is now .reference", "L-1"),
        (lambda: placed.referans, "PlacedOrder.referans is now .reference", "P-1"),
    ]
    for read_old_name, message, value in old_to_new:
        with pytest.warns(DeprecationWarning, match=re.escape(message)):
            assert read_old_name() == value
