"""What the shop does when the order monitor ends an order (ORDER_MONITOR_TERMINAL_CALLBACK).

The monitor calls :func:`on_terminal` once per order, inside the transaction that
writes the final status, PIN and timestamps to ``product_orders``: the refund
commits together with the rejection, or neither does.
"""

from __future__ import annotations

import logging

from django_order_monitor.engine.transitions import Transition

from . import services

logger = logging.getLogger(__name__)

_WHY = {
    "failed": "znet cancelled the order",
    "timed_out": "no final answer from znet by the deadline",
}


def on_terminal(transition: Transition) -> None:
    """Refund a rejected order and leave a note on every ended one."""
    if transition.internal_status == "rejected":
        why = _WHY.get(transition.outcome, transition.outcome)
        detail = f": {transition.message}" if transition.message else ""
        services.refund(transition.order_pk, reason=f"{why}{detail}")
        services.append_note(transition.order_pk, f"Rejected ({why}{detail}); refunded.")
    elif transition.outcome == "completed":
        # The PIN itself is on the order; it is never copied into notes or logs.
        services.append_note(
            transition.order_pk, f"Delivered by {transition.provider} (reference {transition.reference})."
        )
