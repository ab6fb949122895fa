"""Each wrong setting gets its own system check, with an id and a hint naming the fix."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import Error, Warning, run_checks

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


#: (setting, wrong value, the check it gets). docs/reliability.rst shows this table with each
#: message (see test_the_docs_table_is_this_table).
WRONG_SETTINGS = [
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
    ("ORDER_MONITOR_POLICY", "django_order_monitor.engine.policy.backoff", "order_monitor.E011"),
    ("ORDER_MONITOR_ADAPTIVE", {"QUANTILES": 0.2}, "order_monitor.E011"),
    ("ORDER_MONITOR_ADAPTIVE", {"QUANTILE": "0.2"}, "order_monitor.E011"),
    # Wrong types that used to crash the check framework itself (issue 10, defect 14).
    ("ORDER_MONITOR_POLICY", None, "order_monitor.E011"),
    ("ORDER_MONITOR_PROVIDERS", {"memory": {"ADAPTER": InMemoryProvider}}, "order_monitor.E008"),
    ("ORDER_MONITOR_DEFAULT_PROVIDER", ["memory"], "order_monitor.E010"),
    ("ORDER_MONITOR_EXTERNAL_STATUS_VALUES", {"processing": 1}, "order_monitor.E006"),
    ("ORDER_MONITOR_FIELDS", {"pin": ["pin_code"]}, "order_monitor.E002"),
    ("ORDER_MONITOR_DEADLINE", float("inf"), "order_monitor.E007"),
    # Settings not validated before issue 10.
    ("ORDER_MONITOR_TRANSITION_HANDLER", "shop.orders.nowhere", "order_monitor.E011"),
    ("ORDER_MONITOR_LATE_COMPLETION_HANDLER", 42, "order_monitor.E011"),
    ("ORDER_MONITOR_BREAKER_THRESHOLD", 0, "order_monitor.E013"),
    ("ORDER_MONITOR_BREAKER_THRESHOLD", 2.5, "order_monitor.E013"),
    ("ORDER_MONITOR_BREAKER_COOLDOWN", "60", "order_monitor.E013"),
    ("ORDER_MONITOR_RATE_LIMIT", {"min_interval": 0.1, "max_concurent": 4}, "order_monitor.E014"),
    ("ORDER_MONITOR_RATE_LIMIT", {"max_concurrent": 0}, "order_monitor.E014"),
    ("ORDER_MONITOR_RATE_LIMIT", {"max_wait": -1}, "order_monitor.E014"),
    ("ORDER_MONITOR_RATE_LIMIT", 10, "order_monitor.E014"),
    ("ORDER_MONITOR_PROVIDERS", {"memory": {"ADAPTER": MEMORY, "RATE_LIMIT": {"min_interval": "fast"}}}, "order_monitor.E014"),
    ("ORDER_MONITOR_REDIS_URL", 6379, "order_monitor.E014"),
    ("ORDER_MONITOR_CALLBACK_TOLERANCE", 0, "order_monitor.E015"),
    ("ORDER_MONITOR_CALLBACK_TOLERANCE", None, "order_monitor.E015"),
    ("ORDER_MONITOR_PROVIDERS", {"memory": {"ADAPTER": MEMORY, "CALLBACK_SECRET": ""}}, "order_monitor.E015"),
    ("ORDER_MONITOR_DEADLINE", 60, "order_monitor.E016"),
    ("USE_TZ", False, "order_monitor.E017"),
    ("ORDER_MONITOR_PROVIDERS", {"memory": {"ADAPTER": "tests.test_checks.SlowCallProvider", "OPTIONS": {"deadline": 120}}}, "order_monitor.E018"),
]


@pytest.mark.parametrize("name, value, expected", WRONG_SETTINGS)
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
            hint="Example: {'znet': {'ADAPTER': 'django_order_monitor.providers.adapters.znet.ZnetProvider', 'OPTIONS': {...}}}.",
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
    settings.ORDER_MONITOR_LEASE_SECONDS = 91
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


# -- the table in docs/reliability.rst ----------------------------------------------------------

DOCS = ROOT / "docs" / "reliability.rst"
DOCS_INTRO = "Each wrong setting tried, and what it gets (generated from that test's table):"


def docs_table() -> str:
    """WRONG_SETTINGS as an RST table: the setting tried, and the check's id, message and hint."""
    from django.test import override_settings

    rows = [("Setting tried", "Check", "Message", "Hint")]
    for name, value, expected in sorted(WRONG_SETTINGS, key=lambda row: row[2]):
        with override_settings(**{name: value}):
            message = next(m for m in run_checks() if m.id == expected)
        tried = f"{name.removeprefix('ORDER_MONITOR_')} = {value!r}".replace(MEMORY, "...InMemoryProvider")
        rows.append((f"``{tried}``", f"``{expected}``", message.msg.replace(MEMORY, "...InMemoryProvider"), message.hint))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    rule = "  ".join("=" * width for width in widths)
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join([rule, lines[0], rule, *lines[1:], rule])


def test_the_docs_table_is_this_table():
    """Set ORDER_MONITOR_WRITE_DOCS=1 to rewrite the table after changing WRONG_SETTINGS or a message."""
    text = DOCS.read_text()
    start = text.index(DOCS_INTRO) + len(DOCS_INTRO) + 2  # the table follows a blank line
    end = start
    for _rule in range(3):  # top rule, rule under the header, bottom rule
        end = text.index("\n", text.index("====", end))
    current, wanted = text[start:end], docs_table()
    if os.environ.get("ORDER_MONITOR_WRITE_DOCS") == "1":
        DOCS.write_text(text[:start] + wanted + text[end:])
    else:
        assert current == wanted, "docs/reliability.rst is out of date: run this test with ORDER_MONITOR_WRITE_DOCS=1"


def test_validate_provider_choice_names_the_known_providers(settings):
    from django_order_monitor.conf import validate_provider_choice
    from django_order_monitor.exceptions import UnknownProviderError

    assert validate_provider_choice("memory") == "memory"
    with pytest.raises(UnknownProviderError, match=r"Provider 'memroy' is not in ORDER_MONITOR_PROVIDERS \(known: \['memory'\]\)"):
        validate_provider_choice("memroy")
    with pytest.raises(UnknownProviderError):
        validate_provider_choice(["memory"])
