"""Settings of django_order_monitor: defaults, access and the host order model.

Every setting is a flat ``ORDER_MONITOR_<NAME>`` in the project's settings and is
read when used (no cache), so ``override_settings`` and pytest-django's
``settings`` fixture just work. ``checks.py`` validates them at start-up.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

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

DEFAULTS: dict[str, Any] = {
    # The shop's order model, "app_label.Model". Required.
    "ORDER_MODEL": None,
    # Role -> attribute overrides, merged over DEFAULT_FIELDS; None removes a role.
    "FIELDS": {},
    # Master switch: False stops the post-save hook and the sweep (checks already queued no-op).
    "ENABLED": True,
    # External statuses that mean "sent to the provider, waiting" (case-insensitive).
    "DISPATCHED_STATUSES": ["pending", "sent", "processing", "queued"],
    # Provider words meaning success / failure (case-insensitive), for every word-speaking adapter
    # and the push endpoint (statuses.classify); "still working" words are in statuses.PROCESSING_WORDS.
    "SUCCESS_STATUSES": ["completed", "complete", "done", "success", "ok", "delivered", "approved", "accept", "accepted"],
    "FAILURE_STATUSES": ["failed", "fail", "error", "rejected", "reject", "cancelled", "canceled"],
    # Values written to the external-status role. A None value leaves the column as it is.
    "EXTERNAL_STATUS_VALUES": {"completed": "done", "failed": "failed", "processing": "processing"},
    # Values written to the internal-status role on a terminal transition.
    "INTERNAL_STATUS_VALUES": {"completed": "approved", "failed": "rejected"},
    # Dotted path to the scheduling policy class (see policy.py).
    "POLICY": "django_order_monitor.engine.policy.Policy",
    # Options of django_order_monitor.engine.adaptive.AdaptivePolicy (see its docstring).
    "ADAPTIVE": {},
    # Policy, in seconds (floats allowed, so demos can compress time).
    "FIRST_CHECK_DELAY": 60,
    "BACKOFF_BASE": 30,
    "BACKOFF_FACTOR": 2,
    "BACKOFF_MAX": 600,
    "BACKOFF_JITTER": 0.1,  # +/- this fraction of each delay
    "QUICK_ATTEMPTS": 20,  # checks driven by Huey's chain; afterwards the sweep re-checks
    "DEADLINE": 24 * 60 * 60,  # measured from dispatch
    "FINAL_CHECK_GRACE": 60 * 60,  # keep asking past the deadline while the provider cannot answer
    "TIMEOUT_ACTION": "failed",  # "failed" (terminal, refund path) or "stop" (leave for a human)
    "SWEEP_INTERVAL": 300,  # must be a whole number of minutes (Huey runs periodic tasks per minute)
    "SWEEP_BATCH_SIZE": 100,
    "SWEEP_SPACING": 0.2,  # seconds between checks the sweep enqueues (provider etiquette)
    "LEASE_SECONDS": 90,  # longer than connect + read timeout
    "LOST_TASK_GRACE": 120,  # a chained check this late is presumed lost and re-enqueued
    # Circuit breaker: this many transport failures in a row pause a provider for the cool-down.
    "BREAKER_THRESHOLD": 5,
    "BREAKER_COOLDOWN": 60,
    # Provider etiquette, for providers whose config has no "RATE_LIMIT" key
    # (None there disables it): shared by all consumers through Redis.
    "RATE_LIMIT": {"min_interval": 0.1, "max_concurrent": 4, "max_wait": 10},
    # Redis for the shared rate limits; None: Huey's own Redis when HUEY is a RedisHuey,
    # else limits are per process.
    "REDIS_URL": None,
    # Signed provider callbacks: accepted this many seconds around their timestamp.
    "CALLBACK_TOLERANCE": 300,
    # Providers: {"name": {"ADAPTER": "dotted.Class", "OPTIONS": {...},
    #                      "RATE_LIMIT": {...} or None, "CALLBACK_SECRET": "..."}}
    "PROVIDERS": {},
    "DEFAULT_PROVIDER": None,
    # Dotted path to callable(order) -> provider name (or None), for per-order routing.
    "PROVIDER_RESOLVER": None,
    # Dotted path to callable(transition) run inside the terminal transaction (refunds).
    "TERMINAL_CALLBACK": None,
    # Dotted path to the shop's own status-change service, callable(transition): when set, it
    # performs the internal status change itself (refund, approval date...) inside the terminal
    # transaction, seeing the order as it was before; the monitor writes only its own columns.
    "TRANSITION_HANDLER": None,
    # Dotted path to callable(late_completion) told of a completion the monitor could not apply
    # (the order had timed out or the shop had ended it); it alone receives the PIN.
    "LATE_COMPLETION_HANDLER": None,
}


class AppSettings:
    """Read-through access to ``ORDER_MONITOR_*`` settings with defaults."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown django_order_monitor setting {name!r}")
        return getattr(django_settings, PREFIX + name, DEFAULTS[name])

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


def validate_provider_choice(name: Any) -> str:
    """Return ``name`` when ORDER_MONITOR_PROVIDERS defines it; raise UnknownProviderError otherwise.

    For callers that name a provider explicitly (``start_monitoring(order, provider=...)``):
    a typo must fail at once, not time the order out into a refund a day later.
    """
    from .exceptions import UnknownProviderError

    providers = app_settings.PROVIDERS
    if isinstance(name, str) and isinstance(providers, dict) and name in providers:
        return name
    known = sorted(str(key) for key in providers) if isinstance(providers, dict) else []
    raise UnknownProviderError(f"Provider {str(name)[:100]!r} is not in ORDER_MONITOR_PROVIDERS (known: {known}).")
