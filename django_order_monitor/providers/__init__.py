"""The provider registry: each provider's configuration, and the adapter built from it.

A provider's configuration (``{ADAPTER, OPTIONS, RATE_LIMIT?, CALLBACK_SECRET?}``)
comes from ``ORDER_MONITOR_PROVIDERS`` or, for a name not there, from the shop's
``ORDER_MONITOR_PROVIDER_LOADER`` (providers kept in the shop's own rows: one per
tenant's integration, say). Loaded configurations are cached per process for
``PROVIDER_LOADER_TTL`` seconds, or until :func:`forget`; adapters (they hold HTTP
sessions) are kept while their configuration stays the same. The rate limit and
the circuit breaker are keyed by the provider's name, so each configured provider
gets its own.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from ..conf import PREFIX, app_settings
from ..exceptions import UnknownProviderError
from .adapters.base import BaseProvider

_adapters: dict[str, tuple[BaseProvider, dict[str, Any]]] = {}
_loaded: dict[str, tuple[dict[str, Any] | None, float]] = {}
_lock = threading.RLock()


def provider_config(name: str) -> dict[str, Any] | None:
    """The configuration of provider ``name``, or None when nothing configures it.

    The loader's answer (None included) is cached for ``PROVIDER_LOADER_TTL`` seconds,
    so following many orders of one provider reads the shop's row once.
    """
    configured = (app_settings.PROVIDERS or {}).get(name)
    if configured is not None or not app_settings.PROVIDER_LOADER or not isinstance(name, str):
        return configured
    now = time.monotonic()
    with _lock:
        cached = _loaded.get(name)
        if cached is not None and now - cached[1] < float(app_settings.PROVIDER_LOADER_TTL):
            return cached[0]
    config = import_string(app_settings.PROVIDER_LOADER)(name)
    if config is not None and not (isinstance(config, dict) and isinstance(config.get("ADAPTER"), str)):
        # The message names the type only: a loader's answer holds credentials.
        raise UnknownProviderError(
            f"ORDER_MONITOR_PROVIDER_LOADER returned a {type(config).__name__} for provider {name[:100]!r}; "
            "it must return None or a dict with 'ADAPTER' (a dotted path) and 'OPTIONS'."
        )
    with _lock:
        _loaded[name] = (config, now)
    return config


def is_known(name: Any) -> bool:
    """Whether ``name`` names a configured provider (in the settings or through the loader)."""
    return isinstance(name, str) and bool(name) and provider_config(name) is not None


def validate_choice(name: Any) -> str:
    """Return ``name`` when it names a configured provider; raise UnknownProviderError otherwise.

    For callers that name a provider explicitly (``start_monitoring(order, provider=...)``):
    a typo must fail at once, not time the order out into a refund a day later.
    """
    if is_known(name):
        return name
    providers = app_settings.PROVIDERS
    known = sorted(str(key) for key in providers) if isinstance(providers, dict) else []
    loader = " or ORDER_MONITOR_PROVIDER_LOADER" if app_settings.PROVIDER_LOADER else ""
    raise UnknownProviderError(f"Provider {str(name)[:100]!r} is not in ORDER_MONITOR_PROVIDERS{loader} (known: {known}).")


def get_provider(name: str) -> BaseProvider:
    """The adapter configured under ``name``; raises UnknownProviderError.

    Its dispatch calls take their turn in the provider's rate limit before any
    status check, and count against its call budget (``ratelimit.call_slot``).
    """
    from . import ratelimit  # here: ratelimit reads provider_config from this module

    config = provider_config(name)
    if config is None:
        raise UnknownProviderError(f"No provider {str(name)[:100]!r} in ORDER_MONITOR_PROVIDERS.")
    stale = None
    with _lock:
        cached = _adapters.get(name)
        if cached is not None and cached[1] == config:
            return cached[0]
        if cached is not None:
            stale = cached[0]  # its credentials or options changed in the shop's row
        adapter = import_string(config["ADAPTER"])(**config.get("OPTIONS", {}))
        adapter.dispatch_slot = functools.partial(ratelimit.call_slot, name, dispatch=True)
        _adapters[name] = (adapter, config)
    if stale is not None:
        stale.close()
    return adapter


def forget(name: str | None = None) -> None:
    """Drop the cached configuration and adapter of ``name`` (of every provider when None).

    A shop whose providers live in its own rows calls this when it changes one (a
    ``post_save`` receiver on its integration model), so new credentials are used at
    once in this process; other processes pick them up within ``PROVIDER_LOADER_TTL``.
    """
    with _lock:
        names = list(_adapters) if name is None else [name]
        dropped = [_adapters.pop(key)[0] for key in names if key in _adapters]
        if name is None:
            _loaded.clear()
        else:
            _loaded.pop(name, None)
    for adapter in dropped:
        adapter.close()


def close_all() -> None:
    """Close every adapter's network resources (consumer shutdown, settings change)."""
    forget()


@receiver(setting_changed)
def _drop_on_settings_change(setting: str, **kwargs: Any) -> None:
    if setting in (PREFIX + "PROVIDERS", PREFIX + "PROVIDER_LOADER", PREFIX + "PROVIDER_LOADER_TTL"):
        close_all()
