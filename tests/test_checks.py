"""Each wrong setting gets its own system check, with an id and a hint naming the fix."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import Error, Warning, run_checks

from django_order_monitor.checks import WRONG_VALUE_PROBLEMS, Problems
from django_order_monitor.conf import PREFIX, SETTINGS
from django_order_monitor.testing.memory import InMemoryProvider

MEMORY = "django_order_monitor.testing.memory.InMemoryProvider"
ROOT = Path(__file__).resolve().parent.parent


class SlowCallProvider(InMemoryProvider):
    """A provider whose calls may last ``OPTIONS['deadline']`` seconds in total."""

    @classmethod
    def call_deadline(cls, options):
        return options.get("deadline")


def ids(messages):
    return sorted(m.id for m in messages if m.id.startswith("order_monitor."))


def only_ours(messages):
    return [m for m in messages if m.id.startswith("order_monitor.")]


def test_the_test_configuration_is_clean():
    assert only_ours(run_checks()) == []


ROLES_HINT = (
    "Known roles: reference, external_status, status, pin, dispatched_at, last_sync_at, completed_at, provider, "
    "provider_message, duration_ms, tenant, product."
)
PROVIDERS_HINT = "Example: {'znet': {'ADAPTER': 'django_order_monitor.providers.adapters.znet.ZnetProvider', 'OPTIONS': {...}}}."
METRICS_HINT = "Example: {'PORT': 9108, 'TOKEN': os.environ['METRICS_TOKEN']}, or None for no metrics."
RATE_LIMIT_HINT = "Example: {'min_interval': 0.1, 'max_concurrent': 4, 'max_wait': 10}, or None for no limit."


def E(number, msg, hint):
    return Error(msg, hint=hint, id=f"order_monitor.E{number:03d}")


#: (setting, wrong value, every message the checks give for it, the one the row is about first).
#: docs/reliability.rst shows this table (see test_the_docs_table_is_this_table).
WRONG_SETTINGS = [
    ("ORDER_MONITOR_ORDER_MODEL", "testapp.Missing", [
        E(1, "ORDER_MONITOR_ORDER_MODEL refers to 'testapp.Missing', which is not installed.", "Set ORDER_MONITOR_ORDER_MODEL = 'app_label.Model' to the shop's order model."),
    ]),
    ("ORDER_MONITOR_ORDER_MODEL", "no_dot", [
        E(1, "ORDER_MONITOR_ORDER_MODEL must be 'app_label.Model', not 'no_dot'.", "Set ORDER_MONITOR_ORDER_MODEL = 'app_label.Model' to the shop's order model."),
    ]),
    ("ORDER_MONITOR_FIELDS", {"colour": "x"}, [E(2, "ORDER_MONITOR_FIELDS has an unknown role 'colour'.", ROLES_HINT)]),
    ("ORDER_MONITOR_FIELDS", ["reference"], [
        E(2, "ORDER_MONITOR_FIELDS must be a dict of role -> attribute.", ROLES_HINT),
    ]),
    ("ORDER_MONITOR_FIELDS", {"reference": None}, [
        E(3, "testapp.ProductOrder has no field for the required role 'reference'.", "Add the field, or map it: ORDER_MONITOR_FIELDS = {'reference': 'attribute'}."),
    ]),
    ("ORDER_MONITOR_FIELDS", {"pin": "pin"}, [
        E(4, "ORDER_MONITOR_FIELDS maps 'pin' to 'pin', which ProductOrder lacks.", "Name an attribute of testapp.ProductOrder or set 'pin': None."),
    ]),
    ("ORDER_MONITOR_DISPATCHED_STATUSES", [], [
        E(5, "ORDER_MONITOR_DISPATCHED_STATUSES is []; it must be a non-empty list of words.", "Default: ORDER_MONITOR_DISPATCHED_STATUSES = ['pending', 'sent', 'processing', 'queued']."),
    ]),
    ("ORDER_MONITOR_SUCCESS_STATUSES", "done", [
        E(5, "ORDER_MONITOR_SUCCESS_STATUSES is 'done'; it must be a non-empty list of words.", "Default: ORDER_MONITOR_SUCCESS_STATUSES = ['completed', 'complete', 'done', 'success', 'ok', 'delivered', 'approved', 'accept', 'accepted']."),
    ]),
    ("ORDER_MONITOR_FAILURE_STATUSES", ["failed", "done"], [
        E(5, "Status words ['done'] are in more than one status list.", "Each word may mean one thing only."),
    ]),
    ("ORDER_MONITOR_EXTERNAL_STATUS_VALUES", {"completed": "done", "paid": "x"}, [
        E(6, "ORDER_MONITOR_EXTERNAL_STATUS_VALUES is {'completed': 'done', 'paid': 'x'}; it must be a dict with keys from ['completed', 'failed', 'processing'], each mapped to a status word or None.", "Default: ORDER_MONITOR_EXTERNAL_STATUS_VALUES = {'completed': 'done', 'failed': 'failed', 'processing': 'processing'}."),
    ]),
    ("ORDER_MONITOR_EXTERNAL_STATUS_VALUES", {"processing": "working"}, [
        E(6, "The processing value 'working' is not in ORDER_MONITOR_DISPATCHED_STATUSES.", "Add it there, or the sweep would stop seeing orders the monitor wrote."),
    ]),
    ("ORDER_MONITOR_BACKOFF_FACTOR", 0.5, [
        E(7, "ORDER_MONITOR_BACKOFF_FACTOR is 0.5; it must be a multiplier >= 1.", "Default: ORDER_MONITOR_BACKOFF_FACTOR = 2."),
    ]),
    ("ORDER_MONITOR_BACKOFF_BASE", "30", [
        E(7, "ORDER_MONITOR_BACKOFF_BASE is '30'; it must be a number of seconds > 0.", "Default: ORDER_MONITOR_BACKOFF_BASE = 30."),
    ]),
    ("ORDER_MONITOR_BACKOFF_JITTER", 1.5, [
        E(7, "ORDER_MONITOR_BACKOFF_JITTER is 1.5; it must be a fraction from 0 to below 1.", "Default: ORDER_MONITOR_BACKOFF_JITTER = 0.1."),
    ]),
    ("ORDER_MONITOR_QUICK_ATTEMPTS", 2.5, [
        E(7, "ORDER_MONITOR_QUICK_ATTEMPTS is 2.5; it must be a whole number >= 0.", "Default: ORDER_MONITOR_QUICK_ATTEMPTS = 20."),
    ]),
    ("ORDER_MONITOR_DEADLINE", 0, [
        E(7, "ORDER_MONITOR_DEADLINE is 0; it must be a number of seconds > 0.", "Default: ORDER_MONITOR_DEADLINE = 86400."),
    ]),
    ("ORDER_MONITOR_SWEEP_INTERVAL", 90, [
        E(7, "ORDER_MONITOR_SWEEP_INTERVAL is 90; it must be a whole number of minutes in seconds (60, 300, ...).", "Default: ORDER_MONITOR_SWEEP_INTERVAL = 300."),
    ]),
    ("ORDER_MONITOR_LEASE_SECONDS", 5, [
        E(7, "ORDER_MONITOR_LEASE_SECONDS is 5; it must be a number of seconds >= 30 (longer than a provider call).", "Default: ORDER_MONITOR_LEASE_SECONDS = 90."),
    ]),
    ("ORDER_MONITOR_SWEEP_BATCH_SIZE", True, [
        E(7, "ORDER_MONITOR_SWEEP_BATCH_SIZE is True; it must be a whole number >= 1.", "Default: ORDER_MONITOR_SWEEP_BATCH_SIZE = 100."),
    ]),
    ("ORDER_MONITOR_TIMEOUT_ACTION", "refund", [
        E(7, "ORDER_MONITOR_TIMEOUT_ACTION is 'refund'; it must be 'failed' (refund path) or 'stop' (leave for a human).", "Default: ORDER_MONITOR_TIMEOUT_ACTION = 'failed'."),
    ]),
    ("ORDER_MONITOR_PROVIDERS", [], [
        E(8, "ORDER_MONITOR_PROVIDERS must be a dict of name -> config.", PROVIDERS_HINT),
    ]),
    ("ORDER_MONITOR_PROVIDERS", {"x": {}}, [
        E(8, "Provider 'x' needs an 'ADAPTER' dotted path.", PROVIDERS_HINT),
        E(10, "ORDER_MONITOR_DEFAULT_PROVIDER 'memory' is not in ORDER_MONITOR_PROVIDERS.", "Use one of ['x'] or add it."),
    ]),
    ("ORDER_MONITOR_PROVIDERS", {"x": {"ADAPTER": "shop.nowhere.Provider"}}, [
        E(8, "Provider 'x': ADAPTER 'shop.nowhere.Provider' cannot be imported (ModuleNotFoundError).", "Check the dotted path and that the module is installed."),
        E(10, "ORDER_MONITOR_DEFAULT_PROVIDER 'memory' is not in ORDER_MONITOR_PROVIDERS.", "Use one of ['x'] or add it."),
    ]),
    ("ORDER_MONITOR_PROVIDERS", {"x": {"ADAPTER": "django.db.models.Model"}}, [
        E(8, "Provider 'x': 'django.db.models.Model' is not a BaseProvider subclass.", "Subclass django_order_monitor.providers.adapters.base.BaseProvider."),
        E(10, "ORDER_MONITOR_DEFAULT_PROVIDER 'memory' is not in ORDER_MONITOR_PROVIDERS.", "Use one of ['x'] or add it."),
    ]),
    ("ORDER_MONITOR_DEFAULT_PROVIDER", "znet", [
        E(10, "ORDER_MONITOR_DEFAULT_PROVIDER 'znet' is not in ORDER_MONITOR_PROVIDERS.", "Use one of ['memory'] or add it."),
    ]),
    ("ORDER_MONITOR_TERMINAL_CALLBACK", "shop.refunds.nowhere", [
        E(11, "ORDER_MONITOR_TERMINAL_CALLBACK is 'shop.refunds.nowhere'; it must be None or a dotted path to a callable, such as 'shop.monitoring.on_terminal'.", "Default: ORDER_MONITOR_TERMINAL_CALLBACK = None."),
    ]),
    ("ORDER_MONITOR_PROVIDER_RESOLVER", "django.conf.settings", [
        E(11, "ORDER_MONITOR_PROVIDER_RESOLVER is 'django.conf.settings'; it must be None or a dotted path to a callable, such as 'shop.monitoring.on_terminal'.", "Default: ORDER_MONITOR_PROVIDER_RESOLVER = None."),
    ]),
    ("ORDER_MONITOR_POLICY", "django_order_monitor.engine.policy.backoff", [
        E(11, "ORDER_MONITOR_POLICY is 'django_order_monitor.engine.policy.backoff'; it must be a dotted path to a Policy subclass.", "Default: ORDER_MONITOR_POLICY = 'django_order_monitor.engine.policy.Policy'."),
    ]),
    ("ORDER_MONITOR_ADAPTIVE", {"QUANTILES": 0.2}, [
        E(11, "ORDER_MONITOR_ADAPTIVE must be a dict with keys from ['CACHE_TTL', 'CALL_WORTH', 'MAX_SAMPLES', 'MIN_INTERVAL', 'PRIOR_WEIGHT', 'QUANTILE', 'TIME_SCALE', 'WINDOW'].", "See django_order_monitor.engine.adaptive."),
    ]),
    ("ORDER_MONITOR_ADAPTIVE", {"QUANTILE": "0.2"}, [
        E(11, "ORDER_MONITOR_ADAPTIVE has invalid values for ['QUANTILE']: each is a number > 0 (QUANTILE below 1).", "Defaults: {'QUANTILE': 0.12}."),
    ]),
    # Wrong types that used to crash the check framework itself (issue 10, defect 14).
    ("ORDER_MONITOR_POLICY", None, [
        E(11, "ORDER_MONITOR_POLICY is None; it must be a dotted path to a Policy subclass.", "Default: ORDER_MONITOR_POLICY = 'django_order_monitor.engine.policy.Policy'."),
    ]),
    ("ORDER_MONITOR_PROVIDERS", {"memory": {"ADAPTER": InMemoryProvider}}, [
        E(8, "Provider 'memory': ADAPTER <class 'django_order_monitor.testing.memory.InMemoryProvider'> is not a dotted path.", "Check the dotted path and that the module is installed."),
    ]),
    ("ORDER_MONITOR_DEFAULT_PROVIDER", ["memory"], [
        E(10, "ORDER_MONITOR_DEFAULT_PROVIDER ['memory'] is not in ORDER_MONITOR_PROVIDERS.", "Use one of ['memory'] or add it."),
    ]),
    ("ORDER_MONITOR_EXTERNAL_STATUS_VALUES", {"processing": 1}, [
        E(6, "ORDER_MONITOR_EXTERNAL_STATUS_VALUES is {'processing': 1}; it must be a dict with keys from ['completed', 'failed', 'processing'], each mapped to a status word or None.", "Default: ORDER_MONITOR_EXTERNAL_STATUS_VALUES = {'completed': 'done', 'failed': 'failed', 'processing': 'processing'}."),
    ]),
    ("ORDER_MONITOR_FIELDS", {"pin": ["pin_code"]}, [
        E(2, "ORDER_MONITOR_FIELDS maps 'pin' to ['pin_code']; a role maps to an attribute name or None.", "Example: ORDER_MONITOR_FIELDS = {'pin': 'pin_code'}."),
    ]),
    ("ORDER_MONITOR_DEADLINE", float("inf"), [
        E(7, "ORDER_MONITOR_DEADLINE is inf; it must be a number of seconds > 0.", "Default: ORDER_MONITOR_DEADLINE = 86400."),
    ]),
    # Settings not validated before issue 10.
    ("ORDER_MONITOR_TRANSITION_HANDLER", "shop.orders.nowhere", [
        E(11, "ORDER_MONITOR_TRANSITION_HANDLER is 'shop.orders.nowhere'; it must be None or a dotted path to a callable, such as 'shop.monitoring.on_terminal'.", "Default: ORDER_MONITOR_TRANSITION_HANDLER = None."),
    ]),
    ("ORDER_MONITOR_LATE_COMPLETION_HANDLER", 42, [
        E(11, "ORDER_MONITOR_LATE_COMPLETION_HANDLER is 42; it must be None or a dotted path to a callable, such as 'shop.monitoring.on_terminal'.", "Default: ORDER_MONITOR_LATE_COMPLETION_HANDLER = None."),
    ]),
    ("ORDER_MONITOR_BREAKER_THRESHOLD", 0, [
        E(13, "ORDER_MONITOR_BREAKER_THRESHOLD is 0; it must be a whole number of failures >= 1.", "Default: ORDER_MONITOR_BREAKER_THRESHOLD = 5."),
    ]),
    ("ORDER_MONITOR_BREAKER_THRESHOLD", 2.5, [
        E(13, "ORDER_MONITOR_BREAKER_THRESHOLD is 2.5; it must be a whole number of failures >= 1.", "Default: ORDER_MONITOR_BREAKER_THRESHOLD = 5."),
    ]),
    ("ORDER_MONITOR_BREAKER_COOLDOWN", "60", [
        E(13, "ORDER_MONITOR_BREAKER_COOLDOWN is '60'; it must be a number of seconds > 0.", "Default: ORDER_MONITOR_BREAKER_COOLDOWN = 60."),
    ]),
    ("ORDER_MONITOR_RATE_LIMIT", {"min_interval": 0.1, "max_concurent": 4}, [
        E(14, "ORDER_MONITOR_RATE_LIMIT has unknown keys ['max_concurent']; known keys are ['min_interval', 'max_concurrent', 'max_wait'].", RATE_LIMIT_HINT),
    ]),
    ("ORDER_MONITOR_RATE_LIMIT", {"max_concurrent": 0}, [
        E(14, "ORDER_MONITOR_RATE_LIMIT has max_concurrent = 0; it must be a whole number >= 1 (leave it out for no limit).", RATE_LIMIT_HINT),
    ]),
    ("ORDER_MONITOR_RATE_LIMIT", {"max_wait": -1}, [
        E(14, "ORDER_MONITOR_RATE_LIMIT has max_wait = -1; it must be a number of seconds >= 0.", RATE_LIMIT_HINT),
    ]),
    ("ORDER_MONITOR_RATE_LIMIT", 10, [
        E(14, "ORDER_MONITOR_RATE_LIMIT is 10; it must be None or a dict with keys from ['min_interval', 'max_concurrent', 'max_wait'].", RATE_LIMIT_HINT),
    ]),
    ("ORDER_MONITOR_PROVIDERS", {"memory": {"ADAPTER": MEMORY, "RATE_LIMIT": {"min_interval": "fast"}}}, [
        E(14, "Provider 'memory': RATE_LIMIT has min_interval = 'fast'; it must be a number of seconds >= 0.", RATE_LIMIT_HINT),
    ]),
    ("ORDER_MONITOR_REDIS_URL", 6379, [
        E(14, "ORDER_MONITOR_REDIS_URL is 6379; it must be None or a Redis URL such as 'redis://127.0.0.1:6379/0'.", "Default: ORDER_MONITOR_REDIS_URL = None."),
    ]),
    ("ORDER_MONITOR_CALLBACK_TOLERANCE", 0, [
        E(15, "ORDER_MONITOR_CALLBACK_TOLERANCE is 0; it must be a number of seconds > 0.", "Default: ORDER_MONITOR_CALLBACK_TOLERANCE = 300."),
    ]),
    ("ORDER_MONITOR_CALLBACK_TOLERANCE", None, [
        E(15, "ORDER_MONITOR_CALLBACK_TOLERANCE is None; it must be a number of seconds > 0.", "Default: ORDER_MONITOR_CALLBACK_TOLERANCE = 300."),
    ]),
    ("ORDER_MONITOR_PROVIDERS", {"memory": {"ADAPTER": MEMORY, "CALLBACK_SECRET": ""}}, [
        E(15, "Provider 'memory': CALLBACK_SECRET must be a non-empty string, not str (empty).", "Give the shared secret as a string, or remove the key to refuse this provider's pushes."),
    ]),
    ("ORDER_MONITOR_DEADLINE", 60, [
        E(16, "ORDER_MONITOR_DEADLINE (60 s) is not longer than ORDER_MONITOR_FIRST_CHECK_DELAY (60 s): every order would time out at its first check.", "Make DEADLINE much longer than FIRST_CHECK_DELAY (defaults: 86400 and 60)."),
    ]),
    ("USE_TZ", False, [
        E(17, "USE_TZ is not True: the monitor stores and compares aware datetimes, so following an order would fail.", "Set USE_TZ = True in the project's settings (Django's default since 5.0)."),
    ]),
    ("ORDER_MONITOR_PROVIDERS", {"memory": {"ADAPTER": "tests.test_checks.SlowCallProvider", "OPTIONS": {"deadline": 120}}}, [
        E(18, "ORDER_MONITOR_LEASE_SECONDS (90 s) does not exceed provider 'memory''s call deadline (120 s): a slow reply would outlive the lease and a second worker could check the same order.", "Raise ORDER_MONITOR_LEASE_SECONDS above 120, or lower the timeouts in ORDER_MONITOR_PROVIDERS['memory']['OPTIONS']."),
    ]),
    # Settings not validated before issue 11.
    ("ORDER_MONITOR_INTERNAL_STATUS_VALUES", {"completed": "approved", "refunded": "x"}, [
        E(6, "ORDER_MONITOR_INTERNAL_STATUS_VALUES is {'completed': 'approved', 'refunded': 'x'}; it must be a dict with keys from ['completed', 'failed'], each mapped to a status word or None.", "Default: ORDER_MONITOR_INTERNAL_STATUS_VALUES = {'completed': 'approved', 'failed': 'rejected'}."),
    ]),
    ("ORDER_MONITOR_ENABLED", "False", [
        E(19, "ORDER_MONITOR_ENABLED is 'False'; it must be True or False.", "Default: ORDER_MONITOR_ENABLED = True."),
    ]),
    ("ORDER_MONITOR_SHADOW", 1, [
        E(19, "ORDER_MONITOR_SHADOW is 1; it must be True or False.", "Default: ORDER_MONITOR_SHADOW = False."),
    ]),
    ("ORDER_MONITOR_RETENTION", 3600, [
        E(21, "ORDER_MONITOR_RETENTION is 3600; it must be None (keep everything) or a number of seconds >= 86400 (one day).", "Default: ORDER_MONITOR_RETENTION = None."),
    ]),
    ("ORDER_MONITOR_RETENTION", 86400, [
        E(21, "ORDER_MONITOR_RETENTION (86400 s) is not longer than ORDER_MONITOR_DEADLINE (86400 s): a pruned order could still be in the sweep's window and be followed again.", "Keep RETENTION above DEADLINE (e.g. 30 days: 2592000)."),
    ]),
    # The token is a secret: no METRICS message quotes a value (a token put there by mistake included).
    ("ORDER_MONITOR_METRICS", "s3cret-token", [
        E(20, "ORDER_MONITOR_METRICS is a str; it must be None or a dict with keys from ['PORT', 'ADDRESS', 'TOKEN'].", METRICS_HINT),
    ]),
    ("ORDER_MONITOR_METRICS", {"PORT": "9108"}, [
        E(20, "ORDER_MONITOR_METRICS has a PORT that is not a TCP port number (1-65535).", METRICS_HINT),
    ]),
    ("ORDER_MONITOR_METRICS", {"TOKEN": 12345}, [
        E(20, "ORDER_MONITOR_METRICS has a TOKEN that is not a non-empty string.", METRICS_HINT),
    ]),
    ("ORDER_MONITOR_METRICS", {"port": 9108}, [
        E(20, "ORDER_MONITOR_METRICS has unknown keys ['port']; known keys are ['PORT', 'ADDRESS', 'TOKEN'].", METRICS_HINT),
    ]),
    ("ORDER_MONITOR_PROVIDERS", {"memory": {"ADAPTER": "tests.test_checks.SlowCallProvider", "OPTIONS": {"deadline": 88}}}, [
        E(23, "Provider 'memory''s call slots live 93 s (its call deadline 88 s + ORDER_MONITOR_CALL_SLOT_GRACE 5 s), longer than ORDER_MONITOR_LEASE_SECONDS (90 s): a killed worker's slots would still block calls after its orders are free to be checked again.", "Raise ORDER_MONITOR_LEASE_SECONDS to 93 or more, or lower ORDER_MONITOR_CALL_SLOT_GRACE."),
    ]),
    ("ORDER_MONITOR_HEALTH_TOKEN", b"s3cret", [
        E(24, "ORDER_MONITOR_HEALTH_TOKEN must be None or a non-empty string, not bytes.", "Set it to a long random string for probes (sent as 'Authorization: Bearer ...'), or None for staff logins only."),
    ]),
    ("ORDER_MONITOR_CALL_SLOT_GRACE", 0, [
        E(14, "ORDER_MONITOR_CALL_SLOT_GRACE is 0; it must be a number of seconds > 0.", "Default: ORDER_MONITOR_CALL_SLOT_GRACE = 5."),
    ]),
]


@pytest.mark.parametrize("name, value, expected", WRONG_SETTINGS)
def test_each_wrong_setting_gets_its_check(settings, name, value, expected):
    setattr(settings, name, value)
    assert only_ours(run_checks()) == expected


class Unshown:
    """A value no rule accepts, with a repr a test can spell."""

    def __repr__(self):
        return "<wrong>"


@pytest.mark.parametrize("name", [name for name, setting in SETTINGS.items() if setting.rule])
def test_a_value_its_rule_refuses_gets_the_check_its_declaration_names(settings, name):
    setting = SETTINGS[name]
    assert setting.rule.accepts(setting.default)
    setattr(settings, PREFIX + name, Unshown())
    assert only_ours(run_checks()) == [
        Error(
            f"ORDER_MONITOR_{name} is <wrong>; it must be {setting.rule.expected}.",
            hint=f"Default: ORDER_MONITOR_{name} = {setting.default!r}.",
            id=setting.check,
        )
    ]


@pytest.mark.parametrize("name", [name for name, setting in SETTINGS.items() if not setting.rule])
def test_a_setting_without_a_rule_is_tried_by_its_dedicated_check(name):
    """Such a setting has a row in WRONG_SETTINGS whose first message has its declared id."""
    assert SETTINGS[name].check in {expected[0].id for tried, _value, expected in WRONG_SETTINGS if tried == PREFIX + name}


def test_the_problems_table_holds_every_id_once_in_sequence():
    problems = Problems.all()
    ids = sorted({problem.id for problem in problems})
    errors = [i for i in ids if ".E" in i]
    assert errors == [f"order_monitor.E{n:03d}" for n in range(1, len(errors) + 1)]
    assert [i for i in ids if ".W" in i] == [f"order_monitor.W{n:03d}" for n in range(1, 6)]
    assert {setting.check for setting in SETTINGS.values()} <= set(ids)
    assert {setting.check for setting in SETTINGS.values() if setting.rule} <= set(WRONG_VALUE_PROBLEMS)
    assert all(problem.id == key for key, problem in WRONG_VALUE_PROBLEMS.items())
    for problem in problems:
        assert problem.hint and "\n" not in problem.msg + problem.hint
        assert problem.level is (Warning if ".W" in problem.id else Error)


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
            hint="Example: {'znet': {'ADAPTER': 'django_order_monitor.providers.adapters.znet.ZnetProvider', 'OPTIONS': {...}}}.",
            id="order_monitor.E010",
        )
    ]


def test_a_huey_without_priorities_is_a_warning(settings):
    """The sweep must not wait behind a backlog of checks: plain RedisHuey cannot put it first."""
    settings.HUEY = {"huey_class": "huey.RedisHuey", "immediate": False}
    assert only_ours(run_checks()) == [
        Warning(
            "Huey's storage (RedisStorage) has no task priorities: the periodic sweep waits behind every queued check.",
            hint="Use HUEY = {'huey_class': 'huey.PriorityRedisHuey', ...} (Redis 5 or later), or SqliteHuey.",
            id="order_monitor.W004",
        )
    ]
    settings.HUEY = {"huey_class": "huey.PriorityRedisHuey", "immediate": False}
    assert only_ours(run_checks()) == []


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


# -- issue 10, defect 14: the order model -------------------------------------------------------

MINIMAL_SETTINGS = """
SECRET_KEY = "tests-only"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "huey.contrib.djhuey", "django_order_monitor"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
from huey import MemoryHuey
HUEY = MemoryHuey("checks-subprocess", immediate=False)
ORDER_MONITOR_PROVIDERS = {"memory": {"ADAPTER": "django_order_monitor.testing.memory.InMemoryProvider"}}
"""


@pytest.mark.parametrize(
    "line, message",
    [
        ("", "django_order_monitor needs ORDER_MONITOR_ORDER_MODEL = 'app_label.Model'"),
        ("ORDER_MONITOR_ORDER_MODEL = 'product_orders'", "ORDER_MONITOR_ORDER_MODEL must be 'app_label.Model', not 'product_orders'."),
        ("ORDER_MONITOR_ORDER_MODEL = ['shop.Order']", "ORDER_MONITOR_ORDER_MODEL must be 'app_label.Model', not a list."),
    ],
    ids=["unset", "no-dot", "a-list"],
)
def test_manage_py_check_reports_a_missing_order_model(tmp_path, line, message):
    """A fresh process (the models module imports with the setting absent), as a new user runs it."""
    (tmp_path / "minimal_settings.py").write_text(MINIMAL_SETTINGS + line + "\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "minimal_settings", "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "django", "check"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"(order_monitor.E001) {message}" in done.stderr
    assert "HINT: Set ORDER_MONITOR_ORDER_MODEL = 'app_label.Model' to the shop's order model." in done.stderr
    # The monitor's other checks still run; nothing but E001 about the order model.
    assert "fields.E" not in done.stderr and "signals.E" not in done.stderr


# -- issue 10, defect 4: the PIN column ---------------------------------------------------------

#: An order model whose PIN column is not called ``pin_code``: required roles mapped, ``pin`` never named.
MODEL_WITHOUT_PIN_CODE = {
    "ORDER_MONITOR_ORDER_MODEL": "testapp.TerminalEvent",
    "ORDER_MONITOR_FIELDS": {"reference": "order_id", "external_status": "outcome", "status": "internal_status"},
}


def test_a_mapping_that_never_names_the_pin_column_is_an_error(settings):
    for name, value in MODEL_WITHOUT_PIN_CODE.items():
        setattr(settings, name, value)
    assert only_ours(run_checks()) == [
        Error(
            "testapp.TerminalEvent has no field 'pin_code' for the PIN: every delivered PIN would be dropped.",
            hint="Map it: ORDER_MONITOR_FIELDS = {'pin': 'attribute'}; or 'pin': None to write no PIN on purpose.",
            id="order_monitor.E012",
        )
    ]


def test_pin_mapped_to_none_on_purpose_is_only_a_warning(settings):
    settings.ORDER_MONITOR_ORDER_MODEL = MODEL_WITHOUT_PIN_CODE["ORDER_MONITOR_ORDER_MODEL"]
    settings.ORDER_MONITOR_FIELDS = {**MODEL_WITHOUT_PIN_CODE["ORDER_MONITOR_FIELDS"], "pin": None}
    assert only_ours(run_checks()) == [
        Warning(
            "ORDER_MONITOR_FIELDS maps 'pin' to None: completed orders will get no PIN written.",
            hint="Map 'pin' to the attribute that holds the delivered PIN, unless the shop reads PINs elsewhere.",
            id="order_monitor.W003",
        )
    ]


def test_pin_mapped_to_its_column_is_clean(settings):
    settings.ORDER_MONITOR_ORDER_MODEL = MODEL_WITHOUT_PIN_CODE["ORDER_MONITOR_ORDER_MODEL"]
    settings.ORDER_MONITOR_FIELDS = {**MODEL_WITHOUT_PIN_CODE["ORDER_MONITOR_FIELDS"], "pin": "source"}
    assert only_ours(run_checks()) == []


# -- issue 10, defect 14: secrets, time zones, leases -------------------------------------------


def test_a_callback_secret_of_the_wrong_type_is_not_echoed(settings):
    settings.ORDER_MONITOR_PROVIDERS = {"memory": {"ADAPTER": MEMORY, "CALLBACK_SECRET": b"s3cr3t-bytes"}}
    [message] = only_ours(run_checks())
    assert message.id == "order_monitor.E015"
    assert message.msg == "Provider 'memory': CALLBACK_SECRET must be a non-empty string, not bytes."
    assert "s3cr3t" not in message.msg + message.hint


def test_use_tz_false_is_an_error_and_never_breaks_the_shops_save(settings, db, make_order, caplog):
    from django_order_monitor.engine.sweep import run_sweep
    from django_order_monitor.models import MonitoredOrder

    settings.USE_TZ = False
    assert ids(run_checks()) == ["order_monitor.E017"]

    order = make_order(referans="TZ-1", pin_code="1111-2222-3333")  # the shop's save() succeeds
    assert not MonitoredOrder.objects.filter(order_id=order.pk).exists()
    [record] = [r for r in caplog.records if r.name == "django_order_monitor.hook"]
    assert record.levelname == "ERROR"
    assert "the sweep will pick it up" in record.getMessage()
    assert "1111" not in record.getMessage() and record.exc_info is None

    settings.USE_TZ = True  # the user fixes the setting: the sweep finds the order
    assert run_sweep().discovered == [order.pk]


def test_a_lease_shorter_than_a_provider_call_is_an_error(settings):
    settings.ORDER_MONITOR_PROVIDERS = {
        "memory": {"ADAPTER": "tests.test_checks.SlowCallProvider", "OPTIONS": {"deadline": 90}},
        "quick": {"ADAPTER": "tests.test_checks.SlowCallProvider", "OPTIONS": {"deadline": 20}},
        "unbounded": {"ADAPTER": "tests.test_checks.SlowCallProvider", "OPTIONS": {}},
    }
    assert only_ours(run_checks()) == [
        Error(
            "ORDER_MONITOR_LEASE_SECONDS (90 s) does not exceed provider 'memory''s call deadline (90 s): "
            "a slow reply would outlive the lease and a second worker could check the same order.",
            hint="Raise ORDER_MONITOR_LEASE_SECONDS above 90, or lower the timeouts in ORDER_MONITOR_PROVIDERS['memory']['OPTIONS'].",
            id="order_monitor.E018",
        )
    ]
    settings.ORDER_MONITOR_LEASE_SECONDS = 95  # above 90 s, and a dead worker's slots (90 + 5 s) free by then
    assert only_ours(run_checks()) == []


def test_a_lease_shorter_than_the_http_timeouts_is_an_error(settings):
    from django_order_monitor.providers.adapters.http import RequestsProvider

    if getattr(RequestsProvider, "call_deadline", None) is None:
        pytest.skip("RequestsProvider.call_deadline is not there yet")
    options = {"base_url": "http://127.0.0.1:9/", "kod": "k", "sifre": "s", "connect_timeout": 10, "read_timeout": 50}
    settings.ORDER_MONITOR_PROVIDERS = {"znet": {"ADAPTER": "django_order_monitor.providers.adapters.znet.ZnetProvider", "OPTIONS": options}}
    settings.ORDER_MONITOR_DEFAULT_PROVIDER = "znet"
    settings.ORDER_MONITOR_LEASE_SECONDS = 45
    assert ids(run_checks()) == ["order_monitor.E018"]
    settings.ORDER_MONITOR_LEASE_SECONDS = 600
    assert ids(run_checks()) == []


# -- the tables in docs/reliability.rst ---------------------------------------------------------

DOCS = ROOT / "docs" / "reliability.rst"
WRONG_SETTINGS_INTRO = "Each wrong setting tried, and what it gets (generated from that test's table):"
SETTINGS_INTRO = "Every setting, the check that reports a wrong value and what it expects (``conf.SETTINGS``, generated):"
PROBLEMS_INTRO = "Every problem the checks report, from the table in ``checks.py`` (``Problems``, generated):"


def rst_table(rows) -> str:
    """Rows of cells (the first row the header) as an RST simple table."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    rule = "  ".join("=" * width for width in widths)
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join([rule, lines[0], rule, *lines[1:], rule])


def wrong_settings_table() -> str:
    """WRONG_SETTINGS: the setting tried, and the id, message and hint of the check it gets."""
    rows = [("Setting tried", "Check", "Message", "Hint")]
    for name, value, [message, *_others] in sorted(WRONG_SETTINGS, key=lambda row: row[2][0].id):
        tried = f"{name.removeprefix('ORDER_MONITOR_')} = {value!r}".replace(MEMORY, "...InMemoryProvider")
        rows.append((f"``{tried}``", f"``{message.id}``", message.msg.replace(MEMORY, "...InMemoryProvider"), message.hint))
    return rst_table(rows)


class Placeholders(dict):
    """Formats a template with each placeholder left as ``{name}`` (and ``{{`` shown as ``{``)."""

    def __missing__(self, key):
        return "{" + key + "}"


def problems_table() -> str:
    """checks.Problems: each problem's id, level, and message and hint templates."""
    rows = [("Check", "Level", "Message", "Hint")]
    for problem in sorted(Problems.all(), key=lambda problem: problem.id):
        msg, hint = (template.format_map(Placeholders()) for template in (problem.msg, problem.hint))
        rows.append((f"``{problem.id}``", problem.level.__name__, msg, hint))
    return rst_table(rows)


def settings_table() -> str:
    """conf.SETTINGS: each setting's default, its check and the rule's expectation."""
    rows = [("Setting", "Default", "Meaning", "Check", "Expected")]
    for name, setting in SETTINGS.items():
        default = "(required)" if setting.required else f"``{setting.default!r}``"
        expected = setting.rule.expected if setting.rule else "see the check"
        rows.append((f"``{name}``", default, setting.doc, f"``{setting.check}``", expected))
    return rst_table(rows)


@pytest.mark.parametrize(
    "intro, table",
    [(WRONG_SETTINGS_INTRO, wrong_settings_table), (SETTINGS_INTRO, settings_table), (PROBLEMS_INTRO, problems_table)],
    ids=["wrong-settings", "settings", "problems"],
)
def test_the_docs_tables_are_these_tables(intro, table):
    """Set ORDER_MONITOR_WRITE_DOCS=1 to rewrite a table after changing WRONG_SETTINGS or Problems."""
    text = DOCS.read_text()
    start = text.index(intro) + len(intro) + 2  # the table follows a blank line
    end = start
    for _rule in range(3):  # top rule, rule under the header, bottom rule
        end = text.index("\n", text.index("====", end))
    current, wanted = text[start:end], table()
    if os.environ.get("ORDER_MONITOR_WRITE_DOCS") == "1":
        DOCS.write_text(text[:start] + wanted + text[end:])
    else:
        assert current == wanted, "docs/reliability.rst is out of date: run this test with ORDER_MONITOR_WRITE_DOCS=1"


def test_validate_provider_choice_names_the_known_providers(settings):
    from django_order_monitor.exceptions import UnknownProviderError
    from django_order_monitor.providers import validate_choice as validate_provider_choice

    assert validate_provider_choice("memory") == "memory"
    with pytest.raises(UnknownProviderError, match=r"Provider 'memroy' is not in ORDER_MONITOR_PROVIDERS \(known: \['memory'\]\)"):
        validate_provider_choice("memroy")
    with pytest.raises(UnknownProviderError):
        validate_provider_choice(["memory"])


# -- README.rst's settings table ----------------------------------------------------------------

README = ROOT / "README.rst"


def readme_settings() -> dict[str, str]:
    """Name -> default as README.rst's settings table shows them, wrapped cells joined."""
    lines = README.read_text().splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith("====") and lines[i + 1].startswith("Name "))
    default_at = lines[top].index("  =") + 2  # where the second column starts
    rows: list[list[str]] = []
    for line in lines[top + 3 :]:
        if line.startswith("===="):
            break
        name = line[:default_at].strip().strip("`")
        # A default runs until two spaces (the next column), even past its own column's rule.
        default = re.match(r"\S*(?: \S+)*", line[default_at:]).group()
        if name and not (rows and rows[-1][0].endswith("_")):
            rows.append([name, default])
        else:  # a wrapped row: a name cut after "_" (EXTERNAL_STATUS_ / VALUES), or a default on two lines
            rows[-1][0] += name
            rows[-1][1] = f"{rows[-1][1]} {default}".strip()
    return {name: default for name, default in rows}


def shown(default: str) -> str:
    """A default as text, without the quotes, brackets and markup that the README drops."""
    return " ".join(re.sub(r"[`'\"\[\]]", "", default).split())


def test_the_readme_names_every_setting_with_its_default():
    """README.rst's settings table is written by hand: it must still name each declared setting and its default."""
    documented = readme_settings()
    declared = {name: "(required)" if setting.required else shown(repr(setting.default)) for name, setting in SETTINGS.items()}
    assert sorted(set(declared) - set(documented)) == [], "settings missing from README.rst's settings table"
    assert sorted(set(documented) - set(declared)) == [], "README.rst's settings table names settings that do not exist"
    differ = {name: (shown(documented[name]), default) for name, default in declared.items() if shown(documented[name]) != default}
    assert differ == {}, "README.rst shows other defaults (README, declared)"
