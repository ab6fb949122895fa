"""Django admin for the monitor: the ledger with its actions and dashboard, and a mixin for the shop's order admin."""

from __future__ import annotations

from .ledger import MonitoredOrderAdmin
from .orders import OrderMonitorAdminMixin

__all__ = ["MonitoredOrderAdmin", "OrderMonitorAdminMixin"]
