"""System checks for every ORDER_MONITOR_* setting.

An Error stops ``migrate``, ``run_huey`` and ``runserver`` with a one-line
message and a hint that names the fix. Ids are stable: ``order_monitor.E001``...

Contract: whatever value a setting holds, every check here returns messages and
never raises (``tests/test_checks_properties.py`` generates the values).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from django.conf import settings as django_settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.utils.module_loading import import_string

from .conf import (
    DEFAULT_FIELDS,
    DEFAULTS,
    PREFIX,
    REQUIRED_ROLES,
    app_settings,
    get_order_model,
)

#: The keys of a RATE_LIMIT dict (see django_order_monitor.providers.ratelimit.Limits).
RATE_LIMIT_KEYS = ("min_interval", "max_concurrent", "max_wait")

#: The shop callables named by a dotted path; None switches each off.
CALLABLE_SETTINGS = ("PROVIDER_RESOLVER", "TERMINAL_CALLBACK", "TRANSITION_HANDLER", "LATE_COMPLETION_HANDLER")


def _error(n: int, msg: str, hint: str, obj=None) -> Error:
    return Error(msg, hint=hint, obj=obj, id=f"order_monitor.E{n:03d}")


def _short(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to one short line: a setting can hold anything, even a huge nested list."""
    try:
        text = repr(value)
    except Exception:  # a user's object whose __repr__ fails must not crash the checks
        text = f"<{type(value).__name__}>"
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _import(path: Any) -> tuple[Any, str]:
    """(the object at dotted ``path``, "") or (None, why not) -- never raises."""
    if not isinstance(path, str):
        return None, f"is {_short(path)}, not a dotted path"
    try:
        return import_string(path), ""
    # Any failure to import the user's path (a missing module, ".x", a module that
    # raises on import) is a configuration error to report, not a crash of the checks.
    except Exception as err:
        return None, f"cannot be imported ({type(err).__name__})"


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None for bools, non-numbers, nan, inf and huge ints."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except (OverflowError, TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _whole(value: Any) -> bool:
    number = _number(value)
    return number is not None and number.is_integer()


# -- the order model and the role mapping -------------------------------------------------------


@register(Tags.models)
def check_order_model(app_configs=None, **kwargs) -> list:
    try:
        model = get_order_model()
    except ImproperlyConfigured as err:
        return [_error(1, str(err), "Set ORDER_MONITOR_ORDER_MODEL = 'app_label.Model' to the shop's order model.")]
    fields = app_settings.FIELDS
    if not isinstance(fields, dict):
        return [_error(2, "ORDER_MONITOR_FIELDS must be a dict of role -> attribute.", _roles_hint())]
    errors = []
    for role, attname in fields.items():
        if role not in DEFAULT_FIELDS:
            errors.append(_error(2, f"ORDER_MONITOR_FIELDS has an unknown role {_short(role)}.", _roles_hint()))
        elif attname is not None and not (isinstance(attname, str) and attname):
            errors.append(
                _error(
                    2,
                    f"ORDER_MONITOR_FIELDS maps {role!r} to {_short(attname)}; a role maps to an attribute name or None.",
                    f"Example: ORDER_MONITOR_FIELDS = {{{role!r}: {DEFAULT_FIELDS[role] or 'attribute'!r}}}.",
                )
            )
        elif attname is not None and not _has_field(model, attname):
            errors.append(
                _error(
                    4,
                    f"ORDER_MONITOR_FIELDS maps {role!r} to {attname!r}, which {model.__name__} lacks.",
                    f"Name an attribute of {model._meta.label} or set {role!r}: None.",
                )
            )
    if errors:
        return errors
    merged = app_settings.fields
    for role in REQUIRED_ROLES:
        attname = merged.get(role)
        if not attname or not _has_field(model, attname):
            errors.append(
                _error(
                    3,
                    f"{model._meta.label} has no field for the required role {role!r}.",
                    f"Add the field, or map it: ORDER_MONITOR_FIELDS = {{{role!r}: 'attribute'}}.",
                )
            )
    errors.extend(_check_pin_role(model, fields, merged))
    return errors


def _check_pin_role(model, fields: dict, merged: dict) -> list:
    """A PIN the shop's row cannot hold is lost: silence is allowed only when asked for."""
    if "pin" in fields and fields["pin"] is None:
        return [
            Warning(
                "ORDER_MONITOR_FIELDS maps 'pin' to None: completed orders will get no PIN written.",
                hint="Map 'pin' to the attribute that holds the delivered PIN, unless the shop reads PINs elsewhere.",
                id="order_monitor.W003",
            )
        ]
    attname = merged.get("pin")
    if "pin" not in fields and not (attname and _has_field(model, attname)):
        return [
            _error(
                12,
                f"{model._meta.label} has no field {attname!r} for the PIN: every delivered PIN would be dropped.",
                "Map it: ORDER_MONITOR_FIELDS = {'pin': 'attribute'}; or 'pin': None to write no PIN on purpose.",
            )
        ]
    return []  # an explicit mapping to a missing attribute is order_monitor.E004


def _has_field(model, attname: str) -> bool:
    try:
        model._meta.get_field(attname)
    except FieldDoesNotExist:
        return False
    return True


def _roles_hint() -> str:
    return "Known roles: " + ", ".join(DEFAULT_FIELDS) + "."


# -- status words ---------------------------------------------------------------------------


def _is_word_list(value) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(w, str) and w.strip() for w in value)


@register()
def check_statuses(app_configs=None, **kwargs) -> list:
    errors = []
    for name in ("DISPATCHED_STATUSES", "SUCCESS_STATUSES", "FAILURE_STATUSES"):
        value = getattr(app_settings, name)
        if not _is_word_list(value) or not value:
            errors.append(_error(5, f"{PREFIX}{name} must be a non-empty list of words.", f"Example: {DEFAULTS[name]!r}."))
    if errors:
        return errors
    success = {w.lower() for w in app_settings.SUCCESS_STATUSES}
    failure = {w.lower() for w in app_settings.FAILURE_STATUSES}
    dispatched = {w.lower() for w in app_settings.DISPATCHED_STATUSES}
    clash = sorted((success & failure) | (dispatched & (success | failure)))
    if clash:
        errors.append(
            _error(5, f"Status words {clash} are in more than one status list.", "Each word may mean one thing only.")
        )
    values_ok = True
    for name, keys in (("EXTERNAL_STATUS_VALUES", {"completed", "failed", "processing"}), ("INTERNAL_STATUS_VALUES", {"completed", "failed"})):
        value = getattr(app_settings, name)
        if not isinstance(value, dict) or set(value) - keys:
            values_ok = False
            errors.append(_error(6, f"{PREFIX}{name} must be a dict with keys {sorted(keys)}.", f"Default: {DEFAULTS[name]!r}."))
        elif not all(v is None or isinstance(v, str) for v in value.values()):
            values_ok = False
            errors.append(
                _error(6, f"{PREFIX}{name} must map each key to a status word or None, not {_short(value)}.", f"Default: {DEFAULTS[name]!r}.")
            )
    processing = app_settings.EXTERNAL_STATUS_VALUES.get("processing") if values_ok else None
    if processing and processing.lower() not in dispatched:
        errors.append(
            _error(
                6,
                f"The processing value {processing!r} is not in ORDER_MONITOR_DISPATCHED_STATUSES.",
                "Add it there, or the sweep would stop seeing orders the monitor wrote.",
            )
        )
    return errors


# -- numbers ---------------------------------------------------------------------------------

_NUMBERS: list[tuple[str, Callable[[float], bool], str, int]] = [
    ("FIRST_CHECK_DELAY", lambda v: v >= 0, "a number of seconds >= 0", 7),
    ("BACKOFF_BASE", lambda v: v > 0, "a number of seconds > 0", 7),
    ("BACKOFF_FACTOR", lambda v: v >= 1, "a multiplier >= 1", 7),
    ("BACKOFF_MAX", lambda v: v > 0, "a number of seconds > 0", 7),
    ("BACKOFF_JITTER", lambda v: 0 <= v < 1, "a fraction from 0 to below 1", 7),
    ("QUICK_ATTEMPTS", lambda v: v >= 0 and v.is_integer(), "a whole number >= 0", 7),
    ("DEADLINE", lambda v: v > 0, "a number of seconds > 0", 7),
    ("FINAL_CHECK_GRACE", lambda v: v >= 0, "a number of seconds >= 0", 7),
    ("SWEEP_INTERVAL", lambda v: v >= 60 and v % 60 == 0, "a whole number of minutes in seconds (60, 300, ...)", 7),
    ("SWEEP_BATCH_SIZE", lambda v: v >= 1 and v.is_integer(), "a whole number >= 1", 7),
    ("SWEEP_SPACING", lambda v: v >= 0, "a number of seconds >= 0", 7),
    ("LEASE_SECONDS", lambda v: v >= 30, "a number of seconds >= 30 (longer than a provider call)", 7),
    ("LOST_TASK_GRACE", lambda v: v > 0, "a number of seconds > 0", 7),
    ("BREAKER_THRESHOLD", lambda v: v >= 1 and v.is_integer(), "a whole number of failures >= 1", 13),
    ("BREAKER_COOLDOWN", lambda v: v > 0, "a number of seconds > 0", 13),
    ("CALLBACK_TOLERANCE", lambda v: v > 0, "a number of seconds > 0", 15),
]


def _valid_number(name: str) -> float | None:
    """The setting as a float when it passes its rule in _NUMBERS, else None."""
    valid = next(rule for key, rule, _expected, _n in _NUMBERS if key == name)
    number = _number(getattr(app_settings, name))
    return number if number is not None and valid(number) else None


@register()
def check_policy(app_configs=None, **kwargs) -> list:
    errors = []
    for name, valid, expected, n in _NUMBERS:
        value = getattr(app_settings, name)
        number = _number(value)
        if number is None or not valid(number):
            errors.append(
                _error(n, f"{PREFIX}{name} is {_short(value)}; it must be {expected}.", f"Default: {PREFIX}{name} = {DEFAULTS[name]!r}.")
            )
    action = app_settings.TIMEOUT_ACTION
    if not (isinstance(action, str) and action in ("failed", "stop")):
        errors.append(_error(7, f"{PREFIX}TIMEOUT_ACTION is {_short(action)}.", "Use 'failed' (refund path) or 'stop' (leave for a human)."))
    first, deadline = _valid_number("FIRST_CHECK_DELAY"), _valid_number("DEADLINE")
    if first is not None and deadline is not None and deadline <= first:
        errors.append(
            _error(
                16,
                f"{PREFIX}DEADLINE ({deadline:g} s) is not longer than {PREFIX}FIRST_CHECK_DELAY ({first:g} s): "
                "every order would time out at its first check.",
                f"Make DEADLINE much longer than FIRST_CHECK_DELAY (defaults: {DEFAULTS['DEADLINE']} and {DEFAULTS['FIRST_CHECK_DELAY']}).",
            )
        )
    return errors


@register()
def check_time_zone_support(app_configs=None, **kwargs) -> list:
    if django_settings.USE_TZ:
        return []
    return [
        _error(
            17,
            "USE_TZ is not True: the monitor stores and compares aware datetimes, so following an order would fail.",
            "Set USE_TZ = True in the project's settings (Django's default since 5.0).",
        )
    ]


# -- providers --------------------------------------------------------------------------------


def _rate_limit_problem(value: Any) -> str | None:
    """What is wrong with a RATE_LIMIT value (None disables the limit), or None."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return f"is {_short(value)}; it must be None or a dict with keys from {list(RATE_LIMIT_KEYS)}"
    unknown = [key for key in value if key not in RATE_LIMIT_KEYS]
    if unknown:
        return f"has unknown keys {_short(unknown)}; known keys are {list(RATE_LIMIT_KEYS)}"
    for key, valid, expected in (
        ("min_interval", lambda v: v >= 0, "a number of seconds >= 0"),
        ("max_concurrent", lambda v: v >= 1 and v.is_integer(), "a whole number >= 1 (leave it out for no limit)"),
        ("max_wait", lambda v: v >= 0, "a number of seconds >= 0"),
    ):
        if key in value:
            number = _number(value[key])
            if number is None or not valid(number):
                return f"has {key} = {_short(value[key])}; it must be {expected}"
    return None


_RATE_LIMIT_HINT = f"Example: {DEFAULTS['RATE_LIMIT']!r}, or None for no limit."


@register()
def check_providers(app_configs=None, **kwargs) -> list:
    from .providers.adapters.base import BaseProvider

    providers = app_settings.PROVIDERS
    hint = "Example: {'znet': {'ADAPTER': 'django_order_monitor.providers.adapters.znet.ZnetProvider', 'OPTIONS': {...}}}."
    if not isinstance(providers, dict):
        return [_error(8, "ORDER_MONITOR_PROVIDERS must be a dict of name -> config.", hint)]
    errors = []
    problem = _rate_limit_problem(app_settings.RATE_LIMIT)
    if problem:
        errors.append(_error(14, f"{PREFIX}RATE_LIMIT {problem}.", _RATE_LIMIT_HINT))
    redis_url = app_settings.REDIS_URL
    if redis_url is not None and not (isinstance(redis_url, str) and redis_url.strip()):
        errors.append(
            _error(14, f"{PREFIX}REDIS_URL is {_short(redis_url)}; it must be a Redis URL or None.", "Example: 'redis://127.0.0.1:6379/0'; None uses Huey's Redis.")
        )
    lease = _valid_number("LEASE_SECONDS")
    for name, config in providers.items():
        if not isinstance(name, str) or not name:
            errors.append(_error(8, f"Provider name {_short(name)} must be a non-empty string.", hint))
            continue
        if not isinstance(config, dict) or "ADAPTER" not in config:
            errors.append(_error(8, f"Provider {name!r} needs an 'ADAPTER' dotted path.", hint))
            continue
        adapter, why = _import(config["ADAPTER"])
        if adapter is None:
            errors.append(_error(8, f"Provider {name!r}: ADAPTER {_short(config['ADAPTER'])} {why}.", "Check the dotted path and that the module is installed."))
            continue
        if not (isinstance(adapter, type) and issubclass(adapter, BaseProvider)):
            errors.append(_error(8, f"Provider {name!r}: {config['ADAPTER']!r} is not a BaseProvider subclass.", "Subclass django_order_monitor.providers.adapters.base.BaseProvider."))
            continue
        options = config.get("OPTIONS", {})
        if not isinstance(options, dict):
            errors.append(_error(8, f"Provider {name!r}: OPTIONS must be a dict.", hint))
            continue
        try:
            problems = list(adapter.check_options(options))
        # A third-party adapter that chokes on an option value still gets a check result, not a traceback.
        except Exception as err:
            problems = [f"{adapter.__name__}.check_options raised {type(err).__name__} on these OPTIONS"]
        for problem in problems:
            errors.append(_error(9, f"Provider {name!r}: {problem}.", f"Fix ORDER_MONITOR_PROVIDERS[{name!r}]['OPTIONS']."))
        if "RATE_LIMIT" in config:
            problem = _rate_limit_problem(config["RATE_LIMIT"])
            if problem:
                errors.append(_error(14, f"Provider {name!r}: RATE_LIMIT {problem}.", _RATE_LIMIT_HINT))
        if "CALLBACK_SECRET" in config:
            secret = config["CALLBACK_SECRET"]
            if not (isinstance(secret, str) and secret.strip()):
                # Never echo the value: it may be a real secret of the wrong type.
                errors.append(
                    _error(
                        15,
                        f"Provider {name!r}: CALLBACK_SECRET must be a non-empty string, not {type(secret).__name__}"
                        f"{' (empty)' if isinstance(secret, str) else ''}.",
                        "Give the shared secret as a string, or remove the key to refuse this provider's pushes.",
                    )
                )
        errors.extend(_check_lease_outlives_call(name, adapter, options, lease))
    default = app_settings.DEFAULT_PROVIDER
    known = sorted(name for name in providers if isinstance(name, str))
    if default is not None and not (isinstance(default, str) and default in providers):
        errors.append(_error(10, f"ORDER_MONITOR_DEFAULT_PROVIDER {_short(default)} is not in ORDER_MONITOR_PROVIDERS.", f"Use one of {known} or add it."))
    if not providers:
        errors.append(_error(10, "ORDER_MONITOR_PROVIDERS is empty: no order can be checked.", hint))
    return errors


def _check_lease_outlives_call(name: str, adapter: type, options: dict, lease: float | None) -> list:
    """A lease shorter than one provider call lets a second worker check the same order."""
    call_deadline = getattr(adapter, "call_deadline", None)
    if lease is None or not callable(call_deadline):
        return []
    try:
        seconds = _number(call_deadline(options))
    # Options the adapter cannot read are order_monitor.E009's business; no deadline to compare.
    except Exception:
        return []
    if seconds is None or lease > seconds:
        return []
    return [
        _error(
            18,
            f"{PREFIX}LEASE_SECONDS ({lease:g} s) does not exceed provider {name!r}'s call deadline ({seconds:g} s): "
            "a slow reply would outlive the lease and a second worker could check the same order.",
            f"Raise {PREFIX}LEASE_SECONDS above {seconds:g}, or lower the timeouts in ORDER_MONITOR_PROVIDERS[{name!r}]['OPTIONS'].",
        )
    ]


# -- dotted paths -----------------------------------------------------------------------------


@register()
def check_callables(app_configs=None, **kwargs) -> list:
    from .engine.adaptive import DEFAULT_OPTIONS
    from .engine.policy import Policy

    errors = []
    for name in CALLABLE_SETTINGS:
        path = getattr(app_settings, name)
        if path is None:
            continue
        target, _why = _import(path)
        if not callable(target):
            errors.append(_error(11, f"{PREFIX}{name} {_short(path)} is not an importable callable.", "Give a dotted path such as 'shop.monitoring.on_terminal'."))
    policy_path = app_settings.POLICY
    policy_class, _why = _import(policy_path)
    adaptive = app_settings.ADAPTIVE
    if not isinstance(adaptive, dict) or set(adaptive) - set(DEFAULT_OPTIONS):
        errors.append(
            _error(11, f"{PREFIX}ADAPTIVE must be a dict with keys from {sorted(DEFAULT_OPTIONS)}.", "See django_order_monitor.engine.adaptive.")
        )
    else:
        bad = sorted(key for key, value in adaptive.items() if not _adaptive_option_ok(key, value))
        if bad:
            errors.append(
                _error(
                    11,
                    f"{PREFIX}ADAPTIVE has invalid values for {bad}: each is a number > 0 (QUANTILE below 1).",
                    f"Defaults: { {key: DEFAULT_OPTIONS[key] for key in bad} }.",
                )
            )
    if not (isinstance(policy_class, type) and issubclass(policy_class, Policy)):
        errors.append(
            _error(11, f"{PREFIX}POLICY {_short(policy_path)} is not an importable Policy subclass.", "Default: 'django_order_monitor.engine.policy.Policy'.")
        )
    return errors


def _adaptive_option_ok(key: str, value: Any) -> bool:
    number = _number(value)
    if number is None or number <= 0:
        return False
    return number < 1 if key == "QUANTILE" else True


# -- Huey and spelling ------------------------------------------------------------------------


@register()
def check_huey(app_configs=None, **kwargs) -> list:
    warnings = []
    huey = getattr(django_settings, "HUEY", None)
    immediate = huey.get("immediate", django_settings.DEBUG) if isinstance(huey, dict) else getattr(huey, "immediate", False)
    if immediate:
        warnings.append(
            Warning(
                "Huey runs in immediate mode: delayed status checks never run.",
                hint="Set HUEY['immediate'] = False (it defaults to DEBUG) and run manage.py run_huey.",
                id="order_monitor.W001",
            )
        )
    unknown = sorted(
        name for name in dir(django_settings) if name.startswith(PREFIX) and name[len(PREFIX):] not in DEFAULTS
    )
    warnings.extend(
        Warning(f"Unknown setting {name}; it is ignored.", hint="Check the spelling against the README's settings table.", id="order_monitor.W002")
        for name in unknown
    )
    return warnings
