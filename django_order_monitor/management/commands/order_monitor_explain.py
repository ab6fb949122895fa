"""``manage.py order_monitor_explain <order id>``: why an order is, or is not, followed."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand
from django.utils import timezone

from ...conf import app_settings
from ...engine import following, stats
from ...engine.following import resolve_provider_name
from ...models import MonitoredOrder
from ...shop import orders
from ..common import (
    DRIVERS,
    find_order,
    relative,
    stamp,
    to_json,
)


class Command(BaseCommand):
    help = "Explain why an order is or is not followed, and what happens to it next."

    def add_arguments(self, parser):
        parser.add_argument("order", help="The primary key of the shop's order.")
        parser.add_argument("--json", action="store_true", help="Print the explanation as JSON.")

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
        write = self.stdout.write
        write(f"Order {order.pk}")
        for key, value in facts.items():
            shown = stamp(value) if isinstance(value, dt.datetime) else ("–" if value in (None, "") else value)
            write(f"  {key}: {shown}")
        write(verdict, self.style.SUCCESS if followed else self.style.WARNING)
        for line in details:
            write(f"  {line}")


def _explain(order, entry: MonitoredOrder | None, now: dt.datetime) -> tuple[bool, str, list[str]]:
    """(followed?, one-line verdict, detail lines)."""
    if entry is None:
        reason = following.why_not_monitorable(order)
        if reason:
            return False, f"Not followed: {reason}.", []
        dispatched = orders.aware(orders.read(order, "dispatched_at"))
        window_start = now - dt.timedelta(seconds=float(app_settings.DEADLINE))
        if dispatched is not None and dispatched < window_start:
            return False, (
                f"Not followed: dispatched at {stamp(dispatched)}, before the deadline window; "
                "the sweep leaves it alone (use the admin's check now to follow it)."
            ), []
        return False, "Not followed yet: dispatched with a reference; the next sweep will start following it.", []

    if not entry.is_active:
        when = stamp(entry.finished_at)
        if entry.state == MonitoredOrder.State.STOPPED:
            return False, f"Not followed any more: stopped at {when} with reason {entry.stop_reason!r}.", []
        details = []
        if entry.state == MonitoredOrder.State.COMPLETED and entry.finished_at:
            seconds = (entry.finished_at - entry.dispatched_at).total_seconds()
            details.append(f"time to PIN: {stats.humanize_seconds(seconds)}")
        if entry.last_message:
            details.append(f"last message: {entry.last_message}")
        return False, f"Not followed any more: {entry.get_state_display()} at {when}.", details

    details = []
    leased = entry.lease_until is not None and entry.lease_until >= now
    if leased:
        details.append(f"leased until {stamp(entry.lease_until)}: a worker is checking it now")
    if entry.next_check_at is not None:
        late = entry.next_check_at < now - stats.overdue_after()
        by = DRIVERS.get(entry.next_check_by, entry.next_check_by)
        mark = " (OVERDUE: is the Huey consumer running?)" if late and not leased else ""
        details.append(f"next check at {stamp(entry.next_check_at)} ({relative(entry.next_check_at, now)}) by {by}{mark}")
    if entry.deadline_at <= now:
        details.append(f"past the deadline since {stamp(entry.deadline_at)}: waiting for a final answer")
    else:
        details.append(f"deadline {stamp(entry.deadline_at)} ({relative(entry.deadline_at, now)})")
    details.append(
        f"answered checks: {entry.answered_checks} (quick attempts: {app_settings.QUICK_ATTEMPTS}); "
        f"failed queries: {entry.failed_checks} ({entry.consecutive_failed_checks} in a row)"
    )
    if entry.last_checked_at:
        status = f", provider status {entry.last_provider_status}" if entry.last_provider_status else ""
        details.append(f"last check at {stamp(entry.last_checked_at)}: {entry.last_outcome}{status}")
    else:
        details.append("not checked yet")
    if entry.last_error:
        details.append(f"last error: {entry.last_error}")
    return True, "Followed: watching.", details
