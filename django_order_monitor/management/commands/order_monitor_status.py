"""``manage.py order_monitor_status``: the dashboard's figures as text or JSON; with ``--fail-on``, an alert.

Exit codes (for cron and liveness probes), with ``--fail-on overdue,stuck,sweep-late``
or any of them: 0 none of the named problems; 1 one or more of them (each on
stderr, one line); 2 a wrong ``--fail-on``; 3 the monitor's tables cannot be read.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from ...engine import health, stats
from ...models import MonitoredOrder
from ..common import stamp, to_json


class Command(BaseCommand):
    help = "Print a summary of order monitoring: states, overdue checks, the last 24 hours, providers."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
        parser.add_argument(
            "--fail-on", default="", metavar="PROBLEMS",
            help=f"Exit 1 when any of these comma-separated problems is present: {', '.join(health.PROBLEMS)} "
            "(2: a wrong name, 3: the database cannot be read).",
        )

    def handle(self, *args, **options):
        fail_on = _problem_names(options["fail_on"])
        try:
            snap = stats.snapshot()
            state = health.check(snap.at)
        except DatabaseError as err:
            raise CommandError(f"Cannot read the monitor's tables: {type(err).__name__}", returncode=3) from err
        if options["json"]:
            self.stdout.write(to_json({**snap.as_dict(), "health": state.as_dict()}))
        else:
            self._write_text(snap, state)
        problems = state.problems(fail_on)
        if problems:
            raise CommandError("; ".join(problems), returncode=1)

    def _write_text(self, snap, state) -> None:
        names = dict(MonitoredOrder.State.choices)
        write = self.stdout.write
        write(f"Order monitor status at {stamp(snap.at)}")
        write("Orders by state: " + ", ".join(f"{names[state]} {count}" for state, count in snap.by_state.items()))
        line = (
            f"Followed now: {snap.watching}; overdue checks: {snap.overdue}; "
            f"past their quick attempts: {snap.sweep_driven}; stuck: {snap.stuck}"
        )
        write(line, self.style.WARNING if snap.overdue or snap.stuck else None)
        sweep = f"Last sweep: started {stamp(state.last_sweep_at)}, finished {stamp(state.last_sweep_finished_at)}"
        write(sweep + ("; LATE" if state.sweep_late else ""), self.style.WARNING if state.sweep_late else None)
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


def _problem_names(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in health.PROBLEMS]
    if unknown:
        raise CommandError(f"--fail-on: unknown {', '.join(unknown)}; choose from {', '.join(health.PROBLEMS)}.", returncode=2)
    return names
