"""``manage.py order_monitor_status``: the dashboard's figures as text or JSON."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from ...engine import stats
from ...models import MonitoredOrder
from ..common import stamp, to_json


class Command(BaseCommand):
    help = "Print a summary of order monitoring: states, overdue checks, the last 24 hours, providers."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")

    def handle(self, *args, **options):
        snap = stats.snapshot()
        if options["json"]:
            self.stdout.write(to_json(snap.as_dict()))
            return
        names = dict(MonitoredOrder.State.choices)
        write = self.stdout.write
        write(f"Order monitor status at {stamp(snap.at)}")
        write("Orders by state: " + ", ".join(f"{names[state]} {count}" for state, count in snap.by_state.items()))
        line = (
            f"Followed now: {snap.watching}; overdue checks: {snap.overdue}; "
            f"past their quick attempts: {snap.sweep_driven}; stuck: {snap.stuck}"
        )
        write(line, self.style.WARNING if snap.overdue or snap.stuck else None)
        write("Ended in the last 24 h: " + ", ".join(f"{names[s]} {n}" for s, n in snap.ended_24h.items()))
        if snap.late_completions_24h:
            write(
                f"Completed at the provider after they had ended, last 24 h: {snap.late_completions_24h} "
                "(see ORDER_MONITOR_LATE_COMPLETION_HANDLER)",
                self.style.WARNING,
            )
        ttp = snap.time_to_pin
        sample = f", newest {stats.SAMPLE_SIZE}" if ttp.sampled else ""
        write(
            f"Time to PIN, last 24 h ({_orders(ttp.n)}{sample}): p50 {stats.humanize_seconds(ttp.p50)}, "
            f"p90 {stats.humanize_seconds(ttp.p90)}, p99 {stats.humanize_seconds(ttp.p99)}"
        )
        per_order = snap.checks_per_order
        mean = f"{per_order['mean']:.1f}" if per_order["mean"] is not None else "–"
        sample = f", newest {stats.SAMPLE_SIZE}" if per_order["sampled"] else ""
        write(
            f"Checks per order ended in the last 24 h ({_orders(per_order['orders'])}{sample}): "
            f"mean {mean}, max {per_order['max']}"
        )
        if not snap.providers:
            write("Providers: no checks in the last 24 h")
        for figures in snap.providers:
            rate = f"{figures.failure_rate:.1%}" if figures.failure_rate is not None else "–"
            latency = figures.latency
            write(
                f"Provider {figures.provider}, last {figures.window}: {figures.checks} checks, "
                f"{figures.failed_checks} failed ({rate}), latency mean {_ms(figures.latency_mean_ms)}, "
                f"p50 {_ms(latency.p50)}, p90 {_ms(latency.p90)}, p99 {_ms(latency.p99)}"
            )


def _orders(n: int) -> str:
    return f"{n} order" if n == 1 else f"{n} orders"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms"
