"""Provider adapters that act like a real provider *and* a busy shop at the same moment.

They answer like ``InMemoryProvider`` but do something first, the way another
process would while the provider is being asked (the shop rejects the order,
the provider's JSON is nested too deep, ...).
"""

from django_order_monitor.testing.memory import InMemoryProvider


class ShopRejectsWhileAsked(InMemoryProvider):
    """While the provider is asked, the shop rejects and refunds the order (its own decision)."""

    def fetch_status(self, referans):
        from tests.testapp.models import ProductOrder, TerminalEvent

        order = ProductOrder.objects.get(provider_referans=referans)
        ProductOrder.objects.filter(pk=order.pk).update(status="rejected", external_status="failed")
        TerminalEvent.objects.create(order_id=order.pk, outcome="refund", internal_status="rejected", source="shop")
        return super().fetch_status(referans)


class NestedTooDeep(InMemoryProvider):
    """A reply whose parsing blows the stack (a JSON body nested thousands deep)."""

    def fetch_status(self, referans):
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON array")


class ShopRejectsConcurrently(InMemoryProvider):
    """While the provider is asked, another connection locks the order, rejects it and commits
    a moment later, so the monitor's terminal write meets the shop's open transaction."""

    hold_seconds = 0.5
    threads: list = []

    def fetch_status(self, referans):
        import threading
        import time

        from django.db import connection, transaction

        from tests.testapp.models import ProductOrder, TerminalEvent

        locked = threading.Event()

        def shop():
            try:
                with transaction.atomic():
                    order = ProductOrder.objects.select_for_update().get(provider_referans=referans)
                    ProductOrder.objects.filter(pk=order.pk).update(status="rejected", external_status="failed")
                    TerminalEvent.objects.create(order_id=order.pk, outcome="refund", internal_status="rejected", source="shop")
                    locked.set()
                    time.sleep(self.hold_seconds)
            finally:
                locked.set()
                connection.close()

        thread = threading.Thread(target=shop)
        thread.start()
        self.threads.append(thread)
        locked.wait(10)
        return super().fetch_status(referans)
