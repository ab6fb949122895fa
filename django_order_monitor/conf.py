"""Settings of django_order_monitor: their declarations, access and the host order model.

Every setting is a flat ``ORDER_MONITOR_<NAME>`` in the project's settings and is
read when used (no cache), so ``override_settings`` and pytest-django's
``settings`` fixture just work. Each is declared once, in ``SETTINGS`` (default,
one-line doc, the rule a value must meet and the id of the check that says when
it does not); ``checks.py`` validates them from there at start-up. Over 300
lines because those declarations, one per setting, are most of the module.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

PREFIX = "ORDER_MONITOR_"

#: Roles the monitor reads or writes on the shop's order, mapped to model attributes
#: by ``ORDER_MONITOR_FIELDS``. The defaults are the reference shop's attribute names.
DEFAULT_FIELDS: dict[str, str | None] = {
    "reference": "provider_referans",
    "external_status": "external_status",
    "status": "status",
    "pin": "pin_code",
    "dispatched_at": "sent_at",
    "last_sync_at": "last_sync_at",
    "completed_at": "completed_at",
    "provider": "provider_id",
    "provider_message": "provider_message",
    "duration_ms": "duration_ms",
    "tenant": "tenant_id",
    # Not in the reference schema: map it (e.g. to "package_id") to learn completion times per product.
    "product": None,
}
#: Roles without which nothing can be followed.
REQUIRED_ROLES = ("reference", "external_status")

@dataclass(frozen=True)
class Rule:
    """What a valid value of a setting is: ``expected`` says it in the check's message,
    ``accepts`` tests a value (whatever it is: it never raises)."""

    expected: str
    accepts: Callable[[Any], bool]


@dataclass(frozen=True)
class Setting:
    """One ``ORDER_MONITOR_<name>`` setting: its default, what it means and who validates it.

    ``check`` is the id of the system check that reports a wrong value. With a ``rule``,
    ``checks.check_settings`` applies it; without one, a dedicated check in ``checks.py``
    (the one reporting ``check``) validates the setting, which is too structured for a rule.
    """

    name: str
    default: Any
    doc: str
    check: str
    rule: Rule | None = None
    required: bool = False  # no usable default: the shop must set it


def finite_number(value: Any) -> float | None:
    """``value`` as a finite float, or None for bools, non-numbers, nan, inf and huge ints."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except (OverflowError, TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def number(expected: str, accepts: Callable[[float], bool]) -> Rule:
    """A finite real number (not a bool) that ``accepts`` takes."""

    def valid(value: Any) -> bool:
        found = finite_number(value)
        return found is not None and accepts(found)

    return Rule(expected, valid)


def _is_word_list(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(word, str) and word.strip() for word in value)
    )


def _status_values(keys: tuple[str, ...]) -> Rule:
    def valid(value: Any) -> bool:
        return (
            isinstance(value, dict)
            and all(key in keys for key in value)
            and all(word is None or isinstance(word, str) for word in value.values())
        )

    return Rule(f"a dict with keys from {list(keys)}, each mapped to a status word or None", valid)


def _importable_callable(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    try:
        return callable(import_string(value))
    # Any failure to import the user's path (a missing module, ".x", a module that raises
    # on import) means the value is wrong, which the check reports; it must not crash it.
    except Exception:
        return False


def _budget_options_ok(value: Any) -> bool:
    defaults = SETTINGS["BUDGET"].default
    if not isinstance(value, dict) or set(value) - set(defaults):
        return False
    numbers = {key: finite_number(option) for key, option in value.items()}
    if any(option is None or option <= 0 for option in numbers.values()):
        return False
    merged = {**defaults, **numbers}
    return merged["TARGET"] <= 1 and merged["MIN_DEFER"] <= merged["MAX_DEFER"]


SECONDS = number("a number of seconds > 0", lambda v: v > 0)
SECONDS_OR_ZERO = number("a number of seconds >= 0", lambda v: v >= 0)
FLAG = Rule("True or False", lambda value: isinstance(value, bool))
WORDS = Rule("a non-empty list of words", _is_word_list)
DOTTED_CALLABLE = Rule("None or a dotted path to a callable, such as 'shop.monitoring.on_terminal'", _importable_callable)


def _keeps_a_day_at_least(value: Any) -> bool:
    """RETENTION's rule: None, or a number of seconds of at least one day."""
    seconds = finite_number(value)
    return value is None or (seconds is not None and seconds >= 86400)


#: Every setting, in the order the README lists them. Adding one means adding it here (and its
#: test); AppSettings reads its default from here and checks.py validates it by its rule.
SETTINGS: dict[str, Setting] = {
    setting.name: setting
    for setting in (
        Setting("ORDER_MODEL", None, "The shop's order model, 'app_label.Model'.", "order_monitor.E001", required=True),
        Setting("FIELDS", {}, "Role -> attribute overrides, merged over DEFAULT_FIELDS; None removes a role.", "order_monitor.E002"),
        Setting("ENABLED", True, "Master switch: False stops the hook and the sweep; queued checks no-op.", "order_monitor.E019", FLAG),
        Setting(
            "SHADOW", False, "Check and record everything but write nothing to the shop's rows and run no shop code "
            "(compare with order_monitor_shadow_report before switching).", "order_monitor.E019", FLAG,
        ),
        Setting(
            "DISPATCHED_STATUSES", ["pending", "sent", "processing", "queued"],
            "External statuses that mean 'sent to the provider, waiting' (case-insensitive).", "order_monitor.E005", WORDS,
        ),
        # For every word-speaking adapter and the push endpoint (providers.vocabulary);
        # the "still working" words are in outcomes.PROCESSING_WORDS.
        Setting(
            "SUCCESS_STATUSES", ["completed", "complete", "done", "success", "ok", "delivered", "approved", "accept", "accepted"],
            "Provider words meaning success (case-insensitive).", "order_monitor.E005", WORDS,
        ),
        Setting(
            "FAILURE_STATUSES", ["failed", "fail", "error", "rejected", "reject", "cancelled", "canceled"],
            "Provider words meaning failure (case-insensitive).", "order_monitor.E005", WORDS,
        ),
        Setting(
            "EXTERNAL_STATUS_VALUES", {"completed": "done", "failed": "failed", "processing": "processing"},
            "Values written to the external-status role; None leaves the column as it is.",
            "order_monitor.E006", _status_values(("completed", "failed", "processing")),
        ),
        Setting(
            "INTERNAL_STATUS_VALUES", {"completed": "approved", "failed": "rejected"},
            "Values written to the internal-status role on a terminal transition.",
            "order_monitor.E006", _status_values(("completed", "failed")),
        ),
        Setting("POLICY", "django_order_monitor.engine.policy.Policy", "Dotted path to the scheduling policy class.", "order_monitor.E011"),
        Setting("ADAPTIVE", {}, "Options of engine.adaptive.AdaptivePolicy (see its docstring).", "order_monitor.E011"),
        # Policy durations are seconds; floats are allowed, so demos can compress time.
        Setting("FIRST_CHECK_DELAY", 60, "First check, after dispatch.", "order_monitor.E007", SECONDS_OR_ZERO),
        Setting("BACKOFF_BASE", 30, "Then BASE x FACTOR^n seconds between checks ...", "order_monitor.E007", SECONDS),
        Setting("BACKOFF_FACTOR", 2, "... growing by this factor ...", "order_monitor.E007", number("a multiplier >= 1", lambda v: v >= 1)),
        Setting("BACKOFF_MAX", 600, "... capped here ...", "order_monitor.E007", SECONDS),
        Setting(
            "BACKOFF_JITTER", 0.1, "... +/- this fraction of each delay.",
            "order_monitor.E007", number("a fraction from 0 to below 1", lambda v: 0 <= v < 1),
        ),
        Setting(
            "QUICK_ATTEMPTS", 20, "Checks driven by Huey's chain; afterwards the sweep re-checks.",
            "order_monitor.E007", number("a whole number >= 0", lambda v: v >= 0 and v.is_integer()),
        ),
        Setting("DEADLINE", 24 * 60 * 60, "Measured from dispatch: one final check, then the timeout action.", "order_monitor.E007", SECONDS),
        Setting(
            "FINAL_CHECK_GRACE", 60 * 60, "Keep asking past the deadline while the provider cannot answer.",
            "order_monitor.E007", SECONDS_OR_ZERO,
        ),
        Setting(
            "TIMEOUT_ACTION", "failed", "At the deadline: 'failed' (terminal, refund path) or 'stop' (leave for a human).",
            "order_monitor.E007",
            Rule("'failed' (refund path) or 'stop' (leave for a human)", lambda value: isinstance(value, str) and value in ("failed", "stop")),
        ),
        # Huey runs periodic tasks once a minute at most.
        Setting(
            "SWEEP_INTERVAL", 300, "Seconds between sweeps, a whole number of minutes.",
            "order_monitor.E007", number("a whole number of minutes in seconds (60, 300, ...)", lambda v: v >= 60 and v % 60 == 0),
        ),
        Setting(
            "SWEEP_BATCH_SIZE", 100, "Orders per sweep, oldest due first.",
            "order_monitor.E007", number("a whole number >= 1", lambda v: v >= 1 and v.is_integer()),
        ),
        Setting("SWEEP_SPACING", 0.2, "Seconds between the checks a sweep enqueues (provider etiquette).", "order_monitor.E007", SECONDS_OR_ZERO),
        Setting(
            "LEASE_SECONDS", 90, "A claim on an order expires after this; longer than connect + read timeout.",
            "order_monitor.E007", number("a number of seconds >= 30 (longer than a provider call)", lambda v: v >= 30),
        ),
        Setting("LOST_TASK_GRACE", 120, "A chained check this late is presumed lost and re-enqueued.", "order_monitor.E007", SECONDS),
        Setting(
            "BREAKER_THRESHOLD", 5, "Transport failures in a row that pause a provider ...",
            "order_monitor.E013", number("a whole number of failures >= 1", lambda v: v >= 1 and v.is_integer()),
        ),
        Setting("BREAKER_COOLDOWN", 60, "... for this many seconds.", "order_monitor.E013", SECONDS),
        # Shared by all consumers through Redis.
        Setting(
            "RATE_LIMIT", {"min_interval": 0.1, "max_concurrent": 4, "max_wait": 10},
            "Provider etiquette for providers whose config has no 'RATE_LIMIT' (None there: no limit).", "order_monitor.E014",
        ),
        Setting(
            # TARGET: share of the rate the budget spends (dispatch calls first, then checks); BURST: seconds
            # of unused calls saved up; AGING: an order not asked for this long is admitted whatever its
            # chance; a put-off check asks again after MIN_DEFER to MAX_DEFER seconds. A dict setting only
            # some of them keeps the others.
            "BUDGET", {"TARGET": 1.0, "BURST": 2.0, "AGING": 21600.0, "MIN_DEFER": 5.0, "MAX_DEFER": 900.0},
            "Which due checks a provider's rate limit affords when more are due than it allows (engine.budget).",
            "order_monitor.E014",
            Rule("a dict with keys TARGET, BURST, AGING, MIN_DEFER, MAX_DEFER: numbers > 0, TARGET at most 1", _budget_options_ok),
        ),
        Setting(
            "CALL_SLOT_GRACE", 5,
            "A call slot lives at most the provider's call deadline plus this: a killed worker's slots free themselves then.",
            "order_monitor.E014", SECONDS,
        ),
        Setting(
            "REDIS_URL", None, "Redis for the shared rate limits; None: Huey's own Redis, else limits per process.",
            "order_monitor.E014",
            Rule(
                "None or a Redis URL such as 'redis://127.0.0.1:6379/0'",
                lambda value: value is None or (isinstance(value, str) and bool(value.strip())),
            ),
        ),
        # Compared in constant time, never logged, never echoed by its check.
        Setting("HEALTH_TOKEN", None, "Bearer token for the health view; None: staff logins only.", "order_monitor.E024"),
        Setting("CALLBACK_TOLERANCE", 300, "Signed provider pushes are accepted this many seconds around their timestamp.", "order_monitor.E015", SECONDS),
        Setting(
            "PROVIDERS", {}, "{name: {'ADAPTER': dotted path, 'OPTIONS', 'RATE_LIMIT'?, 'CALLBACK_SECRET'?}}.", "order_monitor.E008",
        ),
        Setting("DEFAULT_PROVIDER", None, "The provider when neither the resolver nor the order names one.", "order_monitor.E010"),
        Setting("PROVIDER_RESOLVER", None, "Dotted path to callable(order) -> provider name or None.", "order_monitor.E011", DOTTED_CALLABLE),
        # Providers kept in the shop's own rows (a tenant's integration and its credentials).
        Setting(
            "PROVIDER_LOADER", None, "Dotted path to callable(name) -> a PROVIDERS entry or None, for names not in PROVIDERS.",
            "order_monitor.E011", DOTTED_CALLABLE,
        ),
        Setting("PROVIDER_LOADER_TTL", 60, "Seconds a loaded provider's configuration is reused before it is read again.", "order_monitor.E007", SECONDS_OR_ZERO),
        Setting(
            "TERMINAL_CALLBACK", None, "Dotted path to callable(transition), run inside the terminal transaction (refunds).",
            "order_monitor.E011", DOTTED_CALLABLE,
        ),
        # When set, it performs the internal status change itself (refund, approval date...) inside
        # the terminal transaction, seeing the order as it was before; the monitor writes only its own columns.
        Setting(
            "TRANSITION_HANDLER", None, "Dotted path to the shop's status-change service, callable(transition).",
            "order_monitor.E011", DOTTED_CALLABLE,
        ),
        # A completion the monitor could not apply: the order had timed out or the shop had ended it.
        Setting(
            "LATE_COMPLETION_HANDLER", None, "Dotted path to callable(late_completion); it alone receives a late PIN.",
            "order_monitor.E011", DOTTED_CALLABLE,
        ),
        # A day at least: the dashboard's and the status command's figures cover the last 24 hours.
        Setting(
            "RETENTION", None,
            "Seconds that check history and ended orders' ledger rows are kept; None: forever.", "order_monitor.E021",
            Rule(
                "None (keep everything) or a number of seconds >= 86400 (one day)",
                _keeps_a_day_at_least,
            ),
        ),
        # Validated by checks.check_metrics, which never echoes the TOKEN (a rule's message would).
        Setting(
            "METRICS", None, "Prometheus metrics (the [metrics] extra): None (off) or {'PORT'?, 'ADDRESS'?, 'TOKEN'?}.",
            "order_monitor.E020",
        ),
    )
}

#: Each setting's default by name (a view of SETTINGS).
DEFAULTS: dict[str, Any] = {name: setting.default for name, setting in SETTINGS.items()}


class AppSettings:
    """Read-through access to ``ORDER_MONITOR_*`` settings with defaults."""

    def __getattr__(self, name: str) -> Any:
        setting = SETTINGS.get(name)
        if setting is None:
            raise AttributeError(f"Unknown django_order_monitor setting {name!r}")
        return getattr(django_settings, PREFIX + name, setting.default)

    @property
    def fields(self) -> dict[str, str | None]:
        """Role -> attribute map with the user's overrides applied."""
        merged = dict(DEFAULT_FIELDS)
        merged.update(self.FIELDS or {})
        return merged



app_settings = AppSettings()


def order_model_label() -> str:
    """The configured ``"app_label.Model"``; raises ImproperlyConfigured when unset."""
    label = app_settings.ORDER_MODEL
    if label is None:
        raise ImproperlyConfigured(
            "django_order_monitor needs ORDER_MONITOR_ORDER_MODEL = 'app_label.Model' "
            "naming the shop's order model."
        )
    if not is_model_label(label):
        shown = repr(label) if isinstance(label, str) else f"a {type(label).__name__}"
        raise ImproperlyConfigured(f"ORDER_MONITOR_ORDER_MODEL must be 'app_label.Model', not {shown[:80]}.")
    return label


#: Where the ledger's order relation points while ORDER_MONITOR_ORDER_MODEL is unset or not
#: shaped like "app_label.Model": the ledger itself. The models module then imports, and check
#: order_monitor.E001 (not a traceback) tells the user what to set.
PLACEHOLDER_ORDER_MODEL = "self"


def is_model_label(value: Any) -> bool:
    """True for a string shaped like ``"app_label.Model"`` (whether installed or not)."""
    if not isinstance(value, str):
        return False
    app_label, dot, model_name = value.partition(".")
    return bool(dot and app_label and model_name) and "." not in model_name


def order_model_reference() -> str:
    """The relation target for the ledger: the configured label, or the placeholder."""
    label = app_settings.ORDER_MODEL
    return label if is_model_label(label) else PLACEHOLDER_ORDER_MODEL


def get_order_model():
    """Return the shop's order model class, like ``get_user_model()``."""
    label = order_model_label()
    try:
        return apps.get_model(label, require_ready=False)
    except ValueError as err:
        raise ImproperlyConfigured(f"ORDER_MONITOR_ORDER_MODEL must be 'app_label.Model', not {label!r}.") from err
    except LookupError as err:
        raise ImproperlyConfigured(
            f"ORDER_MONITOR_ORDER_MODEL refers to {label!r}, which is not installed."
        ) from err
