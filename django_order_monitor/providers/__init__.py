"""The provider registry: the adapter instance configured under each name.

Adapters are built from ``ORDER_MONITOR_PROVIDERS`` and kept per process (they
hold HTTP sessions); a change of that setting (tests) drops them.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from ..conf import PREFIX, app_settings
from ..exceptions import UnknownProviderError
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
