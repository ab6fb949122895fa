"""``manage.py order_monitor_explain <order id>``: why an order is, or is not, followed."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ...conf import app_settings
from ...engine import following, stats
from ...engine.following import resolve_provider_name
from ...models import MonitoredOrder
from ...shop import orders
from ..common import (
    DRIVERS,
    MonitorCommand,
    find_order,
    relative,
    stamp,
    to_json,
)

#: The facts' labels in the text output (the JSON keys stay as they are).
FACTS = {
    "external status": gettext_lazy("external status"),
    "reference": gettext_lazy("reference"),
    "provider": gettext_lazy("provider"),
    "dispatched at": gettext_lazy("dispatched at"),
}


class Command(MonitorCommand):
    help = "Explain why an order is or is not followed, and what happens to it next."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("order", help="The primary key of the shop's order.")

    def handle(self, *args, **options):
        order = find_order(options["order"])
        now = timezone.now()
        entry = MonitoredOrder.objects.filter(order_id=order.pk).first()
        facts = {
            "external status": orders.read(order, "external_status"),
            "reference": orders.read(order, "reference"),
            "provider": entry.provider if entry else resolve_provider_name(order),
            "dispatched at": entry.dispatched_at if entry else orders.aware(orders.read(order, "dispatched_at")),
        }
        followed, verdict, details = _explain(order, entry, now)
        if options["json"]:
            data = {
                "order": str(order.pk),
                "followed": followed,
                "verdict": verdict,
                "details": details,
                **{key.replace(" ", "_"): value for key, value in facts.items()},
                "state": entry.state if entry else None,
            }
            self.stdout.write(to_json(data))
            return
        write = self.say
        write(_("Order %(order)s") % {"order": order.pk})
        for key, value in facts.items():
            shown = stamp(value) if isinstance(value, dt.datetime) else ("–" if value in (None, "") else value)
            write(f"  {FACTS[key]}: {shown}")
        write(verdict, self.style.SUCCESS if followed else self.style.WARNING)
        for line in details:
            write(f"  {line}")


def _explain(order, entry: MonitoredOrder | None, now: dt.datetime) -> tuple[bool, str, list[str]]:
    """(followed?, one-line verdict, detail lines)."""
    if entry is None:
        reason = following.why_not_monitorable(order)
        if reason:
            return False, _("Not followed: %(reason)s.") % {"reason": following.translated(reason)}, []
        dispatched = orders.aware(orders.read(order, "dispatched_at"))
        window_start = now - dt.timedelta(seconds=float(app_settings.DEADLINE))
        if dispatched is not None and dispatched < window_start:
            return False, _(
                "Not followed: dispatched at %(time)s, before the deadline window; "
                "the sweep leaves it alone (use the admin's check now to follow it)."
            ) % {"time": stamp(dispatched)}, []
        return False, _("Not followed yet: dispatched with a reference; the next sweep will start following it."), []

    if not entry.is_active:
        when = stamp(entry.finished_at)
        if entry.state == MonitoredOrder.State.STOPPED:
            return False, _("Not followed any more: stopped at %(time)s with reason %(reason)s.") % {
                "time": when,
                "reason": repr(entry.stop_reason),
            }, []
        details = []
        if entry.state == MonitoredOrder.State.COMPLETED and entry.finished_at:
            seconds = (entry.finished_at - entry.dispatched_at).total_seconds()
            details.append(_("time to PIN: %(delta)s") % {"delta": stats.humanize_seconds(seconds)})
        if entry.last_message:
            details.append(_("last message: %(message)s") % {"message": entry.last_message})
        state = entry.get_state_display()
        return False, _("Not followed any more: %(state)s at %(time)s.") % {"state": state, "time": when}, details

    details = []
    leased = entry.lease_until is not None and entry.lease_until >= now
    if leased:
        details.append(_("leased until %(time)s: a worker is checking it now") % {"time": stamp(entry.lease_until)})
    if entry.next_check_at is not None:
        late = entry.next_check_at < now - stats.overdue_after()
        by = DRIVERS.get(entry.next_check_by, entry.next_check_by)
        next_check = {"time": stamp(entry.next_check_at), "relative": relative(entry.next_check_at, now), "by": by}
        if late and not leased:
            details.append(_("next check at %(time)s (%(relative)s) by %(by)s (OVERDUE: is the Huey consumer running?)") % next_check)
        else:
            details.append(_("next check at %(time)s (%(relative)s) by %(by)s") % next_check)
    if entry.deadline_at <= now:
        details.append(_("past the deadline since %(time)s: waiting for a final answer") % {"time": stamp(entry.deadline_at)})
    else:
        details.append(
            _("deadline %(time)s (%(relative)s)") % {"time": stamp(entry.deadline_at), "relative": relative(entry.deadline_at, now)}
        )
    details.append(
        _(
            "answered checks: %(answered)d (quick attempts: %(quick)s); "
            "failed queries: %(failed)d (%(streak)d in a row)"
        )
        % {
            "answered": entry.answered_checks,
            "quick": app_settings.QUICK_ATTEMPTS,
            "failed": entry.failed_checks,
            "streak": entry.consecutive_failed_checks,
        }
    )
    if entry.last_checked_at:
        last = {"time": stamp(entry.last_checked_at), "outcome": entry.last_outcome, "status": entry.last_provider_status}
        if entry.last_provider_status:
            details.append(_("last check at %(time)s: %(outcome)s, provider status %(status)s") % last)
        else:
            details.append(_("last check at %(time)s: %(outcome)s") % last)
    else:
        details.append(_("not checked yet"))
    if entry.last_error:
        details.append(_("last error: %(error)s") % {"error": entry.last_error})
    return True, _("Followed: watching."), details
