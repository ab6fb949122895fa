"""Shop-side callables named by settings in the tests."""

import uuid

terminal_calls = []


def route_by_tenant(order):
    if order.tenant_id and uuid.UUID(str(order.tenant_id)) == uuid.UUID(int=2):
        return "other"
    return None


def record_terminal(transition):
    terminal_calls.append(transition)


def failing_terminal(transition):
    raise RuntimeError("refund service unavailable")


def store_terminal(transition):
    """Terminal callback of the integration tests: one row per call, in the transition's transaction."""
    from tests.testapp.models import TerminalEvent

    TerminalEvent.objects.create(
        order_id=transition.order_pk,
        outcome=transition.outcome,
        internal_status=transition.internal_status,
        source=transition.source,
    )


def status_service(transition):
    """A shop's own status-change service, shaped like Watan's: it acts only on a *change*.

    Rejecting refunds the wallet, approving stamps the approval date; both are keyed on the
    status changing, so a monitor that wrote the status first would make it do nothing.
    """
    from tests.testapp.models import ProductOrder, TerminalEvent

    order = transition.get_order()
    new_status = {"completed": "approved"}.get(transition.outcome, "rejected")
    if order.status == new_status:
        return
    ProductOrder.objects.filter(pk=order.pk).update(status=new_status)
    TerminalEvent.objects.create(
        order_id=order.pk,
        outcome="approval_date" if new_status == "approved" else "refund",
        internal_status=new_status,
        source=transition.source,
    )


late_completions = []


def record_late_completion(late):
    late_completions.append(late)
