"""Signals the monitor sends, after the transaction that caused them commits.

Every signal is sent with ``sender=MonitoredOrder`` and these keyword arguments:

- ``transition``: a :class:`~django_order_monitor.engine.transitions.Transition`
  (order pk, provider, reference, outcome, statuses, message, source). It never
  carries the PIN; read it from the order if a receiver needs it.
"""

from django.dispatch import Signal

#: The order reached a terminal state with its PIN.
order_completed = Signal()
#: The provider reported the order failed, or an operator marked it failed.
order_failed = Signal()
#: The deadline passed without a terminal answer; the timeout action was applied.
order_timed_out = Signal()
#: The provider status written to the order changed (terminal or not).
order_status_changed = Signal()
#: A completion arrived for an order that had already ended (timed out, failed, or ended by
#: the shop). Sent with ``late`` (a :class:`~django_order_monitor.engine.late.LateCompletion`
#: whose ``pin`` is None); the PIN goes only to ORDER_MONITOR_LATE_COMPLETION_HANDLER.
order_late_completion = Signal()
