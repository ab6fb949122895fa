"""System checks for every ORDER_MONITOR_* setting.

An Error stops ``migrate``, ``run_huey`` and ``runserver`` with a one-line
message and a hint that names the fix. Ids are stable: ``order_monitor.E001``...
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

from django.conf import settings as django_settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.utils.module_loading import import_string

from .conf import DEFAULT_FIELDS, DEFAULTS, PREFIX, REQUIRED_ROLES, app_settings, get_order_model


def _error(n: int, msg: str, hint: str, obj=None) -> Error:
    return Error(msg, hint=hint, obj=obj, id=f"order_monitor.E{n:03d}")


@register(Tags.models)
def check_order_model(app_configs=None, **kwargs) -> list:
    try:
        model = get_order_model()
    except ImproperlyConfigured as err:
        return [_error(1, str(err), "Set ORDER_MONITOR_ORDER_MODEL = 'app_label.Model' to the shop's order model.")]
    fields = app_settings.FIELDS
    if not isinstance(fields, dict):
        return [_error(2, "ORDER_MONITOR_FIELDS must be a dict of role -> attribute.", _roles_hint())]
    errors = [
        _error(2, f"ORDER_MONITOR_FIELDS has an unknown role {role!r}.", _roles_hint())
        for role in fields
        if role not in DEFAULT_FIELDS
    ]
    for role, attname in fields.items():
        if role in DEFAULT_FIELDS and attname is not None and not _has_field(model, attname):
            errors.append(
                _error(
                    4,
                    f"ORDER_MONITOR_FIELDS maps {role!r} to {attname!r}, which {model.__name__} lacks.",
                    f"Name an attribute of {model._meta.label} or set {role!r}: None.",
                )
            )
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
    return errors


def _has_field(model, attname: str) -> bool:
    try:
        model._meta.get_field(attname)
    except FieldDoesNotExist:
        return False
    return True


def _roles_hint() -> str:
    return "Known roles: " + ", ".join(DEFAULT_FIELDS) + "."


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
    for name, keys in (("EXTERNAL_STATUS_VALUES", {"completed", "failed", "processing"}), ("INTERNAL_STATUS_VALUES", {"completed", "failed"})):
        value = getattr(app_settings, name)
        if not isinstance(value, dict) or set(value) - keys:
            errors.append(_error(6, f"{PREFIX}{name} must be a dict with keys {sorted(keys)}.", f"Default: {DEFAULTS[name]!r}."))
    processing = (app_settings.EXTERNAL_STATUS_VALUES or {}).get("processing") if not errors else None
    if processing and processing.lower() not in dispatched:
        errors.append(
            _error(
                6,
                f"The processing value {processing!r} is not in ORDER_MONITOR_DISPATCHED_STATUSES.",
                "Add it there, or the sweep would stop seeing orders the monitor wrote.",
            )
        )
    return errors


_NUMBERS: list[tuple[str, Callable[[float], bool], str]] = [
    ("FIRST_CHECK_DELAY", lambda v: v >= 0, "a number of seconds >= 0"),
    ("BACKOFF_BASE", lambda v: v > 0, "a number of seconds > 0"),
    ("BACKOFF_FACTOR", lambda v: v >= 1, "a multiplier >= 1"),
    ("BACKOFF_MAX", lambda v: v > 0, "a number of seconds > 0"),
    ("BACKOFF_JITTER", lambda v: 0 <= v < 1, "a fraction from 0 to below 1"),
    ("QUICK_ATTEMPTS", lambda v: v >= 0 and float(v).is_integer(), "a whole number >= 0"),
    ("DEADLINE", lambda v: v > 0, "a number of seconds > 0"),
    ("FINAL_CHECK_GRACE", lambda v: v >= 0, "a number of seconds >= 0"),
    ("SWEEP_INTERVAL", lambda v: v >= 60 and v % 60 == 0, "a whole number of minutes in seconds (60, 300, ...)"),
    ("SWEEP_BATCH_SIZE", lambda v: v >= 1 and float(v).is_integer(), "a whole number >= 1"),
    ("SWEEP_SPACING", lambda v: v >= 0, "a number of seconds >= 0"),
    ("LEASE_SECONDS", lambda v: v >= 30, "a number of seconds >= 30 (longer than a provider call)"),
    ("LOST_TASK_GRACE", lambda v: v > 0, "a number of seconds > 0"),
]


@register()
def check_policy(app_configs=None, **kwargs) -> list:
    errors = []
    for name, valid, expected in _NUMBERS:
        value = getattr(app_settings, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not valid(value):
            errors.append(
                _error(7, f"{PREFIX}{name} is {value!r}; it must be {expected}.", f"Default: {PREFIX}{name} = {DEFAULTS[name]!r}.")
            )
    if app_settings.TIMEOUT_ACTION not in ("failed", "stop"):
        errors.append(
            _error(7, f"{PREFIX}TIMEOUT_ACTION is {app_settings.TIMEOUT_ACTION!r}.", "Use 'failed' (refund path) or 'stop' (leave for a human).")
        )
    return errors


@register()
def check_providers(app_configs=None, **kwargs) -> list:
    from .adapters.base import BaseProvider

    providers = app_settings.PROVIDERS
    hint = "Example: {'znet': {'ADAPTER': 'django_order_monitor.adapters.znet.ZnetProvider', 'OPTIONS': {...}}}."
    if not isinstance(providers, dict):
        return [_error(8, "ORDER_MONITOR_PROVIDERS must be a dict of name -> config.", hint)]
    errors = []
    for name, config in providers.items():
        if not isinstance(config, dict) or "ADAPTER" not in config:
            errors.append(_error(8, f"Provider {name!r} needs an 'ADAPTER' dotted path.", hint))
            continue
        try:
            adapter = import_string(config["ADAPTER"])
        except ImportError:
            errors.append(_error(8, f"Provider {name!r}: cannot import {config['ADAPTER']!r}.", "Check the dotted path and that the module is installed."))
            continue
        if not (isinstance(adapter, type) and issubclass(adapter, BaseProvider)):
            errors.append(_error(8, f"Provider {name!r}: {config['ADAPTER']!r} is not a BaseProvider subclass.", "Subclass django_order_monitor.adapters.base.BaseProvider."))
            continue
        options = config.get("OPTIONS", {})
        if not isinstance(options, dict):
            errors.append(_error(8, f"Provider {name!r}: OPTIONS must be a dict.", hint))
            continue
        for problem in adapter.check_options(options):
            errors.append(_error(9, f"Provider {name!r}: {problem}.", f"Fix ORDER_MONITOR_PROVIDERS[{name!r}]['OPTIONS']."))
    default = app_settings.DEFAULT_PROVIDER
    if default is not None and default not in providers:
        errors.append(_error(10, f"ORDER_MONITOR_DEFAULT_PROVIDER {default!r} is not in ORDER_MONITOR_PROVIDERS.", f"Use one of {sorted(providers)} or add it."))
    if not providers:
        errors.append(_error(10, "ORDER_MONITOR_PROVIDERS is empty: no order can be checked.", hint))
    return errors


@register()
def check_callables(app_configs=None, **kwargs) -> list:
    errors = []
    for name in ("PROVIDER_RESOLVER", "TERMINAL_CALLBACK"):
        path = getattr(app_settings, name)
        if path is None:
            continue
        try:
            target = import_string(path) if isinstance(path, str) else None
        except ImportError:
            target = None
        if not callable(target):
            errors.append(_error(11, f"{PREFIX}{name} {path!r} is not an importable callable.", "Give a dotted path such as 'shop.monitoring.on_terminal'."))
    policy_path = app_settings.POLICY
    try:
        policy_class = import_string(policy_path)
    except ImportError:
        policy_class = None
    from .policy import Policy

    adaptive = app_settings.ADAPTIVE
    from .adaptive import DEFAULT_OPTIONS

    if not isinstance(adaptive, dict) or set(adaptive) - set(DEFAULT_OPTIONS):
        errors.append(
            _error(11, f"{PREFIX}ADAPTIVE must be a dict with keys from {sorted(DEFAULT_OPTIONS)}.", "See django_order_monitor.adaptive.")
        )
    if not (isinstance(policy_class, type) and issubclass(policy_class, Policy)):
        errors.append(
            _error(11, f"{PREFIX}POLICY {policy_path!r} is not an importable Policy subclass.", "Default: 'django_order_monitor.policy.Policy'.")
        )
    return errors


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
