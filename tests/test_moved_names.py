"""The 0.1 module names keep working for one release, each with a DeprecationWarning."""

import importlib
import subprocess
import sys
import warnings

import pytest
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
