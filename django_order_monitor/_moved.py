"""Old module names kept for one release after the layout by layers (0.2); removed in 0.3.

Each old module is the new module itself (same classes, so ``isinstance`` and
dotted paths in settings keep working), and importing it by the old name emits a
:class:`DeprecationWarning` naming the new one.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

#: Old dotted name -> new dotted name, for every module the 0.1 README documented.
MOVED = {
    "django_order_monitor.adapters": "django_order_monitor.providers.adapters",
    "django_order_monitor.adapters.base": "django_order_monitor.providers.adapters.base",
    "django_order_monitor.adapters.http": "django_order_monitor.providers.adapters.http",
    "django_order_monitor.adapters.znet": "django_order_monitor.providers.adapters.znet",
    "django_order_monitor.adapters.batchjson": "django_order_monitor.providers.adapters.batchjson",
    "django_order_monitor.adapters.memory": "django_order_monitor.testing.memory",
    "django_order_monitor.policy": "django_order_monitor.engine.policy",
    "django_order_monitor.adaptive": "django_order_monitor.engine.adaptive",
    "django_order_monitor.transitions": "django_order_monitor.engine.transitions",
    "django_order_monitor.fake_znet": "django_order_monitor.testing.fake_znet",
    "django_order_monitor.fake_znet.__main__": "django_order_monitor.testing.fake_znet.__main__",
    "django_order_monitor.fake_batchjson": "django_order_monitor.testing.fake_batchjson",
}


def alias(old_name: str) -> ModuleType:
    """Make the old module ``old_name`` the module it moved to, with a DeprecationWarning."""
    module = _moved(old_name)
    sys.modules[old_name] = module
    return module


def package_alias(old_name: str) -> Callable[[str], Any]:
    """For an old *package*: warn, and return a module ``__getattr__`` that reads the new one.

    A package is not replaced in ``sys.modules``: its submodules are found by its
    own path, where each is an :func:`alias` of its own.
    """
    module = _moved(old_name)

    def __getattr__(name: str) -> Any:  # noqa: N807 (the module-level hook's name)
        return getattr(module, name)

    return __getattr__


def _moved(old_name: str) -> ModuleType:
    new_name = MOVED[old_name]
    warnings.warn(
        f"{old_name} moved to {new_name}; the old name will be removed in django-order-monitor 0.3.",
        DeprecationWarning,
        stacklevel=4,
    )
    return importlib.import_module(new_name)


class renamed:  # noqa: N801 (used like a field declaration: ``referans = renamed("reference")``)
    """An attribute renamed in 0.2: reading the old name warns and reads the new one.

    Only reads are forwarded; ORM lookups (``filter(referans=...)``) must use the new
    name, since Django resolves those from the model's fields.
    """

    def __init__(self, new_name: str) -> None:
        self.new_name = new_name

    def __set_name__(self, owner: type, name: str) -> None:
        self.old_name = f"{owner.__name__}.{name}"

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            # Class-level access is introspection (admin checks, dir(), dataclasses):
            # the descriptor itself, without a warning.
            return self
        warnings.warn(
            f"{self.old_name} is now .{self.new_name}; the old name will be removed in django-order-monitor 0.3.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(obj, self.new_name)
