"""System checks for every ORDER_MONITOR_* setting.

An Error stops ``migrate``, ``run_huey`` and ``runserver`` with a one-line
message and a hint that names the fix. ``Problems`` is the table of everything
the checks report: each problem's stable id (``order_monitor.E001``...) with its
message and hint templates; docs/reliability.rst shows it (generated). Settings
with a ``Rule`` in ``conf.SETTINGS`` are validated by ``check_settings``; the
functions below it check what a rule cannot (structures, one setting against
another, the order model).

Contract: whatever value a setting holds, every check here returns messages and
never raises (``tests/test_checks_properties.py`` generates the values).

Longer than 300 lines on purpose: the table and the checks that use it are read together.
"""

from __future__ import annotations

import importlib.util
import pkgutil
from dataclasses import dataclass
from typing import Any

from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import connections, router
from django.utils.module_loading import import_string

from .conf import DEFAULT_FIELDS, PREFIX, REQUIRED_ROLES, SETTINGS, app_settings, finite_number, get_order_model
from .models import ledger_database

#: The keys of a RATE_LIMIT dict (see django_order_monitor.providers.ratelimit.Limits).
RATE_LIMIT_KEYS = ("min_interval", "max_concurrent", "max_wait")


@dataclass(frozen=True)
class Problem:
    """One problem the checks report: its id, and its message and hint as ``str.format`` templates.

    Every placeholder receives text already shown as it should read (values as ``repr``).
    """

    id: str
    msg: str
    hint: str
    level: type[Error] | type[Warning] = Error

    def __call__(self, **values: Any) -> CheckMessage:
        return self.level(self.msg.format(**values), hint=self.hint.format(**values), id=self.id)


#: The message of every setting whose value breaks its rule (conf.Rule), whatever its id.
WRONG_VALUE = "{setting} is {value}; it must be {expected}."
WRONG_VALUE_HINT = "Default: {setting} = {default}."

#: An order model whose app has no migration: a warning for ``check`` and
#: ``makemigrations`` (which must still run), an error for ``migrate``.
NO_ORDER_MIGRATIONS = (
    "The app {app} of the order model {model} has no migrations: "
    "order_monitor's migrations depend on them, so migrate would stop."
)
NO_ORDER_MIGRATIONS_HINT = "Run 'python manage.py makemigrations {app}' first, then migrate."


class Problems:
    """Everything the checks report, by id. Ids are stable: a problem keeps its id across releases."""

    ORDER_MODEL = Problem(
        "order_monitor.E001", "{reason}", "Set ORDER_MONITOR_ORDER_MODEL = 'app_label.Model' to the shop's order model."
    )
    FIELDS_NOT_A_DICT = Problem("order_monitor.E002", "ORDER_MONITOR_FIELDS must be a dict of role -> attribute.", "Known roles: {roles}.")
    FIELDS_UNKNOWN_ROLE = Problem("order_monitor.E002", "ORDER_MONITOR_FIELDS has an unknown role {role}.", "Known roles: {roles}.")
    FIELDS_NOT_AN_ATTRIBUTE = Problem(
        "order_monitor.E002",
        "ORDER_MONITOR_FIELDS maps {role} to {value}; a role maps to an attribute name or None.",
        "Example: ORDER_MONITOR_FIELDS = {{{role}: {example}}}.",
    )
    REQUIRED_ROLE_MISSING = Problem(
        "order_monitor.E003",
        "{model} has no field for the required role {role}.",
        "Add the field, or map it: ORDER_MONITOR_FIELDS = {{{role}: 'attribute'}}.",
    )
    FIELD_MISSING = Problem(
        "order_monitor.E004",
        "ORDER_MONITOR_FIELDS maps {role} to {value}, which {model_name} lacks.",
        "Name an attribute of {model} or set {role}: None.",
    )
    STATUS_WORDS = Problem("order_monitor.E005", WRONG_VALUE, WRONG_VALUE_HINT)
    STATUS_WORD_CLASH = Problem(
        "order_monitor.E005", "Status words {words} are in more than one status list.", "Each word may mean one thing only."
    )
    STATUS_VALUES = Problem("order_monitor.E006", WRONG_VALUE, WRONG_VALUE_HINT)
    PROCESSING_NOT_DISPATCHED = Problem(
        "order_monitor.E006",
        "The processing value {value} is not in ORDER_MONITOR_DISPATCHED_STATUSES.",
        "Add it there, or the sweep would stop seeing orders the monitor wrote.",
    )
    POLICY_VALUE = Problem("order_monitor.E007", WRONG_VALUE, WRONG_VALUE_HINT)
    PROVIDERS_NOT_A_DICT = Problem("order_monitor.E008", "ORDER_MONITOR_PROVIDERS must be a dict of name -> config.", "{example}")
    PROVIDER_NAME = Problem("order_monitor.E008", "Provider name {name} must be a non-empty string.", "{example}")
    PROVIDER_WITHOUT_ADAPTER = Problem("order_monitor.E008", "Provider {name} needs an 'ADAPTER' dotted path.", "{example}")
    ADAPTER_NOT_IMPORTABLE = Problem(
        "order_monitor.E008", "Provider {name}: ADAPTER {path} {why}.", "Check the dotted path and that the module is installed."
    )
    ADAPTER_NOT_A_PROVIDER = Problem(
        "order_monitor.E008",
        "Provider {name}: {path} is not a BaseProvider subclass.",
        "Subclass django_order_monitor.providers.adapters.base.BaseProvider.",
    )
    OPTIONS_NOT_A_DICT = Problem("order_monitor.E008", "Provider {name}: OPTIONS must be a dict.", "{example}")
    PROVIDER_OPTION = Problem(
        "order_monitor.E009", "Provider {name}: {problem}.", "Fix ORDER_MONITOR_PROVIDERS[{name}]['OPTIONS']."
    )
    DEFAULT_PROVIDER_UNKNOWN = Problem(
        "order_monitor.E010", "ORDER_MONITOR_DEFAULT_PROVIDER {value} is not in ORDER_MONITOR_PROVIDERS.", "Use one of {known} or add it."
    )
    NO_PROVIDERS = Problem("order_monitor.E010", "ORDER_MONITOR_PROVIDERS is empty: no order can be checked.", "{example}")
    DOTTED_PATH = Problem("order_monitor.E011", WRONG_VALUE, WRONG_VALUE_HINT)
    ADAPTIVE_KEYS = Problem(
        "order_monitor.E011", "ORDER_MONITOR_ADAPTIVE must be a dict with keys from {keys}.", "See django_order_monitor.engine.adaptive."
    )
    ADAPTIVE_VALUES = Problem(
        "order_monitor.E011",
        "ORDER_MONITOR_ADAPTIVE has invalid values for {keys}: each is a number > 0 (QUANTILE below 1).",
        "Defaults: {defaults}.",
    )
    PIN_COLUMN_MISSING = Problem(
        "order_monitor.E012",
        "{model} has no field {value} for the PIN: every delivered PIN would be dropped.",
        "Map it: ORDER_MONITOR_FIELDS = {{'pin': 'attribute'}}; or 'pin': None to write no PIN on purpose.",
    )
    BREAKER_VALUE = Problem("order_monitor.E013", WRONG_VALUE, WRONG_VALUE_HINT)
    RATE_LIMIT = Problem("order_monitor.E014", "ORDER_MONITOR_RATE_LIMIT {problem}.", "Example: {example}, or None for no limit.")
    PROVIDER_RATE_LIMIT = Problem("order_monitor.E014", "Provider {name}: RATE_LIMIT {problem}.", "Example: {example}, or None for no limit.")
    REDIS_URL = Problem("order_monitor.E014", WRONG_VALUE, WRONG_VALUE_HINT)
    CALLBACK_TOLERANCE = Problem("order_monitor.E015", WRONG_VALUE, WRONG_VALUE_HINT)
    CALLBACK_SECRET = Problem(
        "order_monitor.E015",
        "Provider {name}: CALLBACK_SECRET must be a non-empty string, not {type}.",
        "Give the shared secret as a string, or remove the key to refuse this provider's pushes.",
    )
    DEADLINE_NOT_AFTER_FIRST_CHECK = Problem(
        "order_monitor.E016",
        "ORDER_MONITOR_DEADLINE ({deadline} s) is not longer than ORDER_MONITOR_FIRST_CHECK_DELAY ({first} s): "
        "every order would time out at its first check.",
        "Make DEADLINE much longer than FIRST_CHECK_DELAY (defaults: {default_deadline} and {default_first}).",
    )
    NO_TIME_ZONES = Problem(
        "order_monitor.E017",
        "USE_TZ is not True: the monitor stores and compares aware datetimes, so following an order would fail.",
        "Set USE_TZ = True in the project's settings (Django's default since 5.0).",
    )
    LEASE_SHORTER_THAN_CALL = Problem(
        "order_monitor.E018",
        "ORDER_MONITOR_LEASE_SECONDS ({lease} s) does not exceed provider {name}'s call deadline ({seconds} s): "
        "a slow reply would outlive the lease and a second worker could check the same order.",
        "Raise ORDER_MONITOR_LEASE_SECONDS above {seconds}, or lower the timeouts in ORDER_MONITOR_PROVIDERS[{name}]['OPTIONS'].",
    )
    FLAG_VALUE = Problem("order_monitor.E019", WRONG_VALUE, WRONG_VALUE_HINT)
    RETENTION_VALUE = Problem("order_monitor.E021", WRONG_VALUE, WRONG_VALUE_HINT)
    RETENTION_NOT_AFTER_DEADLINE = Problem(
        "order_monitor.E021",
        "ORDER_MONITOR_RETENTION ({retention} s) is not longer than ORDER_MONITOR_DEADLINE ({deadline} s): "
        "a pruned order could still be in the sweep's window and be followed again.",
        "Keep RETENTION above DEADLINE (e.g. 30 days: 2592000).",
    )
    METRICS = Problem(
        "order_monitor.E020", "ORDER_MONITOR_METRICS {problem}.", "Example: {example}, or None for no metrics."
    )
    METRICS_LIBRARY_MISSING = Problem(
        "order_monitor.E020",
        "ORDER_MONITOR_METRICS is set but prometheus-client is not installed.",
        "pip install 'django-order-monitor[metrics]', or set ORDER_MONITOR_METRICS = None.",
    )
    SPLIT_DATABASES = Problem(
        "order_monitor.E022",
        "The order model {model} is written to database {order_db} and the monitor's tables to {ledger_db}: "
        "the terminal write, the shop's callback and the ledger could not commit as one.",
        "Route the order_monitor app to {order_db} in DATABASE_ROUTERS (db_for_read, db_for_write, allow_migrate).",
    )
    SLOT_OUTLIVES_LEASE = Problem(
        "order_monitor.E023",
        "Provider {name}'s call slots live {slot} s (its call deadline {seconds} s + ORDER_MONITOR_CALL_SLOT_GRACE {grace} s), "
        "longer than ORDER_MONITOR_LEASE_SECONDS ({lease} s): a killed worker's slots would still block calls "
        "after its orders are free to be checked again.",
        "Raise ORDER_MONITOR_LEASE_SECONDS to {slot} or more, or lower ORDER_MONITOR_CALL_SLOT_GRACE.",
    )
    HEALTH_TOKEN = Problem(
        "order_monitor.E024",
        "ORDER_MONITOR_HEALTH_TOKEN must be None or a non-empty string, not {type}.",
        "Set it to a long random string for probes (sent as 'Authorization: Bearer ...'), or None for staff logins only.",
    )
    DATABASE_UNSUPPORTED = Problem(
        "order_monitor.E025",
        "The database {alias} is {database}, which the monitor does not support.",
        "Use one of: {supported} (the sweep needs SELECT ... FOR UPDATE SKIP LOCKED).",
    )
    HUEY_APP_MISSING = Problem(
        "order_monitor.E026",
        "'huey.contrib.djhuey' is not in INSTALLED_APPS: manage.py run_huey is an unknown command, so no order is checked.",
        "Add 'huey.contrib.djhuey' to INSTALLED_APPS (and a HUEY setting).",
    )
    ORDER_APP_WITHOUT_MIGRATIONS = Problem("order_monitor.E027", NO_ORDER_MIGRATIONS, NO_ORDER_MIGRATIONS_HINT)
    HUEY_IMMEDIATE = Problem(
        "order_monitor.W001",
        "Huey runs in immediate mode: delayed status checks never run.",
        "Set HUEY['immediate'] = False (it defaults to DEBUG) and run manage.py run_huey.",
        Warning,
    )
    HUEY_WITHOUT_PRIORITY = Problem(
        "order_monitor.W004",
        "Huey's storage ({storage}) has no task priorities: the periodic sweep waits behind every queued check.",
        "Use HUEY = {{'huey_class': 'huey.PriorityRedisHuey', ...}} (Redis 5 or later), or SqliteHuey.",
        Warning,
    )
    ORDER_APP_WITHOUT_MIGRATIONS_YET = Problem("order_monitor.W005", NO_ORDER_MIGRATIONS, NO_ORDER_MIGRATIONS_HINT, Warning)
    UNKNOWN_SETTING = Problem(
        "order_monitor.W002", "Unknown setting {name}; it is ignored.", "Check the spelling against the README's settings table.", Warning
    )
    PIN_UNMAPPED = Problem(
        "order_monitor.W003",
        "ORDER_MONITOR_FIELDS maps 'pin' to None: completed orders will get no PIN written.",
        "Map 'pin' to the attribute that holds the delivered PIN, unless the shop reads PINs elsewhere.",
        Warning,
    )

    @classmethod
    def all(cls) -> list[Problem]:
        """Every problem, in the order declared above."""
        return [value for value in vars(cls).values() if isinstance(value, Problem)]


#: For each check id a conf.Setting names, the problem reporting a value its rule refuses.
WRONG_VALUE_PROBLEMS: dict[str, Problem] = {
    problem.id: problem
    for problem in (
        Problems.STATUS_WORDS,
        Problems.STATUS_VALUES,
        Problems.POLICY_VALUE,
        Problems.DOTTED_PATH,
        Problems.BREAKER_VALUE,
        Problems.REDIS_URL,
        Problems.CALLBACK_TOLERANCE,
        Problems.FLAG_VALUE,
        Problems.RETENTION_VALUE,
    )
}


def _short(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to one short line: a setting can hold anything, even a huge nested list."""
    try:
        text = repr(value)
    except Exception:  # a user's object whose __repr__ fails must not crash the checks
        text = f"<{type(value).__name__}>"
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _wrong_value(problem: Problem, name: str, value: Any, expected: str) -> CheckMessage:
    return problem(setting=PREFIX + name, value=_short(value), expected=expected, default=repr(SETTINGS[name].default))


def _import(path: Any) -> tuple[Any, str]:
    """(the object at dotted ``path``, "") or (None, why not) -- never raises."""
    if not isinstance(path, str):
        return None, "is not a dotted path"
    try:
        return import_string(path), ""
    # Any failure to import the user's path (a missing module, ".x", a module that
    # raises on import) is a configuration error to report, not a crash of the checks.
    except Exception as err:
        return None, f"cannot be imported ({type(err).__name__})"


def _valid(name: str) -> Any:
    """The setting's value when its rule accepts it, else None (check_settings reports it)."""
    value = getattr(app_settings, name)
    rule = SETTINGS[name].rule
    assert rule is not None, f"{name} has no rule to validate it by"
    return value if rule.accepts(value) else None


def _valid_number(name: str) -> float | None:
    """A number setting as a float when its rule accepts it, else None."""
    return finite_number(_valid(name))


# -- every setting with a rule ----------------------------------------------------------------


@register()
def check_settings(app_configs=None, **kwargs) -> list:
    """Each setting declared with a ``Rule`` in conf.SETTINGS, against that rule."""
    errors = []
    for name, setting in SETTINGS.items():
        value = getattr(app_settings, name)
        if setting.rule is not None and not setting.rule.accepts(value):
            errors.append(_wrong_value(WRONG_VALUE_PROBLEMS[setting.check], name, value, setting.rule.expected))
    return errors


# -- the order model and the role mapping -------------------------------------------------------


@register(Tags.models)
def check_order_model(app_configs=None, **kwargs) -> list:
    try:
        model = get_order_model()
    except ImproperlyConfigured as err:
        return [Problems.ORDER_MODEL(reason=err)]
    fields = app_settings.FIELDS
    roles = ", ".join(DEFAULT_FIELDS)
    if not isinstance(fields, dict):
        return [Problems.FIELDS_NOT_A_DICT(roles=roles)]
    errors = []
    for role, attname in fields.items():
        if role not in DEFAULT_FIELDS:
            errors.append(Problems.FIELDS_UNKNOWN_ROLE(role=_short(role), roles=roles))
        elif attname is not None and not (isinstance(attname, str) and attname):
            example = repr(DEFAULT_FIELDS[role] or "attribute")
            errors.append(Problems.FIELDS_NOT_AN_ATTRIBUTE(role=repr(role), value=_short(attname), example=example))
        elif attname is not None and not _has_field(model, attname):
            errors.append(
                Problems.FIELD_MISSING(
                    role=repr(role), value=repr(attname), model_name=model.__name__, model=model._meta.label
                )
            )
    if errors:
        return errors
    merged = app_settings.fields
    for role in REQUIRED_ROLES:
        attname = merged.get(role)
        if not attname or not _has_field(model, attname):
            errors.append(Problems.REQUIRED_ROLE_MISSING(model=model._meta.label, role=repr(role)))
    errors.extend(_check_pin_role(model, fields, merged))
    errors.extend(_check_same_database(model))
    return errors


def _check_same_database(model) -> list:
    order_db = router.db_for_write(model)
    if order_db != ledger_database():
        return [Problems.SPLIT_DATABASES(model=model._meta.label, order_db=repr(order_db), ledger_db=repr(ledger_database()))]
    return []


def _check_pin_role(model, fields: dict, merged: dict) -> list:
    """A PIN the shop's row cannot hold is lost: silence is allowed only when asked for."""
    if "pin" in fields and fields["pin"] is None:
        return [Problems.PIN_UNMAPPED()]
    attname = merged.get("pin")
    if "pin" not in fields and not (attname and _has_field(model, attname)):
        return [Problems.PIN_COLUMN_MISSING(model=model._meta.label, value=repr(attname))]
    return []  # an explicit mapping to a missing attribute is order_monitor.E004


def _has_field(model, attname: str) -> bool:
    try:
        model._meta.get_field(attname)
    except FieldDoesNotExist:
        return False
    return True


# -- status words ---------------------------------------------------------------------------


@register()
def check_statuses(app_configs=None, **kwargs) -> list:
    """What the rules cannot see: a word in two lists, a processing value the sweep would miss."""
    errors: list[CheckMessage] = []
    lists = [_valid(name) for name in ("SUCCESS_STATUSES", "FAILURE_STATUSES", "DISPATCHED_STATUSES")]
    if any(words is None for words in lists):
        return errors  # check_settings reports them
    success, failure, dispatched = ({word.lower() for word in words} for words in lists)
    clash = sorted((success & failure) | (dispatched & (success | failure)))
    if clash:
        errors.append(Problems.STATUS_WORD_CLASH(words=clash))
    values = _valid("EXTERNAL_STATUS_VALUES")
    processing = values.get("processing") if values is not None else None
    if processing and processing.lower() not in dispatched:
        errors.append(Problems.PROCESSING_NOT_DISPATCHED(value=repr(processing)))
    return errors


# -- the policy ----------------------------------------------------------------------------------


@register()
def check_policy(app_configs=None, **kwargs) -> list:
    from .engine.adaptive import DEFAULT_OPTIONS
    from .engine.policy import Policy

    errors = []
    first, deadline = _valid_number("FIRST_CHECK_DELAY"), _valid_number("DEADLINE")
    if first is not None and deadline is not None and deadline <= first:
        errors.append(
            Problems.DEADLINE_NOT_AFTER_FIRST_CHECK(
                deadline=f"{deadline:g}",
                first=f"{first:g}",
                default_deadline=SETTINGS["DEADLINE"].default,
                default_first=SETTINGS["FIRST_CHECK_DELAY"].default,
            )
        )
    policy_path = app_settings.POLICY
    policy_class, _why = _import(policy_path)
    adaptive = app_settings.ADAPTIVE
    if not isinstance(adaptive, dict) or set(adaptive) - set(DEFAULT_OPTIONS):
        errors.append(Problems.ADAPTIVE_KEYS(keys=sorted(DEFAULT_OPTIONS)))
    else:
        bad = sorted(key for key, value in adaptive.items() if not _adaptive_option_ok(key, value))
        if bad:
            errors.append(Problems.ADAPTIVE_VALUES(keys=bad, defaults={key: DEFAULT_OPTIONS[key] for key in bad}))
    if not (isinstance(policy_class, type) and issubclass(policy_class, Policy)):
        errors.append(_wrong_value(Problems.DOTTED_PATH, "POLICY", policy_path, "a dotted path to a Policy subclass"))
    retention = _valid_number("RETENTION")
    if retention is not None and deadline is not None and retention <= deadline:
        errors.append(Problems.RETENTION_NOT_AFTER_DEADLINE(retention=f"{retention:g}", deadline=f"{deadline:g}"))
    return errors


def _adaptive_option_ok(key: str, value: Any) -> bool:
    number = finite_number(value)
    if number is None or number <= 0:
        return False
    return number < 1 if key == "QUANTILE" else True


@register()
def check_time_zone_support(app_configs=None, **kwargs) -> list:
    return [] if django_settings.USE_TZ else [Problems.NO_TIME_ZONES()]


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
            number = finite_number(value[key])
            if number is None or not valid(number):
                return f"has {key} = {_short(value[key])}; it must be {expected}"
    return None


PROVIDERS_EXAMPLE = (
    "Example: {'znet': {'ADAPTER': 'django_order_monitor.providers.adapters.znet.ZnetProvider', 'OPTIONS': {...}}}."
)


@register()
def check_providers(app_configs=None, **kwargs) -> list:
    providers = app_settings.PROVIDERS
    if not isinstance(providers, dict):
        return [Problems.PROVIDERS_NOT_A_DICT(example=PROVIDERS_EXAMPLE)]
    errors = []
    rate_limit_example = repr(SETTINGS["RATE_LIMIT"].default)
    problem = _rate_limit_problem(app_settings.RATE_LIMIT)
    if problem:
        errors.append(Problems.RATE_LIMIT(problem=problem, example=rate_limit_example))
    lease = _valid_number("LEASE_SECONDS")
    for name, config in providers.items():
        errors.extend(_check_provider(name, config, lease, rate_limit_example))
    default = app_settings.DEFAULT_PROVIDER
    known = sorted(name for name in providers if isinstance(name, str))
    # With a loader, a default or the only providers may live in the shop's rows: not checkable at start-up.
    loader = app_settings.PROVIDER_LOADER
    if default is not None and not (isinstance(default, str) and (default in providers or loader)):
        errors.append(Problems.DEFAULT_PROVIDER_UNKNOWN(value=_short(default), known=known))
    if not providers and not loader:
        errors.append(Problems.NO_PROVIDERS(example=PROVIDERS_EXAMPLE))
    return errors


def _check_provider(name: Any, config: Any, lease: float | None, rate_limit_example: str) -> list:
    """One entry of ORDER_MONITOR_PROVIDERS: its adapter, options, rate limit, secret and lease."""
    from .providers.adapters.base import BaseProvider

    if not isinstance(name, str) or not name:
        return [Problems.PROVIDER_NAME(name=_short(name), example=PROVIDERS_EXAMPLE)]
    shown = repr(name)
    if not isinstance(config, dict) or "ADAPTER" not in config:
        return [Problems.PROVIDER_WITHOUT_ADAPTER(name=shown, example=PROVIDERS_EXAMPLE)]
    adapter, why = _import(config["ADAPTER"])
    if adapter is None:
        return [Problems.ADAPTER_NOT_IMPORTABLE(name=shown, path=_short(config["ADAPTER"]), why=why)]
    if not (isinstance(adapter, type) and issubclass(adapter, BaseProvider)):
        return [Problems.ADAPTER_NOT_A_PROVIDER(name=shown, path=repr(config["ADAPTER"]))]
    options = config.get("OPTIONS", {})
    if not isinstance(options, dict):
        return [Problems.OPTIONS_NOT_A_DICT(name=shown, example=PROVIDERS_EXAMPLE)]
    try:
        problems = list(adapter.check_options(options))
    # A third-party adapter that chokes on an option value still gets a check result, not a traceback.
    except Exception as err:
        problems = [f"{adapter.__name__}.check_options raised {type(err).__name__} on these OPTIONS"]
    errors = [Problems.PROVIDER_OPTION(name=shown, problem=problem) for problem in problems]
    if "RATE_LIMIT" in config:
        problem = _rate_limit_problem(config["RATE_LIMIT"])
        if problem:
            errors.append(Problems.PROVIDER_RATE_LIMIT(name=shown, problem=problem, example=rate_limit_example))
    if "CALLBACK_SECRET" in config:
        secret = config["CALLBACK_SECRET"]
        if not (isinstance(secret, str) and secret.strip()):
            # Never echo the value: it may be a real secret of the wrong type.
            kind = f"{type(secret).__name__}{' (empty)' if isinstance(secret, str) else ''}"
            errors.append(Problems.CALLBACK_SECRET(name=shown, type=kind))
    errors.extend(_check_lease_outlives_call(shown, adapter, options, lease))
    return errors


def _check_lease_outlives_call(shown: str, adapter: type, options: dict, lease: float | None) -> list:
    """A lease shorter than one provider call lets a second worker check the same order; a call
    slot that outlives the lease keeps a killed worker's calls blocking the fleet longer than its orders."""
    call_deadline = getattr(adapter, "call_deadline", None)
    if lease is None or not callable(call_deadline):
        return []
    try:
        seconds = finite_number(call_deadline(options))
    # Options the adapter cannot read are order_monitor.E009's business; no deadline to compare.
    except Exception:
        return []
    if seconds is None:
        return []
    if lease <= seconds:
        return [Problems.LEASE_SHORTER_THAN_CALL(lease=f"{lease:g}", name=shown, seconds=f"{seconds:g}")]
    grace = _valid_number("CALL_SLOT_GRACE")
    if grace is not None and seconds + grace > lease:
        return [
            Problems.SLOT_OUTLIVES_LEASE(
                name=shown, slot=f"{seconds + grace:g}", seconds=f"{seconds:g}", grace=f"{grace:g}", lease=f"{lease:g}"
            )
        ]
    return []


@register()
def check_health_token(app_configs=None, **kwargs) -> list:
    token = app_settings.HEALTH_TOKEN
    if token is None or (isinstance(token, str) and token.strip()):
        return []
    # Never echo the value: it may be a real secret of the wrong type.
    return [Problems.HEALTH_TOKEN(type=f"{type(token).__name__}{' (empty)' if isinstance(token, str) else ''}")]


# -- metrics ----------------------------------------------------------------------------------

#: The keys of ORDER_MONITOR_METRICS (see django_order_monitor.metrics).
METRICS_KEYS = ("PORT", "ADDRESS", "TOKEN")
METRICS_EXAMPLE = "{'PORT': 9108, 'TOKEN': os.environ['METRICS_TOKEN']}"


def _metrics_problem(value: Any) -> str | None:
    """What is wrong with a METRICS value, or None. Never quotes a value: TOKEN is a secret."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return f"is a {type(value).__name__}; it must be None or a dict with keys from {list(METRICS_KEYS)}"
    unknown = sorted(str(key)[:40] for key in value if key not in METRICS_KEYS)
    if unknown:
        return f"has unknown keys {unknown}; known keys are {list(METRICS_KEYS)}"
    port = value.get("PORT")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
        return "has a PORT that is not a TCP port number (1-65535)"
    address = value.get("ADDRESS", "")
    if not isinstance(address, str):
        return "has an ADDRESS that is not a string such as '0.0.0.0' or '127.0.0.1'"
    token = value.get("TOKEN")
    if token is not None and not (isinstance(token, str) and token.strip()):
        return "has a TOKEN that is not a non-empty string"
    return None


@register()
def check_metrics(app_configs=None, **kwargs) -> list:
    """A well-formed METRICS, and the library it needs (the package runs without it when off)."""
    from . import metrics

    value = app_settings.METRICS
    problem = _metrics_problem(value)
    if problem:
        return [Problems.METRICS(problem=problem, example=METRICS_EXAMPLE)]
    if value is not None and not metrics.available():
        return [Problems.METRICS_LIBRARY_MISSING()]
    return []
# -- the database, and the migrations ours depend on ---------------------------------------------


# Django 6.0+ runs database-tagged checks only for databases named explicitly (``migrate``,
# ``check --database``) and passes every alias to the others; 5.2 runs them all, with
# ``databases=None`` under plain ``check``. So what needs no connection is an untagged check,
# and what must connect (or must stop ``migrate`` only) is database-tagged and needs a name.


@register()
def check_database_vendor(app_configs=None, **kwargs) -> list:
    """Refuse a database the monitor does not run on, by its vendor (no query)."""
    return _unsupported_databases(connections, connect=False)


@register(Tags.database)
def check_database_version(app_configs=None, databases=None, **kwargs) -> list:
    """Refuse a server version the monitor does not run on, for the databases a command connects to."""
    if not databases:
        return []
    vendor_ok = [alias for alias in databases if not _unsupported_databases([alias], connect=False)]
    return _unsupported_databases(vendor_ok, connect=True)


def _unsupported_databases(aliases, *, connect: bool) -> list:
    from . import sql
    from .models import MonitoredOrder

    errors = []
    for alias in aliases:
        if not router.allow_migrate_model(alias, MonitoredOrder):
            continue
        database = sql.unsupported(connections[alias], connect=connect)
        if database:
            errors.append(Problems.DATABASE_UNSUPPORTED(alias=repr(alias), database=database, supported=sql.SUPPORTED_DATABASES))
    return errors


@register(Tags.models)
def check_order_app_migrations(app_configs=None, **kwargs) -> list:
    """An order model whose app has no migrations makes ``migrate`` die with a bare ValueError.

    Managed or not: order_monitor's first migration depends on the order
    model's app, and ``startapp`` leaves an empty migrations package. A warning
    here: ``makemigrations``, the fix, runs the checks too and must not be stopped.
    """
    return _order_app_without_migrations(Problems.ORDER_APP_WITHOUT_MIGRATIONS_YET)


@register(Tags.database)
def check_order_app_migrations_before_migrate(app_configs=None, databases=None, **kwargs) -> list:
    """The same, as an error, where a command names databases (``migrate``): it would die otherwise."""
    return _order_app_without_migrations(Problems.ORDER_APP_WITHOUT_MIGRATIONS) if databases else []


def _order_app_without_migrations(problem: Problem) -> list:
    try:
        model = get_order_model()
    except ImproperlyConfigured:
        return []  # order_monitor.E001
    app = model._meta.app_label
    if _has_migration_files(app) is not False:
        return []
    return [problem(model=model._meta.label, app=app)]


def _has_migration_files(app_label: str) -> bool | None:
    """Whether the app's migrations package holds a migration; None when it has no such package.

    Django treats an app without a migrations package as unmigrated and creates
    its tables itself; only a package with no migration in it (what
    ``startapp`` leaves) breaks a dependency on the app. Reads the files only.
    """
    from django.db.migrations.loader import MigrationLoader

    module_name, _explicit = MigrationLoader.migrations_module(app_label)
    if module_name is None:
        return None
    try:
        spec = importlib.util.find_spec(module_name)
    except ImportError:
        return None
    # No package, or a namespace package (a directory without __init__.py): unmigrated.
    if spec is None or spec.submodule_search_locations is None or spec.origin is None:
        return None
    return any(
        not is_package and name[0] not in "_~" for _, name, is_package in pkgutil.iter_modules(spec.submodule_search_locations)
    )


# -- Huey and spelling ------------------------------------------------------------------------


def _huey_storage_class(huey: Any) -> type | None:
    """The storage class of settings.HUEY (an instance or djhuey's dict), None if unknown.

    Read from the setting, never by importing Huey here: tasks.py is the one module that knows it.
    """
    if isinstance(huey, dict):
        huey_class, _why = _import(huey.get("huey_class", "huey.RedisHuey"))
        return getattr(huey_class, "storage_class", None)
    storage = getattr(huey, "storage", None)
    return type(storage) if storage is not None else None


@register()
def check_huey(app_configs=None, **kwargs) -> list:
    from django.apps import apps

    warnings = []
    if not apps.is_installed("huey.contrib.djhuey"):
        warnings.append(Problems.HUEY_APP_MISSING())
    huey = getattr(django_settings, "HUEY", None)
    immediate = huey.get("immediate", django_settings.DEBUG) if isinstance(huey, dict) else getattr(huey, "immediate", False)
    if immediate:
        warnings.append(Problems.HUEY_IMMEDIATE())
    storage = _huey_storage_class(huey)
    if not immediate and storage is not None and not getattr(storage, "priority", True):
        warnings.append(Problems.HUEY_WITHOUT_PRIORITY(storage=storage.__name__))
    unknown = sorted(
        name for name in dir(django_settings) if name.startswith(PREFIX) and name[len(PREFIX):] not in SETTINGS
    )
    warnings.extend(Problems.UNKNOWN_SETTING(name=name) for name in unknown)
    return warnings
