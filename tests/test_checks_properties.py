"""Property: any value of any ORDER_MONITOR_* setting gives a system-check result, never a traceback.

A setting declared with a rule (conf.SETTINGS) also gets exactly the answer its rule gives.
"""

import math

import pytest
from django.core.checks import CheckMessage, run_checks
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_order_monitor.checks import RATE_LIMIT_KEYS, check_settings
from django_order_monitor.conf import DEFAULT_FIELDS, PREFIX, SETTINGS

ADAPTERS = [
    "django_order_monitor.testing.memory.InMemoryProvider",
    "django_order_monitor.providers.adapters.znet.ZnetProvider",
    "django_order_monitor.providers.adapters.batchjson.BatchJsonProvider",
    "django_order_monitor.providers.adapters.base.BaseProvider",
    "django_order_monitor.engine.policy.Policy",
    ".memory",
    "..",
    "",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0]),
    st.text(max_size=12),
    st.sampled_from(ADAPTERS),
    st.binary(max_size=8),
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
)


def dict_with_keys(keys):
    """Dicts over the setting's own keys, so the checks get past "is it a dict"."""
    return st.dictionaries(st.sampled_from(list(keys)), anything, max_size=len(keys))


provider_config = st.fixed_dictionaries(
    {"ADAPTER": st.one_of(st.sampled_from(ADAPTERS), anything)},
    optional={
        "OPTIONS": st.one_of(dict_with_keys(["base_url", "kod", "sifre", "timeout", "read_timeout", "api_token", "batch_size"]), anything),
        "RATE_LIMIT": st.one_of(dict_with_keys(RATE_LIMIT_KEYS), anything),
        "CALLBACK_SECRET": anything,
    },
)

#: Values shaped like each setting, besides anything at all.
SHAPED = {
    "ORDER_MODEL": st.sampled_from(["testapp.ProductOrder", "testapp.TerminalEvent", "testapp.Missing", "a.b.c", "."]),
    "FIELDS": dict_with_keys(DEFAULT_FIELDS),
    "EXTERNAL_STATUS_VALUES": dict_with_keys(["completed", "failed", "processing"]),
    "INTERNAL_STATUS_VALUES": dict_with_keys(["completed", "failed"]),
    "RATE_LIMIT": dict_with_keys(RATE_LIMIT_KEYS),
    "ADAPTIVE": dict_with_keys(["QUANTILE", "MIN_INTERVAL", "WINDOW", "TIME_SCALE"]),
    "PROVIDERS": st.dictionaries(st.one_of(st.sampled_from(["memory", "znet"]), st.none(), st.integers(), st.text(max_size=8)), provider_config, max_size=3),
    "DEFAULT_PROVIDER": st.sampled_from(["memory", "znet"]),
}


def values_for(key):
    return st.one_of(anything, SHAPED[key]) if key in SHAPED else anything


def assert_checks_answer(overrides):
    with override_settings(**{PREFIX + key: value for key, value in overrides.items()}):
        messages = run_checks()
    assert isinstance(messages, list)
    assert all(isinstance(message, CheckMessage) for message in messages)


@pytest.mark.parametrize("key", list(SETTINGS))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_value_of_one_setting_gives_check_messages(key, data):
    assert_checks_answer({key: data.draw(values_for(key), label=key)})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_values_of_several_settings_give_check_messages(data):
    keys = data.draw(st.lists(st.sampled_from(list(SETTINGS)), min_size=2, max_size=6, unique=True), label="keys")
    assert_checks_answer({key: data.draw(values_for(key), label=key) for key in keys})


@pytest.mark.parametrize("key", [key for key, setting in SETTINGS.items() if setting.rule])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_rule_and_its_check_agree_on_any_value(key, data):
    """check_settings reports the setting exactly when its rule refuses the value, and never raises."""
    value = data.draw(values_for(key), label=key)
    setting = SETTINGS[key]
    accepted = setting.rule.accepts(value)
    assert isinstance(accepted, bool)
    with override_settings(**{PREFIX + key: value}):
        reported = [message for message in check_settings() if message.msg.startswith(f"{PREFIX}{key} is ")]
    assert len(reported) == (0 if accepted else 1)
    assert all(message.id == setting.check for message in reported)
