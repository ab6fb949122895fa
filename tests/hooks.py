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
