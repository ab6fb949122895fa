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
