"""Each wrong setting gets its own system check, with an id and a hint naming the fix."""

import pytest
from django.core.checks import Error, Warning, run_checks


def ids(messages):
    return sorted(m.id for m in messages if m.id.startswith("order_monitor."))


def only_ours(messages):
    return [m for m in messages if m.id.startswith("order_monitor.")]


def test_the_test_configuration_is_clean():
    assert only_ours(run_checks()) == []


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("ORDER_MONITOR_ORDER_MODEL", "testapp.Missing", "order_monitor.E001"),
        ("ORDER_MONITOR_ORDER_MODEL", "no_dot", "order_monitor.E001"),
        ("ORDER_MONITOR_FIELDS", {"colour": "x"}, "order_monitor.E002"),
        ("ORDER_MONITOR_FIELDS", ["reference"], "order_monitor.E002"),
        ("ORDER_MONITOR_FIELDS", {"reference": None}, "order_monitor.E003"),
        ("ORDER_MONITOR_FIELDS", {"pin": "pin"}, "order_monitor.E004"),
        ("ORDER_MONITOR_DISPATCHED_STATUSES", [], "order_monitor.E005"),
        ("ORDER_MONITOR_SUCCESS_STATUSES", "done", "order_monitor.E005"),
        ("ORDER_MONITOR_FAILURE_STATUSES", ["failed", "done"], "order_monitor.E005"),
        ("ORDER_MONITOR_EXTERNAL_STATUS_VALUES", {"completed": "done", "paid": "x"}, "order_monitor.E006"),
        ("ORDER_MONITOR_EXTERNAL_STATUS_VALUES", {"processing": "working"}, "order_monitor.E006"),
        ("ORDER_MONITOR_BACKOFF_FACTOR", 0.5, "order_monitor.E007"),
        ("ORDER_MONITOR_BACKOFF_BASE", "30", "order_monitor.E007"),
        ("ORDER_MONITOR_BACKOFF_JITTER", 1.5, "order_monitor.E007"),
        ("ORDER_MONITOR_QUICK_ATTEMPTS", 2.5, "order_monitor.E007"),
        ("ORDER_MONITOR_DEADLINE", 0, "order_monitor.E007"),
        ("ORDER_MONITOR_SWEEP_INTERVAL", 90, "order_monitor.E007"),
        ("ORDER_MONITOR_LEASE_SECONDS", 5, "order_monitor.E007"),
        ("ORDER_MONITOR_SWEEP_BATCH_SIZE", True, "order_monitor.E007"),
        ("ORDER_MONITOR_TIMEOUT_ACTION", "refund", "order_monitor.E007"),
        ("ORDER_MONITOR_PROVIDERS", [], "order_monitor.E008"),
        ("ORDER_MONITOR_PROVIDERS", {"x": {}}, "order_monitor.E008"),
        ("ORDER_MONITOR_PROVIDERS", {"x": {"ADAPTER": "shop.nowhere.Provider"}}, "order_monitor.E008"),
        ("ORDER_MONITOR_PROVIDERS", {"x": {"ADAPTER": "django.db.models.Model"}}, "order_monitor.E008"),
        ("ORDER_MONITOR_DEFAULT_PROVIDER", "znet", "order_monitor.E010"),
        ("ORDER_MONITOR_TERMINAL_CALLBACK", "shop.refunds.nowhere", "order_monitor.E011"),
        ("ORDER_MONITOR_PROVIDER_RESOLVER", "django.conf.settings", "order_monitor.E011"),
        ("ORDER_MONITOR_POLICY", "django_order_monitor.policy.backoff", "order_monitor.E011"),
        ("ORDER_MONITOR_ADAPTIVE", {"QUANTILES": 0.2}, "order_monitor.E011"),
    ],
)
def test_each_wrong_setting_gets_a_check(settings, name, value, expected):
    setattr(settings, name, value)
    messages = only_ours(run_checks())
    assert expected in ids(messages)
    for message in messages:
        assert isinstance(message, Error)
        assert message.hint and "\n" not in message.msg and "\n" not in message.hint


def test_missing_order_model_names_the_setting(settings):
    del settings.ORDER_MONITOR_ORDER_MODEL
    [message] = [m for m in only_ours(run_checks()) if m.id == "order_monitor.E001"]
    assert "ORDER_MONITOR_ORDER_MODEL" in message.msg + message.hint


def test_empty_providers_cannot_check_anything(settings):
    settings.ORDER_MONITOR_PROVIDERS = {}
    settings.ORDER_MONITOR_DEFAULT_PROVIDER = None
    assert only_ours(run_checks()) == [
        Error(
            "ORDER_MONITOR_PROVIDERS is empty: no order can be checked.",
            hint="Example: {'znet': {'ADAPTER': 'django_order_monitor.adapters.znet.ZnetProvider', 'OPTIONS': {...}}}.",
            id="order_monitor.E010",
        )
    ]


def test_immediate_huey_is_a_warning(settings):
    settings.HUEY = {"immediate": True}
    assert ids(run_checks()) == ["order_monitor.W001"]


def test_misspelt_setting_is_a_warning(settings):
    settings.ORDER_MONITOR_QUICK_ATEMPTS = 5
    assert only_ours(run_checks()) == [
        Warning(
            "Unknown setting ORDER_MONITOR_QUICK_ATEMPTS; it is ignored.",
            hint="Check the spelling against the README's settings table.",
            id="order_monitor.W002",
        )
    ]


def test_a_bad_setting_stops_run_huey(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.ORDER_MONITOR_BACKOFF_FACTOR = 0
    with pytest.raises(SystemCheckError, match="order_monitor.E007"):
        call_command("run_huey", skip_checks=False)
