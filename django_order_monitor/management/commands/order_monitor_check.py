"""``manage.py order_monitor_check <order id>``: ask the provider about one order now, in-process."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ...engine import following, pipeline
from ...exceptions import NotMonitorable
from ...models import MonitoredOrder
from ...shop import orders
from ..common import (
    DRIVERS,
    find_order,
    stamp,
    to_json,
)


class Command(BaseCommand):
    help = "Check one order now (even if not due) and print the outcome. The PIN is never printed."

    def add_arguments(self, parser):
        parser.add_argument("order", help="The primary key of the shop's order.")
        parser.add_argument("--json", action="store_true", help="Print the outcome as JSON.")

    def handle(self, *args, **options):
        order = find_order(options["order"])
        entry = MonitoredOrder.objects.filter(order_id=order.pk).first()
        started = False
        if entry is None:
            reason = following.why_not_monitorable(order)
            if reason:
                raise CommandError(f"Order {order.pk} is not followed and cannot be: {reason}.")
            try:
                entry = following.start_monitoring(order)
            except NotMonitorable as err:
                raise CommandError(str(err)) from err
            started = True
        if not entry.is_active:
            raise CommandError(
                f"Order {order.pk} is not followed any more ({entry.get_state_display()} since "
                f"{stamp(entry.finished_at)}); nothing was checked."
            )
        report = pipeline.check_order(entry.pk, force=True, source="command")
        order = orders.base_queryset().get(pk=order.pk)
        pin_delivered = bool(orders.has_reference(orders.read(order, "pin")))
        if options["json"]:
            self.stdout.write(
                to_json(
                    {
                        "order": str(order.pk),
                        "monitored_order_id": entry.pk,
                        "provider": entry.provider,
                        "reference": entry.reference,
                        "started_following": started,
                        "ran": report.ran,
                        "skipped_reason": report.skipped_reason,
                        "result": report.result,
                        "provider_status": report.provider_status,
                        "message": report.message,
                        "state": report.state,
                        "next_check_at": report.next_check_at,
                        "next_check_by": report.next_check_by,
                        "pin_delivered": pin_delivered,
                    }
                )
            )
            return
        write = self.stdout.write
        if started:
            write(f"Started following order {order.pk}.")
        write(f"Order {order.pk} via {entry.provider} (reference {entry.reference})")
        if not report.ran:
            write(f"Not checked: {report.skipped_reason}.", self.style.WARNING)
            return
        status = f" (provider status {report.provider_status})" if report.provider_status else ""
        style = self.style.ERROR if report.result in ("failed", "query_error", "transport_error") else self.style.SUCCESS
        write(f"Result: {report.result}{status}", style)
        if report.message:
            write(f"Message: {report.message}")
        if report.state == MonitoredOrder.State.WATCHING:
            by = DRIVERS.get(report.next_check_by, report.next_check_by)
            write(f"State: watching; next check at {stamp(report.next_check_at)} by {by}")
        else:
            write(f"State: {report.state}")
        if pin_delivered:
            write("PIN: delivered to the order (not shown)")
