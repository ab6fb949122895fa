"""``manage.py order_monitor_check <order id>``: ask the provider about one order now, in-process."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ...engine import following, pipeline
from ...exceptions import NotMonitorable
from ...models import MonitoredOrder, StatusCheck
from ...shop import orders
from ..common import (
    DRIVERS,
    MonitorCommand,
    MonitorCommandError,
    find_order,
    stamp,
    to_json,
)


class Command(MonitorCommand):
    help = "Check one order now (even if not due) and print the outcome. The PIN is never printed."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("order", help="The primary key of the shop's order.")

    def handle(self, *args, **options):
        order = find_order(options["order"])
        entry = MonitoredOrder.objects.filter(order_id=order.pk).first()
        started = False
        if entry is None:
            reason = following.why_not_monitorable(order)
            if reason:
                raise MonitorCommandError(
                    _("Order %(order)s is not followed and cannot be: %(reason)s.")
                    % {"order": order.pk, "reason": following.translated(reason)},
                    code="not_monitorable",
                )
            try:
                entry = following.start_monitoring(order)
            except NotMonitorable as err:
                raise MonitorCommandError(str(err), code="not_monitorable") from err
            started = True
        if not entry.is_active:
            raise MonitorCommandError(
                _("Order %(order)s is not followed any more (%(state)s since %(time)s); nothing was checked.")
                % {"order": order.pk, "state": entry.get_state_display(), "time": stamp(entry.finished_at)},
                code="not_followed",
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
        write = self.say
        if started:
            write(_("Started following order %(order)s.") % {"order": order.pk})
        write(
            _("Order %(order)s via %(provider)s (reference %(reference)s)")
            % {"order": order.pk, "provider": entry.provider, "reference": entry.reference}
        )
        if not report.ran:
            write(_("Not checked: %(reason)s.") % {"reason": report.skipped_reason}, self.style.WARNING)
            return
        style = self.style.ERROR if report.result in ("failed", "query_error", "transport_error") else self.style.SUCCESS
        if report.provider_status:
            result = _("Result: %(result)s (provider status %(status)s)")
        else:
            result = _("Result: %(result)s")
        results = dict(StatusCheck.Result.choices)
        write(result % {"result": results.get(report.result, report.result), "status": report.provider_status}, style)
        if report.message:
            write(_("Message: %(message)s") % {"message": report.message})
        if report.state == MonitoredOrder.State.WATCHING:
            by = DRIVERS.get(report.next_check_by, report.next_check_by)
            write(_("State: watching; next check at %(time)s by %(by)s") % {"time": stamp(report.next_check_at), "by": by})
        else:
            write(_("State: %(state)s") % {"state": dict(MonitoredOrder.State.choices).get(report.state, report.state)})
        if pin_delivered:
            write(_("PIN: delivered to the order (not shown)"))
