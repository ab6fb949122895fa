"""Which provider follows an order, and the adapter instance that speaks to it.

Adapters are built from ``ORDER_MONITOR_PROVIDERS`` and kept per process (they
hold HTTP sessions); a change of that setting (tests) drops them.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.signals import setting_changed
from django.db.models import Model
from django.dispatch import receiver
from django.utils.module_loading import import_string

from ..conf import PREFIX, app_settings
from ..exceptions import UnknownProviderError
from ..shop import orders
from .adapters.base import BaseProvider

_instances: dict[str, BaseProvider] = {}
_lock = threading.Lock()


def get_provider(name: str) -> BaseProvider:
    """The adapter configured under ``name``; raises UnknownProviderError."""
    with _lock:
        adapter = _instances.get(name)
        if adapter is None:
            adapter = _instances[name] = _build(name)
        return adapter


def _build(name: str) -> BaseProvider:
    config = (app_settings.PROVIDERS or {}).get(name)
    if config is None:
        raise UnknownProviderError(f"No provider {name!r} in ORDER_MONITOR_PROVIDERS.")
    adapter_class = import_string(config["ADAPTER"])
    return adapter_class(**config.get("OPTIONS", {}))


def resolve_provider_name(order: Model) -> str | None:
    """Provider for ``order``: the resolver, then the provider field, then the default.

    Returns ``None`` when nothing names a configured provider.
    """
    providers = app_settings.PROVIDERS or {}
    if app_settings.PROVIDER_RESOLVER:
        name = import_string(app_settings.PROVIDER_RESOLVER)(order)
        if name:
            return str(name)
    field_value = orders.read(order, "provider")
    if field_value is not None and str(field_value) in providers:
        return str(field_value)
    return app_settings.DEFAULT_PROVIDER or None


def close_all() -> None:
    """Close every adapter's network resources (consumer shutdown, settings change)."""
    with _lock:
        adapters = list(_instances.values())
        _instances.clear()
    for adapter in adapters:
        adapter.close()


@receiver(setting_changed)
def _drop_on_settings_change(setting: str, **kwargs: Any) -> None:
    if setting == PREFIX + "PROVIDERS":
        close_all()
